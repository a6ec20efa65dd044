"""``augeoctl config from-terraform``: the config file's environments from Terraform outputs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from augeoctl import config
from augeoctl.cli import cli
from augeoctl.tfoutput import CONTRACT_KEYS, OUTPUT_NAME

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "terraform" / "scripts" / "write-augeoctl-config.sh"
SECRET = "Pa55w0rd-never-printed"


def contract(**overrides: Any) -> dict[str, Any]:
    """The value of output "augeoctl_environment" for prod, as envs/prod would give it."""
    value: dict[str, Any] = {
        "subscription_id": "3f2b9c1e-7a4d-4e8b-9c2a-1d5e6f7a8b9c",
        "tenant_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "location": "westeurope",
        "resource_group": "rg-augeo-prod",
        "postgres_server": "psql-augeo-prod",
        "postgres_database": "augeo",
        "postgres_user": "id-augeo-api-prod",
        "redis_name": "redis-augeo-prod",
        "key_vault": "kv-augeo-prod",
        "app_insights": "appi-augeo-prod",
        "log_analytics_workspace_id": "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
        "dns_zone": "augeo.example",
        "email_service": "acs-email-augeo-prod",
        "api_url": "https://api.augeo.example",
        "admin_url": "https://admin.augeo.example",
    }
    value.update(overrides)
    return {k: v for k, v in value.items() if v is not ...}


def tf_output(value: Any = None, *, sensitive: bool = False, **outputs: Any) -> str:
    """A `terraform output -json` document: the contract output beside other outputs."""
    value = contract() if value is None else value
    doc: dict[str, Any] = {
        OUTPUT_NAME: {
            "sensitive": sensitive,
            "type": ["object", {k: "string" for k in value}] if isinstance(value, dict) else "string",
            "value": value,
        },
        "postgres_admin_password": {"sensitive": True, "type": "string", "value": SECRET},
        "redis_primary_access_key": {"sensitive": True, "type": "string", "value": SECRET + "-redis"},
        "front_door_endpoint": {"sensitive": False, "type": "string",
                                "value": "augeo-prod-abc123.z01.azurefd.net"},
    }
    doc.update(outputs)
    return json.dumps(doc, indent=2)


EXISTING = """\
# Environments of the Augeo Platform
[defaults]
env = "staging"

[environments.staging]
subscription_id = "00000000-0000-0000-0000-000000000001"  # staging subscription
resource_group = "rg-augeo-staging"
postgres_server = "psql-augeo-staging"

[environments.prod]
postgres_auth = "password"      # set by hand: kept
postgres_secret = "pg-admin"
subscription_id = "00000000-0000-0000-0000-00000000dead"
resource_group = "rg-old"
postgres_server = "psql-old"
"""


@pytest.fixture
def runner(tmp_path: Path) -> CliRunner:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AUGEO_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    return CliRunner(env=env)


def invoke(runner: CliRunner, *args: str, input: str | None = None,
           env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli, ["config", "from-terraform", *args], input=input, env=env,
                         catch_exceptions=False)


def test_round_trip_into_a_new_file(runner: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "environments.toml"
    result = invoke(runner, "--name", "prod", "--input", "-", "--config", str(cfg),
                    input=tf_output())
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote [environments.prod] (new, 16 keys) to {cfg}\n"
    settings = config.resolve(env="prod", config=cfg)
    assert settings.env.kind == "azure"
    assert settings.env.settings == contract()
    assert list(tomllib.loads(cfg.read_text())["environments"]["prod"]) == ["kind", *CONTRACT_KEYS]


def test_default_config_location(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "out.json"
    src.write_text(tf_output())
    result = invoke(runner, "--name", "staging", "--input", str(src))
    assert result.exit_code == 0, result.output
    written = tmp_path / "xdg" / "augeoctl" / "environments.toml"
    assert written.is_file()
    assert tomllib.loads(written.read_text())["environments"]["staging"]["location"] == "westeurope"


def test_other_environments_and_comments_are_preserved(runner: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "environments.toml"
    cfg.write_text(EXISTING)
    result = invoke(runner, "--name", "prod", "--input", "-", "--config", str(cfg),
                    input=tf_output(contract(email_service=None)))
    assert result.exit_code == 0, result.output
    text = cfg.read_text()
    # Everything before [environments.prod] is byte for byte the same.
    head = EXISTING.split("[environments.prod]")[0]
    assert text.startswith(head)
    assert 'postgres_auth = "password"      # set by hand: kept' in text
    data = tomllib.loads(text)
    assert data["defaults"] == {"env": "staging"}
    assert data["environments"]["staging"]["resource_group"] == "rg-augeo-staging"
    prod = data["environments"]["prod"]
    assert prod["postgres_auth"] == "password" and prod["postgres_secret"] == "pg-admin"
    assert prod["subscription_id"] == contract()["subscription_id"]
    assert prod["resource_group"] == "rg-augeo-prod"
    assert "email_service" not in prod  # null in Terraform: not configured
    assert "kept key(s) Terraform does not set: postgres_auth, postgres_secret" in result.stderr
    config.resolve(env="prod", config=cfg)  # and the file still loads


def test_null_removes_a_key_terraform_no_longer_sets(runner: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "environments.toml"
    assert invoke(runner, "-n", "prod", "-i", "-", "--config", str(cfg),
                  input=tf_output()).exit_code == 0
    result = invoke(runner, "-n", "prod", "-i", "-", "--config", str(cfg),
                    input=tf_output(contract(email_service=None)))
    assert result.exit_code == 0
    assert "email_service" not in tomllib.loads(cfg.read_text())["environments"]["prod"]
    assert "removed key(s) Terraform gives as null: email_service" in result.stderr


BAD_OUTPUTS = {
    "not json": ("terraform: command not found\n", "is not JSON (line 1, column 1)"),
    "one output's value only": (json.dumps(contract()), "is not the output of `terraform output -json`"),
    "no outputs (no state)": ("{}", 'has no output "augeoctl_environment"; it has no outputs at all'),
    "contract output missing": (
        json.dumps({"front_door_endpoint": {"sensitive": False, "type": "string", "value": "x"}}),
        'has no output "augeoctl_environment"'),
    "not an object": (tf_output("rg-augeo-prod"), "is a string, not an object"),
    "contract key missing": (tf_output(contract(dns_zone=..., admin_url=...)),
                             "is missing key(s): dns_zone, admin_url"),
    "unknown key": (tf_output(contract(storage_account="stauge0prod")),
                    "unknown key(s) in environments.prod: storage_account"),
    "required key null": (tf_output(contract(postgres_server=None)),
                          "environments.prod is missing required key(s): postgres_server"),
    "wrong type": (tf_output(contract(location=["westeurope"])),
                   "environments.prod.location must be a string"),
    "whole output sensitive": (tf_output(sensitive=True),
                               'output "augeoctl_environment" is marked sensitive'),
}


@pytest.mark.parametrize("case", sorted(BAD_OUTPUTS))
@pytest.mark.parametrize("existing", [True, False], ids=["existing-file", "no-file"])
def test_bad_output_exits_2_and_writes_nothing(runner: CliRunner, tmp_path: Path, case: str,
                                               existing: bool) -> None:
    document, message = BAD_OUTPUTS[case]
    cfg = tmp_path / "environments.toml"
    if existing:
        cfg.write_text(EXISTING)
    result = invoke(runner, "--name", "prod", "--input", "-", "--config", str(cfg),
                    input=document)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    if existing:
        assert cfg.read_text() == EXISTING
    else:
        assert not cfg.exists()
    assert SECRET not in result.output
    assert list(tmp_path.iterdir()) == ([cfg] if existing else [])  # no temporary file left


@pytest.mark.parametrize("args,message", [
    (["--name", "local"], '"local" is the sandbox'),
    (["--name", "prod env"], "is not a plain TOML key"),
    (["--name", "prod"], "give exactly one of --input FILE|- and --chdir DIR"),
    (["--name", "prod", "--input", "-", "--chdir", "."], "give exactly one of"),
    (["--name", "prod", "--input", "/nonexistent/out.json"], "cannot read /nonexistent/out.json"),
])
def test_usage_errors(runner: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    cfg = tmp_path / "environments.toml"
    result = invoke(runner, *args, "--config", str(cfg), input=tf_output())
    assert result.exit_code == 2
    assert message in result.stderr
    assert not cfg.exists()


def test_invalid_existing_config_is_not_overwritten(runner: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "environments.toml"
    cfg.write_text("[environments.prod\n")
    result = invoke(runner, "-n", "prod", "-i", "-", "--config", str(cfg), input=tf_output())
    assert result.exit_code == 2
    assert "is not valid TOML" in result.stderr
    assert cfg.read_text() == "[environments.prod\n"


@pytest.mark.parametrize("mode", [[], ["--dry-run"], ["--output", "json"],
                                  ["--dry-run", "--output", "json"], ["-v", "-v"]])
def test_sensitive_outputs_never_printed_or_written(runner: CliRunner, tmp_path: Path,
                                                    mode: list[str]) -> None:
    cfg = tmp_path / "environments.toml"
    result = invoke(runner, "-n", "prod", "-i", "-", "--config", str(cfg), *mode,
                    input=tf_output())
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "ignored sensitive output(s): postgres_admin_password, redis_primary_access_key" \
        in result.stderr
    if cfg.exists():
        assert SECRET not in cfg.read_text()
        assert "postgres_admin_password" not in cfg.read_text()


def test_sensitive_contract_output_is_refused_without_echo(runner: CliRunner,
                                                           tmp_path: Path) -> None:
    cfg = tmp_path / "environments.toml"
    result = invoke(runner, "-n", "prod", "-i", "-", "--config", str(cfg), "--output", "json",
                    input=tf_output(contract(postgres_user=SECRET), sensitive=True))
    assert result.exit_code == 2
    assert SECRET not in result.output
    assert json.loads(result.stdout)["error"]["type"] == "TerraformOutputError"
    assert not cfg.exists()


def test_dry_run_prints_the_file_and_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "environments.toml"
    cfg.write_text(EXISTING)
    result = invoke(runner, "-n", "prod", "-i", "-", "--config", str(cfg), "--dry-run",
                    input=tf_output())
    assert result.exit_code == 0, result.output
    assert cfg.read_text() == EXISTING
    printed = tomllib.loads(result.stdout)
    assert printed["environments"]["prod"]["redis_name"] == "redis-augeo-prod"
    assert printed["environments"]["staging"]["postgres_server"] == "psql-augeo-staging"
    assert f"would write {cfg} (updated [environments.prod])" in result.stderr


def test_output_json_is_the_resulting_environment(runner: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "environments.toml"
    cfg.write_text(EXISTING)
    result = invoke(runner, "-n", "prod", "-i", "-", "--config", str(cfg), "--output", "json",
                    input=tf_output())
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["name"] == "prod" and out["written"] is True and out["created"] is False
    assert out["config_path"] == str(cfg)
    assert out["settings"] == {**contract(), "kind": "azure", "postgres_auth": "password",
                               "postgres_secret": "pg-admin"}
    assert out["settings"] == tomllib.loads(cfg.read_text())["environments"]["prod"]


# --- running terraform itself ---------------------------------------------------------------


def fake_terraform(folder: Path, document: str, exit_code: int = 0) -> Path:
    """A `terraform` that records its arguments and prints ``document``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "output.json").write_text(document)
    exe = folder / "terraform"
    exe.write_text(f"""#!/bin/sh
printf '%s\\n' "$@" > "{folder}/args"
if [ {exit_code} -ne 0 ]; then echo "Error: Backend initialization required" >&2; exit {exit_code}; fi
cat "{folder}/output.json"
""")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return folder


def _path_with(folder: Path) -> str:
    return f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


def test_chdir_runs_terraform_output(runner: CliRunner, tmp_path: Path) -> None:
    bin_dir = fake_terraform(tmp_path / "bin", tf_output())
    env_dir = tmp_path / "terraform" / "envs" / "prod"
    env_dir.mkdir(parents=True)
    cfg = tmp_path / "environments.toml"
    result = invoke(runner, "-n", "prod", "--chdir", str(env_dir), "--config", str(cfg),
                    env={"PATH": _path_with(bin_dir)})
    assert result.exit_code == 0, result.output
    assert (bin_dir / "args").read_text().splitlines() == [f"-chdir={env_dir}", "output", "-json"]
    assert config.resolve(env="prod", config=cfg).env.settings == contract()


def test_chdir_terraform_failure_is_reported(runner: CliRunner, tmp_path: Path) -> None:
    bin_dir = fake_terraform(tmp_path / "bin", "", exit_code=1)
    cfg = tmp_path / "environments.toml"
    result = invoke(runner, "-n", "prod", "--chdir", str(tmp_path), "--config", str(cfg),
                    env={"PATH": _path_with(bin_dir)})
    assert result.exit_code == 1
    assert "exited 1: Error: Backend initialization required" in result.stderr
    assert not cfg.exists()


def test_chdir_without_terraform_exits_3(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = invoke(runner, "-n", "prod", "--chdir", str(tmp_path), "--config",
                    str(tmp_path / "c.toml"), env={"PATH": str(empty)})
    assert result.exit_code == 3
    assert "terraform is not on PATH" in result.stderr


# --- terraform/scripts/write-augeoctl-config.sh ---------------------------------------------


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_script_pipes_terraform_into_augeoctl(tmp_path: Path) -> None:
    # A copy of the script beside its own envs/, so the test does not depend on terraform/envs.
    scripts = tmp_path / "terraform" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy2(SCRIPT, scripts / SCRIPT.name)
    (tmp_path / "terraform" / "envs" / "staging").mkdir(parents=True)
    bin_dir = fake_terraform(tmp_path / "bin", tf_output())
    augeoctl = Path(sys.executable).parent  # the test virtualenv's augeoctl
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{augeoctl}{os.pathsep}{env.get('PATH', '')}"
    cfg = tmp_path / "environments.toml"
    done = subprocess.run(["bash", str(scripts / SCRIPT.name), "staging", "--config", str(cfg)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    args = (bin_dir / "args").read_text().splitlines()
    assert args == [f"-chdir={tmp_path / 'terraform' / 'envs' / 'staging'}", "output", "-json"]
    assert tomllib.loads(cfg.read_text())["environments"]["staging"]["api_url"] == \
        "https://api.augeo.example"
    assert SECRET not in done.stdout + done.stderr

    usage = subprocess.run(["bash", str(scripts / SCRIPT.name)], capture_output=True, text=True,
                           env=env, timeout=60, check=False)
    assert usage.returncode == 2 and "usage:" in usage.stderr
    missing = subprocess.run(["bash", str(scripts / SCRIPT.name), "qa"], capture_output=True,
                             text=True, env=env, timeout=60, check=False)
    assert missing.returncode == 2 and "no environment folder" in missing.stderr
