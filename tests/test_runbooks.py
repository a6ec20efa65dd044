"""The runbooks are executable documentation: every command parses, local ones run."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from tests.cli_lines import resolve, sh_commands
from tests.conftest import REPO, make_home, run_cli

RUNBOOKS = sorted((REPO / "runbooks").glob("*.md"))


def commands(path: Path) -> list[list[str]]:
    return sh_commands(path.read_text())


def test_there_are_runbooks() -> None:
    assert len(RUNBOOKS) >= 3
    for path in RUNBOOKS:
        if path.name != "README.md":
            assert commands(path), f"{path.name} has no augeoctl commands"


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.name)
def test_every_runbook_command_parses(path: Path) -> None:
    for args in commands(path):
        resolve(args)


def test_a_wrong_command_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        resolve(["restore", "--to-tim", "now"])


@pytest.mark.integration
@pytest.mark.parametrize(
    "path", [p for p in RUNBOOKS if "<!-- runbook: local -->" in p.read_text()], ids=lambda p: p.name
)
def test_local_runbooks_run_on_a_fresh_sandbox(path: Path) -> None:
    home = make_home()
    try:
        assert run_cli("sandbox", "up", home=home).returncode == 0
        assert run_cli("backup", "create", "--kind", "all", home=home).returncode == 0
        for args in commands(path):
            r = run_cli(*args, home=home)
            assert r.returncode == 0, (args, r)
    finally:
        run_cli("sandbox", "down", home=home)
