"""Health of an Azure environment, from Azure's own sources.

- endpoints: ``/health``, ``/health/live`` and ``/health/ready`` of ``api_url`` and
  ``admin_url``;
- traffic: the ``traffic`` query (``kql``) over the Log Analytics workspace of the
  workspace-based Application Insights (requests, errors and latency over 5 minutes);
- compute: the App Service plan's CPU and memory from Azure Monitor;
- PostgreSQL: the Flexible Server's state and HA state from ARM, its metrics from Azure
  Monitor, and the newest backup (RPO exposure);
- Redis: persistence settings from ARM and its metrics from Azure Monitor.

A source that cannot be read is ``Unreadable``: one failed check, not a failed command.
``AzureHealth`` reads them once into a ``Snapshot`` or hands the dashboard feeds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augeoctl.backends.azure_monitor import (
    PLAN_METRICS,
    POSTGRES_ENHANCED,
    POSTGRES_METRICS,
    REDIS_METRICS,
    AzureMetrics,
)
from augeoctl.config import Environment
from augeoctl.errors import AugeoError
from augeoctl.health.http import probe_health
from augeoctl.health.readings import (
    BackupReading,
    Feeds,
    FlexibleServerReading,
    ManagedRedisReading,
    PlanReading,
    Snapshot,
    TrafficReading,
    Unreadable,
)

if TYPE_CHECKING:
    from augeoctl.backends.azure_pg import AzurePostgresBackend
    from augeoctl.backends.base import RedisBackend

# Shipped with the package (dashboards/queries/ holds identical copies for the workbook);
# reached from the top package so the dashboard's own package is not imported.
QUERIES = resources.files("augeoctl") / "dashboard" / "queries"
# The definition of the API's traffic (the KQL function ``api_traffic``) that every query
# starts with; terraform/modules/alerts/workbook.tf joins the files the same way.
DEFINITION = "api_traffic.kql"

BACKUPS_TTL_S = 60.0  # the dashboard polls every few seconds; backups change daily


def _unreadable(source: str, exc: Exception) -> Unreadable:
    return Unreadable(source, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _val(value: Any) -> Any:
    return getattr(value, "value", value)


def sites(env: Environment) -> dict[str, str]:
    """The sites whose health endpoints are probed, by panel title."""
    return {title: str(env.get(key)).rstrip("/") for key, title in (("api_url", "API"), ("admin_url", "Admin"))
            if env.get(key)}


def kql(name: str) -> str:
    """The query ``name`` as it runs: the shared definition, then ``NAME.kql``'s own statement."""
    return (QUERIES / DEFINITION).read_text() + (QUERIES / f"{name}.kql").read_text()


def probe_traffic(env: Environment, credential: Any = None,
                  query_file: Path | Traversable | None = None) -> TrafficReading | Unreadable:
    """The traffic KQL over the last 5 minutes: one row of requests, failures and latencies.

    ``query_file`` replaces it with a whole query of its own.
    """
    workspace = env.get("log_analytics_workspace_id")
    if not workspace:
        return Unreadable("app-insights", "no log_analytics_workspace_id in the config")
    query = query_file.read_text() if query_file else kql("traffic")
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
            result = client.query_workspace(str(workspace), query, timespan=timedelta(minutes=5))
    except AugeoError as exc:
        return _unreadable("app-insights", exc)
    if result.status != LogsQueryStatus.SUCCESS or not result.tables or not result.tables[0].rows:
        return TrafficReading(requests=0, error_rate=0.0, avg_ms=0.0)
    table = result.tables[0]
    row = dict(zip(table.columns, table.rows[0], strict=False))

    def num(key: str) -> float:
        return float(row.get(key) or 0.0)

    return TrafficReading(requests=int(row.get("requests") or 0), error_rate=num("error_rate"),
                          avg_ms=num("avg_ms"), rate_per_s=num("rate_per_s"), p50_ms=num("p50_ms"),
                          p95_ms=num("p95_ms"), p99_ms=num("p99_ms"))


def probe_plan(env: Environment, metrics: AzureMetrics) -> PlanReading | Unreadable:
    try:
        r = metrics.latest(metrics.plan_id(), PLAN_METRICS, what="reading the App Service plan's metrics")
    except AugeoError as exc:
        return _unreadable("app-service-plan", exc)
    cpu, mem = r["CpuPercentage"], r["MemoryPercentage"]
    return PlanReading(plan=env.get("app_service_plan"), cpu_percent=cpu.value, memory_percent=mem.value,
                       at=max((x.at for x in (cpu, mem) if x.at), default=None))


class AzureHealth:
    """An Azure environment's health sources.

    Kept by a caller that polls, it lists the server's backups at most once a minute and
    remembers that the enhanced PostgreSQL metrics are off, so they are not asked for again.
    """

    def __init__(self, env: Environment, credential: Any = None, *,
                 postgres: AzurePostgresBackend | None = None, redis: RedisBackend | None = None) -> None:
        self.env = env
        self.credential = credential
        self.metrics = AzureMetrics(env, credential)
        self._postgres = postgres
        self._redis = redis
        self._enhanced = True
        self._backups: tuple[float, list[Any]] | None = None

    @cached_property
    def postgres_backend(self) -> AzurePostgresBackend:
        from augeoctl.backends.azure_pg import AzurePostgresBackend

        return self._postgres or AzurePostgresBackend(self.env)

    @cached_property
    def redis_backend(self) -> RedisBackend:
        from augeoctl.backends.azure_redis import AzureRedisBackend

        return self._redis or AzureRedisBackend(self.env)

    def traffic(self) -> TrafficReading | Unreadable:
        return probe_traffic(self.env, self.credential)

    def plan(self) -> PlanReading | Unreadable:
        return probe_plan(self.env, self.metrics)

    def server(self) -> FlexibleServerReading | Unreadable:
        """State, HA, metrics and the newest backup of the Flexible Server."""
        try:
            return self._server()
        except AugeoError as exc:
            return _unreadable("postgres", exc)

    def _server(self) -> FlexibleServerReading:
        backend, metrics = self.postgres_backend, self.metrics
        props = backend.source().properties
        ha = props.high_availability if props else None
        r = metrics.latest(metrics.postgres_id(), POSTGRES_METRICS, what="reading the server's metrics")
        enhanced: dict[str, Any] = {}
        if self._enhanced:
            try:
                e = metrics.latest(metrics.postgres_id(), POSTGRES_ENHANCED, what="reading enhanced metrics")
            except AugeoError:
                self._enhanced = False  # not offered for this server: ask once
            else:
                commits, longest = e["xact_commit"], e["longest_query_time_sec"]
                # Both empty: metrics.collector_database_activity is off on the server.
                enhanced = {"enhanced_metrics": commits.value is not None or longest.value is not None,
                            "longest_query_s": longest.value,
                            "tps": None if commits.value is None else commits.value / commits.interval_s}
        now = time.monotonic()
        if self._backups is None or now - self._backups[0] > BACKUPS_TTL_S:
            self._backups = (now, backend.list_backups())
        backups = self._backups[1]
        earliest = getattr(props.backup if props else None, "earliest_restore_date", None)
        return FlexibleServerReading(
            server=self.env.get("postgres_server"),
            state=str(_val(props.state)) if props and props.state else "Unknown",
            ha_mode=str(_val(ha.mode)) if ha and ha.mode else "Disabled",
            ha_state=str(_val(ha.state)) if ha and ha.state else None,
            connections=int(r["active_connections"].value or 0), cpu_percent=r["cpu_percent"].value,
            memory_percent=r["memory_percent"].value, storage_percent=r["storage_percent"].value,
            newest_backup_at=backups[-1].finished_at if backups else None,
            earliest_restore_at=earliest.replace(tzinfo=earliest.tzinfo or UTC) if earliest else None,
            **enhanced,
        )

    def cache(self) -> ManagedRedisReading | Unreadable:
        """Persistence (ARM) and metrics (Azure Monitor) of the environment's Redis."""
        try:
            info = self.redis_backend.describe()
            resource, interval = self.metrics.redis_id()
            r = self.metrics.latest(resource, REDIS_METRICS, interval=interval, what="reading Redis metrics")
        except AugeoError as exc:
            return _unreadable("redis", exc)
        hits, misses = r["cachehits"].value or 0.0, r["cachemisses"].value or 0.0
        clients = r["connectedclients"].value
        return ManagedRedisReading(
            service=info.get("service"), name=info.get("name"), rdb_enabled=bool(info.get("rdb_enabled")),
            rdb_frequency=info.get("rdb_frequency") or info.get("rdb_frequency_minutes"),
            aof_enabled=bool(info.get("aof_enabled")), used_memory_percent=r["usedmemorypercentage"].value,
            connected_clients=None if clients is None else int(clients),
            ops_per_sec=r["operationsPerSecond"].value, hit_ratio=hits / (hits + misses) if hits + misses else None,
        )

    def alerts(self) -> Snapshot:
        """What the alert rules read: Application Insights traffic and the plan's metrics."""
        return Snapshot(taken_at=datetime.now(UTC),
                        traffic=self.traffic() if self.env.get("log_analytics_workspace_id") else None,
                        compute=self.plan() if self.env.get("app_service_plan") else None)

    def snapshot(self) -> Snapshot:
        endpoints = tuple(e for url in sites(self.env).values() for e in probe_health(url, timeout=5))
        alerts = self.alerts()
        pg = self.server()
        # A server that is not Ready fails its own check; its backups are judged once it is.
        backups = BackupReading(pg.newest_backup_at) if isinstance(pg, FlexibleServerReading) and pg.ready else None
        return Snapshot(
            taken_at=datetime.now(UTC), endpoints=endpoints, traffic=alerts.traffic, compute=alerts.compute,
            postgres=pg, redis=self.cache() if self.env.get("redis_name") else None,
            backups=backups,
        )

    def feeds(self) -> Feeds:
        workspace, plan = self.env.get("log_analytics_workspace_id"), self.env.get("app_service_plan")
        return Feeds(
            services=sites(self.env), postgres=self.server,
            traffic=self.traffic if workspace else None, alerts=self.alerts if workspace or plan else None,
            compute=self.plan if plan else None, redis=self.cache if self.env.get("redis_name") else None,
        )
