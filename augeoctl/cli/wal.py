"""``augeoctl wal search``: the transactions that destroyed data, read from the archived WAL."""

from __future__ import annotations

from typing import Any

import click

from augeoctl.cli.common import common_options, emit, reporter, settings, table
from augeoctl.errors import UsageError
from augeoctl.platform import platform_for
from augeoctl.timeparse import parse_time


@click.group()
@common_options
def wal() -> None:
    """The archived write-ahead log."""


def _text(r: dict[str, Any]) -> str:
    head = (f"{r['segments_read']} WAL segment(s) read ({r['first_segment'] or '-'} .. {r['last_segment'] or '-'}), "
            f"DELETE/UPDATE of at least {r['min_rows']} row(s), TRUNCATE, DROP TABLE/SCHEMA")
    if not r["transactions"]:
        return head + "\nno transaction destroyed data in the window"
    rows = [[t["xid"], t["committed_at"], t["restore_point"], t["summary"]] for t in r["transactions"]]
    return "\n".join([
        head, "",
        table(rows, ["XID", "COMMITTED", "RESTORE POINT (--to-time)", "WHAT"]), "",
        "restore to just before one: augeoctl restore --before-xid XID (or --to-time RESTORE-POINT)",
    ])


@wal.command("search")
@click.option("--since", metavar="TIME", help="Only transactions committed at or after TIME "
              "(RFC 3339 with offset or Z, or relative like -2h). Default: all archived WAL.")
@click.option("--until", metavar="TIME", help="Only transactions committed at or before TIME. Default: now.")
@click.option("--min-rows", "min_rows", type=int, default=100, show_default=True, metavar="N",
              help="Report a DELETE or UPDATE when it touched at least N rows of one table.")
@common_options
def wal_search(since: str | None, until: str | None, min_rows: int) -> None:
    """List the committed transactions that destroyed data, with the point to restore to.

    Reads the archived WAL with pg_waldump (the current segment is archived first) and
    lists TRUNCATE, DROP TABLE, DROP SCHEMA, and DELETE or UPDATE of at least --min-rows
    rows of one table: commit time, xid, relation names (from the source's catalog, now
    and as remembered at each backup) and row counts. The restore point is the commit
    time minus one microsecond, for `restore --to-time`; `restore --before-xid XID` stops
    right before that commit. Local sandbox only (Azure's WAL is not readable).
    """
    if min_rows < 1:
        raise UsageError(f"--min-rows {min_rows} must be at least 1", hint="e.g. --min-rows 100")
    start = parse_time(since) if since is not None else None
    end = parse_time(until) if until is not None else None
    if start is not None and end is not None and end < start:
        raise UsageError("--until is before --since", hint="give --since earlier than --until")
    result = platform_for(settings()).wal_search(start, end, min_rows, reporter())
    emit(result.to_dict(), _text)
