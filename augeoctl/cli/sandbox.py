"""``augeoctl sandbox``: the local environment's servers."""

from __future__ import annotations

from typing import Any

import click

from augeoctl.cli.common import common_options, emit, reporter, settings
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
    return "\n".join(lines)


@click.group()
@common_options
def sandbox() -> None:
    """The local sandbox: real PostgreSQL, Redis and the reference service on loopback."""


@sandbox.command()
@common_options
def up() -> None:
    """Start the sandbox (creating it on first use); safe to run again."""
    status = _sandbox().up(reporter())
    emit(status.to_dict(), _text)


@sandbox.command()
@common_options
def down() -> None:
    """Stop the sandbox's servers and restored targets; data is kept."""
    status = _sandbox().down(reporter())
    emit(status.to_dict(), _text)


@sandbox.command()
@common_options
def status() -> None:
    """Show what is running, with connection details.

    Exits 4 when a server that should be running has crashed.
    """
    st = _sandbox().status()
    emit(st.to_dict(), _text)
    if st.crashed:
        raise VerdictFailed(
            f"crashed: {', '.join(st.crashed)}", hint="see the log lines above; `augeoctl sandbox up` restarts"
        )
