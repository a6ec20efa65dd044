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
    from augeoctl.dashboard.sources import azure_sources, local_sources

    if env.is_local:
        from augeoctl.local.sandbox import Sandbox

        return local_sources(Sandbox(home, env.settings))
    return azure_sources(env, home)


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
