"""``augeoctl sandbox``: the local environment's servers."""

from __future__ import annotations

from typing import Any

import click

from augeoctl.cli.common import common_options, emit, exclusive, reporter, settings
from augeoctl.drill import journal
from augeoctl.drill import repair as drill_repair
from augeoctl.errors import VerdictFailed
from augeoctl.local.sandbox import Sandbox
from augeoctl.platform import platform_for


def _sandbox() -> Sandbox:
    return platform_for(settings()).sandbox


def _text(result: dict[str, Any]) -> str:
    lines = [f"sandbox home: {result['home']}"]
    for key, label, url in (("postgres", "PostgreSQL", "dsn"), ("redis", "Redis", "url")):
        c = result[key]
        where = f"  {c[url]}" if c.get(url) else ""
        pid = f"  pid {c['pid']}" if c.get("pid") else ""
        lines.append(f"{label:<11} {c['state']:<12}{where}{pid}")
        if c.get("detail"):
            lines.extend("            " + ln for ln in c["detail"].splitlines())
    app = result.get("app") or {}
    if app:
        lines.append(f"{'Service':<11} {app['state']:<12}" + (f"  {app['url']}" if app.get("url") else "")
                     + (f"  pid {app['pid']}" if app.get("pid") else ""))
    rcv = result.get("wal_receiver") or {}
    if result.get("wal_streaming", "off") != "off":
        lines.append(f"WAL stream  {rcv.get('state')} ({result['wal_streaming']})"
                     + (f"  pid {rcv['pid']}" if rcv.get("pid") else ""))
    lines.append(f"WAL archive_timeout: {result['archive_timeout']} s")
    drill = result.get("unfinished_drill")
    if drill:
        lines.append(f"DR drill    {drill['drill_id']} ({drill['scenario']}) "
                     + (f"running, pid {drill['pid']}" if drill["running"]
                        else f"unfinished, stopped in its {drill['phase']} phase; journal {drill['journal']}"))
    return "\n".join(lines)


@click.group()
@common_options
def sandbox() -> None:
    """The local sandbox: real PostgreSQL, Redis and the reference service on loopback."""


@sandbox.command()
@common_options
@exclusive
def up() -> None:
    """Start the sandbox (creating it on first use); safe to run again.

    Refused (exit 4) while a DR drill runs or left the sandbox damaged: a fresh start
    would build on top of data the drill moved aside or deleted. Holds the AUGEO_HOME
    lock (one writer at a time): while another command (a drill, a backup, a restore)
    holds it, exits 3 naming that command, or waits up to --wait.
    """
    journal.refuse_if_unfinished(platform_for(settings()))
    status = _sandbox().up(reporter())
    emit(status.to_dict(), _text)


@sandbox.command()
@common_options
@exclusive
def down() -> None:
    """Stop the sandbox's servers and restored targets; data is kept.

    Holds the AUGEO_HOME lock (one writer at a time): while another command holds it,
    exits 3 naming that command, or waits up to --wait.
    """
    status = _sandbox().down(reporter())
    emit(status.to_dict(), _text)


@sandbox.command()
@common_options
def status() -> None:
    """Show what is running, with connection details.

    Exits 4 when a server that should be running has crashed, or when a DR drill did not
    finish and left the sandbox damaged (`augeoctl sandbox repair` repairs it).
    """
    st = _sandbox().status()
    unfinished = journal.unfinished(platform_for(settings()))
    emit({**st.to_dict(), "unfinished_drill": unfinished.to_dict() if unfinished else None}, _text)
    if unfinished is not None and not unfinished.owner_alive():
        raise VerdictFailed(journal.unfinished_message(unfinished))
    if st.crashed:
        raise VerdictFailed(
            f"crashed: {', '.join(st.crashed)}", hint="see the log lines above; `augeoctl sandbox up` restarts"
        )


def _repair_text(result: dict[str, Any]) -> str:
    if result["repaired"] is None:
        return "\n".join(result["notes"])
    return "\n".join([f"repaired the sandbox after drill {result['repaired']} ({result['scenario']})"]
                     + [f"  {n}" for n in result["notes"]])


@sandbox.command()
@common_options
@exclusive
def repair() -> None:
    """Finish the repair a DR drill did not finish (killed, power cut, failed repair).

    Reads the drill's journal: puts back the data folder or RDB it moved aside (whatever
    was created in their place is moved aside too, never deleted), merges deleted rows
    back, stops the drill's leftover processes, restarts the sandbox, drops the drill's
    targets unless it kept them, and removes the journal. Nothing to do without one.
    Exits 1 when the sandbox could not be repaired (the journal and the drill's targets
    stay), 3 while the drill (or another command) still holds the sandbox's lock.
    """
    result = drill_repair.repair(platform_for(settings()), reporter())
    emit(result.to_dict(), _repair_text)
