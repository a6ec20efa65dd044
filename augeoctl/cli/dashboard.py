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
    from augeoctl.dashboard.app import Dashboard
    from augeoctl.dashboard.sources import (
        app_insights_traffic_source,
        drill_source,
        local_sources,
        service_source,
    )

    if s.env.is_local:
        from augeoctl.local.sandbox import Sandbox

        sources = local_sources(Sandbox(s.home, s.env.settings))
    else:
        # Azure: the platform's health endpoints and Application Insights traffic.
        sources = {}
        for key, title in (("api_url", "API"), ("admin_url", "Admin")):
            if s.env.get(key):
                sources[title] = service_source(str(s.env.get(key)).rstrip("/"))
        if s.env.get("log_analytics_workspace_id"):
            sources["Traffic"] = app_insights_traffic_source(s.env)
        if not sources:
            raise UsageError(f'environment "{s.env.name}" has no api_url, admin_url or log_analytics_workspace_id',
                             hint="add them to its config (terraform outputs give them)")
        sources["Last DR drill"] = drill_source(s.home)
    Dashboard(sources, interval=interval).run()
