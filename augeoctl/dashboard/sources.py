"""Data sources of the dashboard's panels: plain callables returning a PanelData.

They run in worker threads and never touch the screen. ``sources`` lays out the panels
of one environment from its health probe's feeds, the same probes and readings as
``augeoctl health``; each panel renders the reading it gets (the sandbox's in
``panels_local``, Azure's in ``panels_azure``) and has its own state (ok / degraded /
down / error). A source that draws trends (tx/s, archive lag, Redis ops/s) keeps their
``History`` in its closure, which lives as long as the dashboard: one point per reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from augeoctl.dashboard import panels_azure, panels_local
from augeoctl.dashboard.panel import History, PanelData, Source, failed, mib, ms, rate
from augeoctl.health import (
    BackupReading,
    FlexibleServerReading,
    HealthProbe,
    PlanReading,
    PostgresReading,
    RedisReading,
    ServiceMetrics,
    Snapshot,
    TrafficReading,
    Unreachable,
    Unreadable,
    evaluate,
)
from augeoctl.health.http import HEALTH_PATHS, probe_health
from augeoctl.health.readings import Postgres, ProcessTreeReading, Redis, Traffic
from augeoctl.timeparse import format_duration

if TYPE_CHECKING:
    from augeoctl.config import Environment
    from augeoctl.local.sandbox import Sandbox


def sources(probe: HealthProbe, home: Path) -> dict[str, Source]:
    """The panels of one environment, from the sources its probe offers."""
    feeds = probe.feeds()
    out = {title: service_source(url) for title, url in feeds.services.items()}
    if feeds.traffic is not None:
        out["Traffic"] = traffic_source(feeds.traffic)
    if feeds.alerts is not None:
        out["Alerts"] = alerts_source(feeds.alerts)
    if feeds.compute is not None:
        out["Compute"] = compute_source(feeds.compute)
    out["PostgreSQL"] = postgres_source(feeds.postgres, feeds.exposure)
    if feeds.redis is not None:
        out["Redis"] = redis_source(feeds.redis)
    out["Last DR drill"] = drill_source(home)
    return out


def local_sources(sandbox: Sandbox) -> dict[str, Source]:
    """The sandbox's panels."""
    from augeoctl.health.local import LocalHealth

    return sources(LocalHealth(sandbox), sandbox.home)


def azure_sources(env: Environment, home: Path, credential: Any = None) -> dict[str, Source]:
    """The panels of an Azure environment, from the sources its config names."""
    from augeoctl.health.azure import AzureHealth

    return sources(AzureHealth(env, credential), home)


def app_insights_traffic_source(env: Environment, credential: Any = None) -> Source:
    """The Traffic panel on Azure: ``traffic.kql`` over the workspace."""
    from augeoctl.health.azure import AzureHealth

    feed = AzureHealth(env, credential).feeds().traffic
    if feed is None:
        raise ValueError(f"environment {env.name} has no log_analytics_workspace_id")
    return traffic_source(feed)


def service_source(url: str, history: int = 20) -> Source:
    """The three health endpoints with their latency and a sparkline of recent latencies."""
    seen = {p: History(p, ms, size=history) for p in HEALTH_PATHS}

    def fetch() -> PanelData:
        eps = probe_health(url, timeout=2)
        lines = []
        for path, e in zip(HEALTH_PATHS, eps, strict=True):
            if e.status:
                seen[path].add(e.latency_ms)
            else:
                seen[path].fail()
            now = f"HTTP {e.status}  {e.latency_ms:5.0f} ms" if e.status else f"down: {e.error}"
            lines.append(f"{path:<14} {seen[path].spark()} {now}")
        if any(e.status is None for e in eps):
            state = "down"
        elif any(e.status != 200 for e in eps):
            state = "degraded"
        else:
            state = "ok"
        return PanelData(state, tuple(lines))
    return fetch


def traffic_source(read: Callable[[], ServiceMetrics | Unreachable | Traffic]) -> Source:
    """Request rate, errors and latency percentiles, and which traffic alerts fire."""
    def fetch() -> PanelData:
        r = read()
        if isinstance(r, ServiceMetrics):
            return panels_local.traffic(r)
        if isinstance(r, TrafficReading):
            return panels_azure.traffic(r)
        return failed(r)
    return fetch


def alerts_source(read: Callable[[], Snapshot | Unreadable]) -> Source:
    """The platform's alert rules, and any source they could not read; firing ones first."""
    def fetch() -> PanelData:
        snap = read()
        if isinstance(snap, Unreadable):
            return failed(snap)
        checks = [c for c in evaluate(snap) if c.name.startswith("alert") or not c.ok]
        checks.sort(key=lambda c: c.ok)
        lines = tuple(f"{'FIRING' if not c.ok else 'ok    '} {c.name.removeprefix('alert ')}: {c.detail}"
                      for c in checks) or ("no traffic yet",)
        return PanelData("degraded" if any(not c.ok for c in checks) else "ok", lines)
    return fetch


def compute_source(read: Callable[[], tuple[ProcessTreeReading, ...] | PlanReading | Unreadable]) -> Source:
    """CPU and memory: of each sandbox server's process tree, or of the App Service plan."""
    def fetch() -> PanelData:
        r = read()
        if isinstance(r, tuple):
            return panels_local.compute(r)
        if isinstance(r, PlanReading):
            return panels_azure.compute(r)
        return failed(r)
    return fetch


T = TypeVar("T")


def _read(read: Callable[[], T], *trends: History) -> T:
    """One reading; one that raises is a failed point of each trend before the dashboard
    shows the error."""
    try:
        return read()
    except Exception:
        for t in trends:
            t.fail()
        raise


def postgres_source(read: Callable[[], Postgres], exposure: Callable[[], BackupReading] | None = None, *,
                    tps: History | None = None, lag: History | None = None) -> Source:
    """The server's activity, RPO exposure and trends; ``exposure`` reads the backup store."""
    tps = History("tx/s", rate) if tps is None else tps
    lag = History("archive lag", mib) if lag is None else lag

    def fetch() -> PanelData:
        r = _read(read, tps, lag)
        if isinstance(r, PostgresReading):
            tps.add(r.tps)
            lag.add(r.archive_lag_bytes)
            return panels_local.postgres(r, exposure() if exposure is not None else None, tps, lag)
        if isinstance(r, FlexibleServerReading):
            tps.add(r.tps)  # Azure archives the WAL itself and publishes no lag for it
            return panels_azure.postgres(r, tps)
        tps.fail()
        lag.fail()
        if isinstance(r, Unreadable) and "connect" in r.error.lower():
            return replace(failed(r, tps, lag), state="down")  # nothing answered on the way to the server
        return failed(r, tps, lag)
    return fetch


def redis_source(read: Callable[[], Redis], *, ops: History | None = None) -> Source:
    """Redis's memory, clients, hit ratio, persistence and the trend of operations/s (its own
    ``instantaneous_ops_per_sec``, or Azure Monitor's ``operationsPerSecond``)."""
    ops = History("ops/s", rate) if ops is None else ops

    def fetch() -> PanelData:
        r = _read(read, ops)
        if isinstance(r, Unreachable | Unreadable):
            ops.fail()
            return failed(r, ops)
        ops.add(r.ops_per_sec)
        if isinstance(r, RedisReading):
            return panels_local.redis(r, ops)
        return panels_azure.redis(r, ops)
    return fetch


def drill_source(home: Path) -> Source:
    def fetch() -> PanelData:
        from augeoctl.drill.history import load

        drills = load(home)
        if not drills:
            return PanelData("degraded", ("no DR drill yet: run `augeoctl dr-drill`",))
        d = drills[0]
        rto = format_duration(d["rto_seconds"])
        rpo = format_duration(d["rpo_seconds"])
        return PanelData("ok" if d["verdict"] == "PASS" else "degraded", (
            f"{d['verdict']}  {d['scenario']}  {d['started_at']}", f"RTO {rto}   RPO {rpo}   lost writes {'-' if d.get('lost_writes') is None else d['lost_writes']}"))
    return fetch
