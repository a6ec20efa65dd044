"""``augeoctl health``: a one-shot health check of an environment."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from augeoctl.cli.common import common_options, emit, settings
from augeoctl.errors import VerdictFailed


@click.command()
@common_options
def health() -> None:
    """Check the service's /health endpoints, PostgreSQL, Redis, backups and alert rules.

    Locally the sandbox is probed directly. On Azure: /health, /health/live and
    /health/ready of api_url and admin_url, Application Insights traffic (error rate,
    average response), the App Service plan's CPU and memory, the Flexible Server's state,
    HA and newest backup, and Redis persistence, from ARM and Azure Monitor.

    One line per check; exits 0 when everything is healthy and 4 when anything is not.
    Used after deployments and in runbooks.
    """
    from augeoctl.health import evaluate
    from augeoctl.platform import platform_for

    s = settings()
    snap = platform_for(s).health().snapshot()
    checks = evaluate(snap)
    healthy = all(c.ok for c in checks)
    result: dict[str, Any] = {
        "environment": s.env.name, "healthy": healthy, "checks": [asdict(c) for c in checks],
        "snapshot": snap,
    }

    def text(r: dict[str, Any]) -> str:
        lines = [f"{'ok  ' if c['ok'] else 'FAIL'} {c['name']}: {c['detail']}" for c in r["checks"]]
        lines.append("healthy" if r["healthy"] else "UNHEALTHY")
        return "\n".join(lines)

    emit(result, text)
    if not healthy:
        failed = ", ".join(c.name for c in checks if not c.ok)
        raise VerdictFailed(f"unhealthy: {failed}")
