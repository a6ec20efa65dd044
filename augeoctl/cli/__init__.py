"""The ``augeoctl`` command line: a thin layer over the library.

Each command group lives in its own module; this one names them. A module is imported
only when its command runs (or help lists it), so a command starts without the imports
of all the others (click's lazily loaded subcommands).
"""

from __future__ import annotations

import click

from augeoctl import __version__
from augeoctl.cli.common import AugeoGroup, common_options

# command name -> "module:attribute" of its click command
COMMANDS = {
    "sandbox": "augeoctl.cli.sandbox:sandbox",
    "backup": "augeoctl.cli.backup:backup",
    "restore": "augeoctl.cli.restore:restore",
    "targets": "augeoctl.cli.restore:targets",
    "migrate": "augeoctl.cli.migrate:migrate",
    "dr-drill": "augeoctl.cli.drill:dr_drill",
    "health": "augeoctl.cli.health:health",
    "dashboard": "augeoctl.cli.dashboard:dashboard",
    "loadtest": "augeoctl.cli.loadtest:loadtest",
    "dns": "augeoctl.cli.dns:dns",
    "tls": "augeoctl.cli.dns:tls",
    "config": "augeoctl.cli.config:config_group",
    "release": "augeoctl.cli.release:release",
    "rollback": "augeoctl.cli.release:rollback",
    "wal": "augeoctl.cli.wal:wal",
    "runbook": "augeoctl.cli.runbook:runbook",
    "db": "augeoctl.cli.db:db",
}


@click.group(cls=AugeoGroup, lazy_subcommands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.version_option(__version__, prog_name="augeoctl")
def cli() -> None:
    """Verified operations runbooks for the Augeo Platform.

    Every command works on the local sandbox (the default) and on Azure environments
    named in the config. Results go to stdout (--output json for machines), progress
    and diagnostics to stderr.
    """


def main() -> None:
    cli(prog_name="augeoctl")
