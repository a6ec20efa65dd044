"""``augeoctl dashboard``: the live terminal health dashboard."""

from __future__ import annotations

import click

from augeoctl import config
from augeoctl.cli.common import common_options, settings
from augeoctl.errors import UsageError
from augeoctl.timeparse import parse_duration


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
    from augeoctl.extras import require

    require("dashboard")
    from augeoctl.dashboard.app import Dashboard
    from augeoctl.dashboard.sources import sources
    from augeoctl.platform import platform_for

    names = [s.env.name]
    if s.config_path is not None:
        names += [n for n in config.environment_names(config.load_file(s.config_path)) if n != s.env.name]
    tabs = {}
    for name in names:
        each = s if name == s.env.name else s.replace(env=config.resolve(env=name, config=s.config_path).env)
        tabs[name] = sources(platform_for(each).health(), s.home)
    Dashboard(tabs=tabs, interval=interval).run()
