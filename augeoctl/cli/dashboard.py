"""``augeoctl dashboard``: the live terminal health dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from augeoctl import config
from augeoctl.cli.common import common_options, settings
from augeoctl.errors import UsageError
from augeoctl.timeparse import parse_duration


def _sources(env: config.Environment, home: Path) -> dict[str, Any]:
    from augeoctl.dashboard.sources import (
        app_insights_traffic_source,
        drill_source,
        local_sources,
        service_source,
    )

    if env.is_local:
        from augeoctl.local.sandbox import Sandbox

        return local_sources(Sandbox(home, env.settings))
    # Azure: the platform's health endpoints and Application Insights traffic.
    sources: dict[str, Any] = {}
    for key, title in (("api_url", "API"), ("admin_url", "Admin")):
        if env.get(key):
            sources[title] = service_source(str(env.get(key)).rstrip("/"))
    if env.get("log_analytics_workspace_id"):
        sources["Traffic"] = app_insights_traffic_source(env)
    if not sources:
        raise UsageError(f'environment "{env.name}" has no api_url, admin_url or log_analytics_workspace_id',
                         hint="add them to its config (terraform outputs give them)")
    sources["Last DR drill"] = drill_source(home)
    return sources


@click.command()
@click.option("--refresh", default="2s", show_default=True, help="Refresh interval.")
@common_options
def dashboard(refresh: str) -> None:
    """A live dashboard of the service, traffic and alerts, compute, PostgreSQL, Redis and
    the last DR drill; each panel polls its source without blocking the others. With
    several environments configured, one tab per environment (`t` switches)."""
    interval = parse_duration(refresh).total_seconds()
    if interval < 0.5:
        raise UsageError("--refresh must be at least 0.5 s")
    s = settings()
    from augeoctl.dashboard.app import Dashboard

    names = [s.env.name]
    if s.config_path is not None:
        names += [n for n in config.environment_names(config.load_file(s.config_path)) if n != s.env.name]
    tabs = {}
    for name in names:
        env = s.env if name == s.env.name else config.resolve(env=name, config=s.config_path).env
        tabs[name] = _sources(env, s.home)
    Dashboard(tabs=tabs, interval=interval).run()
