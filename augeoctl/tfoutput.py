"""Environments from Terraform: ``terraform output -json`` into ``[environments.NAME]``.

Each root module under ``terraform/envs/`` defines ``output "augeoctl_environment"``, an
object with the keys in ``CONTRACT_KEYS`` (names of the config file's keys). This module
reads that output from the JSON document of ``terraform output -json``, validates it as
the config file's own loader would, and merges it into the config file, keeping every
other environment, the ``[defaults]`` table, comments, and keys of the same environment
that Terraform does not manage (``postgres_auth``, ``redis_kind`` ...).

Terraform prints sensitive outputs in clear in ``output -json`` and only marks them
``"sensitive": true``: their values are never read here, so they can reach neither the
config file nor a message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augeoctl import config
from augeoctl.errors import OperationFailed, TerraformOutputError, ToolMissing, UsageError

OUTPUT_NAME = "augeoctl_environment"
CONTRACT_KEYS = (
    "subscription_id", "tenant_id", "location", "resource_group", "postgres_server",
    "postgres_database", "postgres_user", "redis_name", "key_vault", "app_insights",
    "log_analytics_workspace_id", "dns_zone", "email_service", "api_url", "admin_url",
)
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_CONTRACT_HINT = (f'define output "{OUTPUT_NAME}" in the environment\'s root module with the '
                  f"keys {', '.join(CONTRACT_KEYS)}")


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote (or, on a dry run, would write)."""

    name: str
    path: Path
    settings: dict[str, Any]  # the environment's table after the merge, kind included
    text: str  # the whole config file after the merge
    written: bool
    created: bool  # the environment was not in the file before
    kept: tuple[str, ...]  # keys of the existing table that Terraform does not set
    removed: tuple[str, ...]  # keys removed because Terraform now gives them as null
    sensitive_ignored: tuple[str, ...]  # names of sensitive outputs, never read


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(f"environment name {name!r} is not a plain TOML key",
                         hint="use letters, digits, '-' and '_', e.g. prod")
    if name == config.LOCAL:
        raise UsageError('"local" is the sandbox, not a Terraform environment',
                         hint="name the Azure environment, e.g. --name prod")
    return name


def run_terraform_output(chdir: Path, terraform: str = "terraform") -> str:
    """The stdout of ``terraform -chdir=DIR output -json``."""
    exe = shutil.which(terraform)
    if exe is None:
        raise ToolMissing(f"{terraform} is not on PATH",
                          hint="install Terraform, or pipe `terraform output -json` into --input -")
    if not chdir.is_dir():
        raise UsageError(f"{chdir} is not a directory", hint="give an environment's root module, "
                         "e.g. --chdir terraform/envs/prod")
    try:
        done = subprocess.run([exe, f"-chdir={chdir}", "output", "-json"], capture_output=True,
                              text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        raise OperationFailed(f"terraform -chdir={chdir} output -json did not finish in 300 s") from None
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-5:]
        raise OperationFailed(
            f"terraform -chdir={chdir} output -json exited {done.returncode}: " + " ".join(tail),
            hint="run `terraform init` there, with access to the state backend",
        )
    return done.stdout


def read_outputs(document: str, source: str) -> dict[str, dict[str, Any]]:
    """Outputs by name from ``terraform output -json``: ``{name: {value, type, sensitive}}``."""
    try:
        data = json.loads(document)
    except json.JSONDecodeError as exc:
        # The position only: the document may hold sensitive values.
        raise TerraformOutputError(
            f"{source} is not JSON (line {exc.lineno}, column {exc.colno})",
            hint="give the output of `terraform output -json`",
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and "value" in v for v in data.values()
    ):
        raise TerraformOutputError(
            f"{source} is not the output of `terraform output -json`",
            hint="pipe all outputs (`terraform output -json`), not one output's value",
        )
    return data


def environment_from_outputs(outputs: dict[str, dict[str, Any]], source: str
                             ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The settings of the contract output, and the keys Terraform gives as null."""
    if OUTPUT_NAME not in outputs:
        where = "; it has no outputs at all (no state yet?)" if not outputs else ""
        raise TerraformOutputError(f'{source} has no output "{OUTPUT_NAME}"{where}',
                                   hint=_CONTRACT_HINT)
    output = outputs[OUTPUT_NAME]
    if output.get("sensitive"):
        raise TerraformOutputError(
            f'output "{OUTPUT_NAME}" is marked sensitive in {source}; augeoctl does not write '
            "sensitive values",
            hint="keep secrets out of it, or wrap non-secret values in nonsensitive()",
        )
    value = output["value"]
    if not isinstance(value, dict):
        kind = {str: "a string", list: "a list", bool: "a bool", type(None): "null"}.get(
            type(value), "a number")
        raise TerraformOutputError(
            f'output "{OUTPUT_NAME}" in {source} is {kind}, not an object', hint=_CONTRACT_HINT)
    missing = [k for k in CONTRACT_KEYS if k not in value]
    if missing:
        raise TerraformOutputError(
            f'output "{OUTPUT_NAME}" in {source} is missing key(s): {", ".join(missing)}',
            hint=_CONTRACT_HINT)
    settings = {k: v for k, v in value.items() if v is not None}
    nulls = tuple(k for k, v in value.items() if v is None)
    return settings, nulls


def _merge(existing: str, name: str, settings: dict[str, Any], nulls: tuple[str, ...]
           ) -> tuple[str, dict[str, Any], bool, tuple[str, ...], tuple[str, ...]]:
    import tomlkit  # style-preserving: the user's comments and layout survive the update
    from tomlkit.items import Table

    doc = tomlkit.parse(existing)
    envs = doc.get("environments")
    if envs is None:
        envs = tomlkit.table(is_super_table=True)
        doc["environments"] = envs
        envs = doc["environments"]
    table = envs.get(name)
    created = table is None
    if table is None:
        envs[name] = tomlkit.table()
        table = envs[name]
    before = set(table)
    if "kind" not in table:
        table["kind"] = "azure"
    for key, value in settings.items():
        table[key] = value
    removed = tuple(k for k in nulls if k in table)
    for key in removed:
        del table[key]
    kept = tuple(k for k in sorted(before) if k not in settings and k not in nulls and k != "kind")
    plain = table.unwrap() if isinstance(table, Table) else dict(table)
    return tomlkit.dumps(doc), plain, created, kept, removed


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically, keeping its permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_environment(document: str, *, name: str, path: Path, source: str,
                       dry_run: bool = False) -> ImportResult:
    """Merge the contract output of ``document`` into ``[environments.NAME]`` of ``path``.

    Everything is validated before anything is written; on error the file is untouched.
    """
    check_name(name)
    outputs = read_outputs(document, source)
    settings, nulls = environment_from_outputs(outputs, source)
    sensitive = tuple(sorted(k for k, v in outputs.items() if v.get("sensitive")))
    existing = ""
    if path.exists():
        config.load_file(path)  # an unreadable or invalid file is reported, not overwritten
        existing = path.read_text()
    text, table, created, kept, removed = _merge(existing, name, settings, nulls)
    merged = tomllib.loads(text)["environments"][name]
    config.validate_environment(name, merged, f"{source} -> {path}")
    if not dry_run:
        _write(path, text)
    return ImportResult(name=name, path=path, settings=table, text=text, written=not dry_run,
                        created=created, kept=kept, removed=removed, sensitive_ignored=sensitive)
