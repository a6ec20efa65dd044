"""Health of an Azure environment: the same checks as the sandbox's, from Azure's sources.

- endpoints: ``/health``, ``/health/live`` and ``/health/ready`` of ``api_url`` and
  ``admin_url``;
- traffic: ``dashboards/queries/traffic.kql`` over the Log Analytics workspace of the
  workspace-based Application Insights (error rate and average response over 5 minutes);
- compute: the App Service plan's CPU and memory from Azure Monitor;
- PostgreSQL: the Flexible Server's state and HA state from ARM, its metrics from Azure
  Monitor, and the newest backup (RPO exposure);
- Redis: persistence settings from ARM and its metrics from Azure Monitor.

Each probe returns a plain dict (``ok`` plus what it saw, or ``error``) so a failing source
is one failed check, not a failed command; ``health.evaluate`` judges the snapshot.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from augeoctl import health
from augeoctl.backends.azure_monitor import (
    PLAN_METRICS,
    POSTGRES_ENHANCED,
    POSTGRES_METRICS,
    REDIS_METRICS,
    AzureMetrics,
)
from augeoctl.config import Environment
from augeoctl.errors import AugeoError

QUERIES = Path(__file__).resolve().parents[1] / "dashboards" / "queries"


def _fail(exc: Exception) -> dict[str, Any]:
    return {"ok": False, "error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}


def _val(value: Any) -> Any:
    return getattr(value, "value", value)


def endpoint_urls(env: Environment) -> list[str]:
    out = []
    for key in ("api_url", "admin_url"):
        base = env.get(key)
        if base:
            out += [str(base).rstrip("/") + p for p in ("/health", "/health/live", "/health/ready")]
    return out


def probe_traffic(env: Environment, credential: Any = None, query_file: Path | None = None) -> dict[str, Any]:
    """The traffic KQL over the last 5 minutes: one row of requests, failures and latencies."""
    workspace = env.get("log_analytics_workspace_id")
    if not workspace:
        return {"ok": False, "error": "no log_analytics_workspace_id in the config"}
    kql = (query_file or QUERIES / "traffic.kql").read_text()
    try:
        from azure.monitor.query import LogsQueryClient, LogsQueryStatus

        from augeoctl import azure

        kwargs: dict[str, Any] = {}
        if env.get("logs_endpoint"):
            kwargs["endpoint"] = str(env.get("logs_endpoint")).rstrip("/")
        if env.get("ca_bundle"):
            kwargs["connection_verify"] = str(env.get("ca_bundle"))
        client = LogsQueryClient(credential or azure.credential(env), **kwargs)
        with azure.translated("querying Application Insights"):
            result = client.query_workspace(str(workspace), kql, timespan=timedelta(minutes=5))
    except AugeoError as exc:
        return _fail(exc)
    if result.status != LogsQueryStatus.SUCCESS or not result.tables or not result.tables[0].rows:
        return {"ok": True, "requests": 0}
    table = result.tables[0]
    row = dict(zip(table.columns, table.rows[0], strict=False))
    return {"ok": True, **{k: (v if v is not None else 0) for k, v in row.items()}}


def traffic_metrics(traffic: dict[str, Any], plan: dict[str, Any] | None = None) -> dict[str, Any]:
    """Traffic and plan readings in the shape ``health.evaluate`` reads (the service's /metrics)."""
    out: dict[str, Any] = {"windows": {"5m": {
        "requests": int(traffic.get("requests") or 0), "error_rate": float(traffic.get("error_rate") or 0.0),
        "latency_ms": {"avg": float(traffic.get("avg_ms") or 0.0)}}}}
    if plan and plan.get("ok"):
        out["process"] = {"cpu_percent": plan.get("cpu_percent"), "memory_percent": plan.get("memory_percent"),
                          "scope": f"App Service plan {plan.get('plan')}"}
    return out


def probe_plan(env: Environment, metrics: AzureMetrics) -> dict[str, Any]:
    try:
        r = metrics.latest(metrics.plan_id(), PLAN_METRICS, what="reading the App Service plan's metrics")
    except AugeoError as exc:
        return _fail(exc)
    cpu, mem = r["CpuPercentage"], r["MemoryPercentage"]
    at = max((x.at for x in (cpu, mem) if x.at), default=None)
    return {"ok": True, "plan": env.get("app_service_plan"), "cpu_percent": cpu.value,
            "memory_percent": mem.value, "at": at}


def probe_postgres(env: Environment, metrics: AzureMetrics, backend: Any = None,
                   cache: dict[str, Any] | None = None) -> dict[str, Any]:
    """State, HA, metrics and the newest backup of the Flexible Server.

    ``cache`` (kept by a caller that polls) holds the backup list for a minute and
    remembers whether the enhanced metrics are off, so they are not asked for again.
    """
    from augeoctl.backends.azure_pg import AzurePostgresBackend

    cache = cache if cache is not None else {}
    backend = backend or AzurePostgresBackend(env)
    try:
        server = backend.source()
        props = server.properties
        state = str(_val(props.state)) if props and props.state else "Unknown"
        ha = props.high_availability if props else None
        out: dict[str, Any] = {
            "ok": state == "Ready", "server": env.get("postgres_server"), "state": state,
            "ha_mode": _val(ha.mode) if ha and ha.mode else "Disabled",
            "ha_state": _val(ha.state) if ha and ha.state else None,
        }
        if state != "Ready":
            out["error"] = f"server state {state}"
        r = metrics.latest(metrics.postgres_id(), POSTGRES_METRICS, what="reading the server's metrics")
        out.update(connections={"total": int(r["active_connections"].value or 0)},
                   cpu_percent=r["cpu_percent"].value, memory_percent=r["memory_percent"].value,
                   storage_percent=r["storage_percent"].value, enhanced_metrics=False)
        if cache.get("enhanced", True):
            try:
                e = metrics.latest(metrics.postgres_id(), POSTGRES_ENHANCED, what="reading enhanced metrics")
            except AugeoError:
                cache["enhanced"] = False  # not offered for this server: ask once
            else:
                commits, longest = e["xact_commit"], e["longest_query_time_sec"]
                # Both empty: metrics.collector_database_activity is off on the server.
                out.update(enhanced_metrics=commits.value is not None or longest.value is not None,
                           longest_query_s=longest.value,
                           tps=None if commits.value is None else commits.value / commits.interval_s)
        now = time.monotonic()
        if "backups" not in cache or now - cache["backups"][0] > 60:
            cache["backups"] = (now, backend.list_backups())
        backups = cache["backups"][1]
        out["newest_backup_at"] = backups[-1].finished_at if backups else None
        backup = props.backup if props else None
        earliest = getattr(backup, "earliest_restore_date", None)
        out["earliest_restore_at"] = earliest.replace(tzinfo=earliest.tzinfo or UTC) if earliest else None
    except AugeoError as exc:
        return _fail(exc)
    return out


def probe_redis(env: Environment, metrics: AzureMetrics, backend: Any = None) -> dict[str, Any]:
    from augeoctl.backends.azure_redis import AzureRedisBackend

    try:
        backend = backend or AzureRedisBackend(env)
        info = backend.describe()
        resource, interval = metrics.redis_id()
        r = metrics.latest(resource, REDIS_METRICS, interval=interval, what="reading Redis metrics")
    except AugeoError as exc:
        return _fail(exc)
    hits, misses = r["cachehits"].value or 0.0, r["cachemisses"].value or 0.0
    return {
        "ok": True, "service": info.get("service"), "name": info.get("name"),
        "rdb_enabled": bool(info.get("rdb_enabled")),
        "rdb_frequency": info.get("rdb_frequency") or info.get("rdb_frequency_minutes"),
        "aof_enabled": bool(info.get("aof_enabled")),
        "used_memory_percent": r["usedmemorypercentage"].value,
        "connected_clients": None if r["connectedclients"].value is None else int(r["connectedclients"].value),
        "ops_per_sec": r["operationsPerSecond"].value,
        "hit_ratio": hits / (hits + misses) if hits + misses else None,
    }


def azure_snapshot(env: Environment, credential: Any = None) -> health.Snapshot:
    """Probe an Azure environment; unreachable parts become failed checks."""
    metrics = AzureMetrics(env, credential)
    endpoints = tuple(health.probe_http(url, timeout=5) for url in endpoint_urls(env))
    traffic = probe_traffic(env, credential) if env.get("log_analytics_workspace_id") else None
    plan = probe_plan(env, metrics) if env.get("app_service_plan") else None
    pg = probe_postgres(env, metrics)
    rd = probe_redis(env, metrics) if env.get("redis_name") else {}
    snap_metrics = traffic_metrics(traffic, plan) if traffic and traffic.get("ok") else (
        {"process": traffic_metrics({}, plan)["process"]} if plan and plan.get("ok") else None)
    sources = {"traffic": traffic, "plan": plan}
    return health.Snapshot(
        taken_at=datetime.now(UTC), endpoints=endpoints, metrics=snap_metrics, postgres=pg, redis=rd,
        backups={"newest_backup_at": pg.get("newest_backup_at")} if pg.get("ok") else {},
        sources={k: v for k, v in sources.items() if v is not None},
    )
