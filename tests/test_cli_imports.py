"""A command imports its own module, not every command's: the CLI names its commands and
loads one when it is looked up, and the zero-config sandbox resolves its settings without
the config file's pydantic models."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from augeoctl.cli import COMMANDS, cli
from tests.cli_lines import subcommands
from tests.conftest import REPO

_PROBE = """
import json, sys
from augeoctl.cli import main
sys.argv = ["augeoctl", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _run(args: list[str], tmp_path) -> tuple[set[str], str, str]:
    """The modules loaded by one command run in a fresh interpreter; its stdout and stderr."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
    environ.update(AUGEO_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], capture_output=True, text=True,
                          env=environ, cwd=tmp_path)
    *said, modules = proc.stderr.strip().splitlines()
    return set(json.loads(modules)), proc.stdout, "\n".join(said)


def test_every_named_command_loads_under_its_name() -> None:
    loaded = subcommands(cli)
    assert sorted(loaded) == sorted(COMMANDS)
    assert all(cmd.name == name or name == "dr-drill" for name, cmd in loaded.items())


def test_a_command_imports_only_its_own_module(tmp_path) -> None:
    modules, out, _err = _run(["restore", "--help"], tmp_path)
    assert "--to-time" in out
    assert "augeoctl.cli.restore" in modules
    others = {m.partition(":")[0] for m in COMMANDS.values()} - {"augeoctl.cli.restore"}
    assert not others & modules, sorted(others & modules)
    assert not {"pydantic", "textual", "locust"} & modules


def test_the_zero_config_sandbox_resolves_settings_without_pydantic(tmp_path) -> None:
    modules, out, _err = _run(["targets", "list", "--output", "json"], tmp_path)
    assert json.loads(out)["targets"] == []
    assert "augeoctl.config" in modules
    assert "pydantic" not in modules


def test_a_config_file_is_still_checked_by_its_models(tmp_path) -> None:
    cfg = tmp_path / "augeoctl.toml"
    cfg.write_text('[environments.local]\narchve_timeout = 5\n')
    modules, _out, err = _run(["targets", "list", "--config", str(cfg)], tmp_path)
    assert "augeoctl.config_models" in modules
    assert "did you mean archive_timeout" in err, err
