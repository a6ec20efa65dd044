"""Data sources of the dashboard's panels: plain functions returning a PanelData.

They run in worker threads; each has its own state (ok / degraded / down / error) and
never blocks the screen. The same probes serve `augeoctl health`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl import health


@dataclass(frozen=True)
class PanelData:
    state: str  # ok | degraded | down | error
    lines: tuple[str, ...]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


Source = Callable[[], PanelData]


def service_source(url: str) -> Source:
    def fetch() -> PanelData:
        eps = [health.probe_http(url + p, timeout=2) for p in ("/health", "/health/live", "/health/ready")]
        lines = [f"{e.url.removeprefix(url):<14} " + (f"HTTP {e.status}  {e.latency_ms:.0f} ms" if e.status
                                                      else f"down: {e.error}") for e in eps]
        if any(e.status is None for e in eps):
            state = "down"
        elif any(e.status != 200 for e in eps):
            state = "degraded"
        else:
            state = "ok"
        return PanelData(state, tuple(lines))
    return fetch


def traffic_source(url: str) -> Source:
    def fetch() -> PanelData:
        m = health.probe_http(url + "/metrics", timeout=2)
        if not isinstance(m.body, dict):
            return PanelData("down", (f"no metrics: {m.error or m.status}",))
        w = m.body["windows"]["1m"]
        lat = w["latency_ms"]
        checks = [c for c in health.evaluate(health.Snapshot(taken_at=datetime.now(UTC), metrics=m.body))
                  if c.name.startswith("alert")]
        firing = [c.name.removeprefix("alert ") for c in checks if not c.ok]
        lines = (f"rate {w['rate_per_s']:.1f}/s   errors {w['error_rate']:.1%}",
                 f"p50 {lat['p50']:.0f} ms  p95 {lat['p95']:.0f} ms  p99 {lat['p99']:.0f} ms",
                 "alerts: " + (", ".join(firing) + " FIRING" if firing else "none firing"))
        return PanelData("degraded" if firing else "ok", lines)
    return fetch


def postgres_source(dsn: str) -> Source:
    def fetch() -> PanelData:
        p = health.probe_postgres(dsn)
        if not p.get("ok"):
            return PanelData("down", (str(p.get("error")),))
        conns = ", ".join(f"{k} {v}" for k, v in sorted(p["connections"].items()))
        return PanelData("degraded" if p["archiver_failing"] else "ok", (
            f"connections: {conns}", f"cache hit {p['cache_hit_percent']}%",
            f"WAL archiver: {'FAILING' if p['archiver_failing'] else 'ok'}, last {p['last_archived_wal'] or '-'}"))
    return fetch


def redis_source(url: str) -> Source:
    def fetch() -> PanelData:
        r = health.probe_redis(url)
        if not r.get("ok"):
            return PanelData("down", (str(r.get("error")),))
        return PanelData("ok" if r["last_save_ok"] else "degraded", (
            f"memory {r['used_memory_bytes'] / 2**20:.1f} MiB   clients {r['connected_clients']}",
            f"ops/s {r['ops_per_sec']}   last RDB save {r['last_save_age_s']:.0f} s ago"))
    return fetch


def drill_source(home: Path) -> Source:
    def fetch() -> PanelData:
        from augeoctl.drill.history import load

        drills = load(home)
        if not drills:
            return PanelData("degraded", ("no DR drill yet: run `augeoctl dr-drill`",))
        d = drills[0]
        rto = "-" if d["rto_seconds"] is None else f"{d['rto_seconds']:.1f} s"
        rpo = "-" if d["rpo_seconds"] is None else f"{d['rpo_seconds']:.1f} s"
        return PanelData("ok" if d["verdict"] == "PASS" else "degraded", (
            f"{d['verdict']}  {d['scenario']}  {d['started_at']}", f"RTO {rto}   RPO {rpo}   lost writes {d['lost_writes']}"))
    return fetch


QUERIES = Path(__file__).resolve().parents[2] / "dashboards" / "queries"


def app_insights_traffic_source(env: Any, credential: Any = None, query_file: Path | None = None) -> Source:
    """The Traffic panel on Azure: ``dashboards/queries/traffic.kql`` over the workspace."""
    from datetime import timedelta

    from augeoctl import azure

    kql = (query_file or QUERIES / "traffic.kql").read_text()
    workspace = env.get("log_analytics_workspace_id")
    if not workspace:
        raise ValueError(f"environment {env.name} has no log_analytics_workspace_id")

    def fetch() -> PanelData:
        from azure.monitor.query import LogsQueryClient, LogsQueryStatus

        kwargs: dict[str, Any] = {}
        if env.get("logs_endpoint"):
            kwargs["endpoint"] = str(env.get("logs_endpoint")).rstrip("/")
        if env.get("ca_bundle"):
            kwargs["connection_verify"] = str(env.get("ca_bundle"))
        client = LogsQueryClient(credential or azure.credential(env), **kwargs)
        with azure.translated("querying Application Insights"):
            result = client.query_workspace(str(workspace), kql, timespan=timedelta(minutes=5))
        if result.status != LogsQueryStatus.SUCCESS or not result.tables or not result.tables[0].rows:
            return PanelData("degraded", ("no request data in the last 5 minutes",))
        table = result.tables[0]
        row = dict(zip(table.columns, table.rows[0], strict=False))
        checks = health.evaluate(health.Snapshot(taken_at=datetime.now(UTC), metrics={"windows": {"5m": {
            "requests": row.get("requests") or 0, "error_rate": row.get("error_rate") or 0.0,
            "latency_ms": {"avg": row.get("avg_ms") or 0.0}}}}))
        firing = [c.name.removeprefix("alert ") for c in checks if not c.ok]
        return PanelData("degraded" if firing else "ok", (
            f"rate {row.get('rate_per_s') or 0:.1f}/s   errors {row.get('error_rate') or 0:.1%}",
            f"p50 {row.get('p50_ms') or 0:.0f} ms  p95 {row.get('p95_ms') or 0:.0f} ms  p99 {row.get('p99_ms') or 0:.0f} ms",
            "alerts: " + (", ".join(firing) + " FIRING" if firing else "none firing")))
    return fetch


def local_sources(sandbox: Any) -> dict[str, Source]:
    status = sandbox.status()
    app = status.app.url if status.app and status.app.url else "http://127.0.0.1:9"
    return {
        "Service": service_source(app),
        "Traffic": traffic_source(app),
        "PostgreSQL": postgres_source(status.postgres.url or "postgresql://127.0.0.1:9/x"),
        "Redis": redis_source(status.redis.url or "redis://127.0.0.1:9/0"),
        "Last DR drill": drill_source(sandbox.home),
    }
