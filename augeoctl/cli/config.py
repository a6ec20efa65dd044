"""``augeoctl config from-terraform`` (the config file's environments from Terraform outputs) and
``augeoctl config schema`` (its JSON Schema)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from augeoctl.cli.common import common_options, flag
from augeoctl.config import wants_json
from augeoctl.errors import UsageError


@click.group("config")
@common_options
def config_group() -> None:
    """The environments config file (TOML)."""


@config_group.command("from-terraform")
@click.option("--name", "-n", required=True, metavar="ENV",
              help="Environment to write: [environments.ENV], e.g. prod.")
@click.option("--input", "-i", "input_path", metavar="FILE|-",
              help="JSON of `terraform output -json` (- for stdin).")
@click.option("--chdir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Run `terraform -chdir=DIR output -json` instead, e.g. terraform/envs/prod.")
@click.option("--dry-run", is_flag=True, help="Print the config file it would write; write nothing.")
@common_options
def from_terraform(name: str, input_path: str | None, chdir: Path | None, dry_run: bool) -> None:
    """Write [environments.ENV] of the config file from Terraform's outputs.

    Reads the object output `augeoctl_environment` of the environment's root module,
    validates it as the config loader does, and updates that environment in the file
    (--config, AUGEO_CONFIG or ~/.config/augeoctl/environments.toml), keeping the other
    environments, comments and keys Terraform does not set. Sensitive outputs are never
    read. Exit 2, with nothing written, when the output is missing or invalid.
    """
    from augeoctl import config, tfoutput

    tfoutput.check_name(name)
    if (input_path is None) == (chdir is None):
        raise UsageError("give exactly one of --input FILE|- and --chdir DIR",
                         hint="e.g. terraform -chdir=terraform/envs/prod output -json | "
                              "augeoctl config from-terraform --name prod --input -")
    if chdir is not None:
        source = f"terraform output of {chdir}"
        document = tfoutput.run_terraform_output(chdir)
    elif input_path == "-":
        source = "terraform output on stdin"
        document = sys.stdin.read()
    else:
        source = str(input_path)
        try:
            document = Path(str(input_path)).read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {input_path}: {exc.strerror}") from None

    path = config.config_file_location(flag("config"))
    result = tfoutput.import_environment(document, name=name, path=path, source=source,
                                         dry_run=dry_run)

    def note(message: str) -> None:  # diagnostics on stderr, unwrapped
        click.echo(message, err=True)

    if result.sensitive_ignored:
        note(f"ignored sensitive output(s): {', '.join(result.sensitive_ignored)}")
    if result.kept:
        note(f"kept key(s) Terraform does not set: {', '.join(result.kept)}")
    if result.removed:
        note(f"removed key(s) Terraform gives as null: {', '.join(result.removed)}")
    action = "would write" if dry_run else "wrote"
    how = "new" if result.created else "updated"
    if wants_json(flag("output")):
        click.echo(json.dumps({
            "name": result.name,
            "config_path": str(result.path),
            "written": result.written,
            "created": result.created,
            "settings": result.settings,
        }, indent=2))
        return
    if dry_run:
        note(f"{action} {result.path} ({how} [environments.{name}]):")
        click.echo(result.text, nl=not result.text.endswith("\n"))
        return
    click.echo(f"{action} [environments.{name}] ({how}, {len(result.settings)} keys) "
               f"to {result.path}")


@config_group.command("schema")
@click.option("--slo", is_flag=True, help="The schema of the SLO profiles file (loadtests/slo.toml) instead.")
@common_options
def schema(slo: bool) -> None:
    """Print the JSON Schema of the config file (or with --slo of the SLO profiles file).

    Every key of [environments.NAME] (local and Azure) and [defaults], with its type,
    description, limits and allowed values. Save it beside the file and point the editor
    at it, e.g. `#:schema ./augeoctl-config.schema.json` as the TOML file's first line
    (Taplo, Even Better TOML). The same schemas are docs/augeoctl-config.schema.json and
    docs/augeoctl-slo.schema.json.
    """
    if slo:
        from augeoctl.loadtest.gates import json_schema as slo_schema

        click.echo(json.dumps(slo_schema(), indent=2))
        return
    from augeoctl.config_models import json_schema

    click.echo(json.dumps(json_schema(), indent=2))
