"""``augeoctl dashboard``: the live terminal health dashboard."""

from __future__ import annotations

import click

from augeoctl.cli.common import common_options, settings
from augeoctl.errors import UsageError
from augeoctl.timeparse import parse_duration


@click.command()
@click.option("--refresh", default="2s", show_default=True, help="Refresh interval.")
@common_options
def dashboard(refresh: str) -> None:
    """A live dashboard of the service, traffic and alerts, PostgreSQL, Redis and the
    last DR drill; each panel polls its source without blocking the others."""
    interval = parse_duration(refresh).total_seconds()
    if interval < 0.5:
        raise UsageError("--refresh must be at least 0.5 s")
    s = settings()
    if not s.env.is_local:
        raise UsageError(f'the dashboard of the Azure environment "{s.env.name}" is not available in this version',
                         hint="use --env local")
    from augeoctl.dashboard.app import Dashboard
    from augeoctl.dashboard.sources import local_sources
    from augeoctl.local.sandbox import Sandbox

    Dashboard(local_sources(Sandbox(s.home, s.env.settings)), interval=interval).run()
