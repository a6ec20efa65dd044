"""The ``augeoctl`` command line: a thin layer over the library.

Each command group lives in its own module; this one assembles them.
"""

from __future__ import annotations

import click

from augeoctl import __version__
from augeoctl.cli.common import AugeoGroup, common_options


@click.group(cls=AugeoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.version_option(__version__, prog_name="augeoctl")
def cli() -> None:
    """Verified operations runbooks for the Augeo Platform.

    Every command works on the local sandbox (the default) and on Azure environments
    named in the config. Results go to stdout (--output json for machines), progress
    and diagnostics to stderr.
    """


def _register() -> None:
    from augeoctl.cli import (
        backup,
        config,
        dashboard,
        db,
        dns,
        drill,
        health,
        loadtest,
        migrate,
        release,
        restore,
        runbook,
        sandbox,
        wal,
    )

    cli.add_command(sandbox.sandbox)
    cli.add_command(backup.backup)
    cli.add_command(restore.restore)
    cli.add_command(restore.targets)
    cli.add_command(migrate.migrate)
    cli.add_command(drill.dr_drill, name="dr-drill")
    cli.add_command(health.health)
    cli.add_command(dashboard.dashboard)
    cli.add_command(loadtest.loadtest)
    cli.add_command(dns.dns)
    cli.add_command(dns.tls)
    cli.add_command(config.config_group)
    cli.add_command(release.release)
    cli.add_command(release.rollback)
    cli.add_command(wal.wal)
    cli.add_command(runbook.runbook)
    cli.add_command(db.db)


_register()


def main() -> None:
    cli(prog_name="augeoctl")
