"""``augeoctl migrate``: Alembic migrations of the application database, with a backup and
a pre-migration point taken first."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from augeoctl.cli.common import (
    command_lock,
    common_options,
    confirm_by_name,
    emit,
    reporter,
    settings,
    wait_option,
)
from augeoctl.platform import platform_for


def _revisions(r: dict[str, Any]) -> str:
    return ", ".join(f"{p['id']} ({p['message']})" if p["message"] else p["id"] for p in r["pending"]) or "none"


def _result_text(r: dict[str, Any]) -> str:
    if not r.get("pre_migration_point"):
        return f"already at revision {r['from_revision']}: nothing to migrate"
    point = r["pre_migration_point"]
    lines = [
        f"migration {r['id']} {r['state']}: {r['from_revision'] or 'base'} -> {r['revision_after']}",
        f"  applied             {', '.join(r['applied']) or 'none'}",
        f"  pre-migration point {point['time']} ({point['kind']}"
        + (f", backup {point['backup_id']}" if point["backup_id"] else "")
        + (f", restore point {point['restore_point']} at {point['lsn']}" if point["restore_point"] else "")
        + ")",
        f"  to undo             {r['restore_command']} (a new target)",
        f"  record              {r['record']}",
    ]
    return "\n".join(lines)


@click.command()
@click.option("--alembic-ini", "alembic_ini", metavar="PATH", type=click.Path(dir_okay=False, path_type=Path),
              help="The Alembic project's ini (default: the reference service's migrations shipped "
                   "with augeoctl).")
@click.option("--revision", default="head", show_default=True, metavar="REV",
              help="Upgrade to this revision (head, or a revision id).")
@click.option("--dry-run", is_flag=True,
              help="Print the SQL the upgrade would run (Alembic offline mode) and change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for the environment's name to be typed.")
@wait_option
@common_options
def migrate(alembic_ini: Path | None, revision: str, dry_run: bool, yes: bool, wait: str) -> None:
    """Upgrade the application database's schema with Alembic, with a way back.

    First a backup and the pre-migration point (local: a base backup, then a named
    restore point whose WAL is archived; Azure: an on-demand backup, or the time marked
    on a tier without them), written to AUGEO_HOME/migrations/ID.json. Then the
    revisions from the database's current one to --revision, each committed on its own.
    When one fails: exit 1, naming the revisions applied before it, the backup, the
    pre-migration time and the `augeoctl restore --to-time ...` command that brings the
    database back as it was (into a new target).

    --dry-run prints the SQL and changes nothing (no backup). A missing ini or an unknown
    revision exits 2 before anything is changed. Holds the AUGEO_HOME lock (not with
    --dry-run): while another command holds it, exits 3 naming it, or waits up to --wait.
    """
    from augeoctl.drill.journal import refuse_if_unfinished
    from augeoctl.migrate import Migrator

    platform = platform_for(settings())
    migrator = Migrator(platform, reporter(), ini=alembic_ini)
    migrator.check(revision)  # bad input is refused before the lock or the database
    with nullcontext() if dry_run else command_lock(wait):
        if dry_run:
            plan = migrator.plan(revision)
            sql = migrator.offline_sql(plan) if plan.pending else ""
            emit({"dry_run": True, **plan.to_dict(), "sql": sql},
                 lambda r: r["sql"].rstrip() or f"-- already at revision {r['from_revision']}: no SQL to run")
            return
        refuse_if_unfinished(platform)  # a drill left the sandbox damaged: repair it first
        plan = migrator.plan(revision)
        if not plan.pending:
            emit({"migrated": False, **plan.to_dict(), "pre_migration_point": None}, _result_text)
            return
        confirm_by_name(platform.name, yes, f"migrating {platform.name} from revision "
                        f"{plan.current or 'base'} through {_revisions(plan.to_dict())}")
        record = migrator.run(plan)
    emit({"migrated": True, **record.to_dict()}, _result_text)
