"""Azure Monitor platform metrics, read through ARM with ``azure-mgmt-monitor``.

One seam for the metrics the dashboard and ``augeoctl health`` show on Azure: the App
Service plan's ``CpuPercentage``/``MemoryPercentage``, the Flexible Server's
``active_connections``/``cpu_percent``/``storage_percent`` (plus the enhanced
``longest_query_time_sec``/``xact_commit`` when ``metrics.collector_database_activity`` is
on), and Redis's ``usedmemorypercentage``/``connectedclients``/``operationsPerSecond``/
``cachehits``/``cachemisses``. Each read returns the newest non-empty data point of every
metric asked for, with its time; a metric with no data in the window is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from augeoctl import azure
from augeoctl.config import Environment
from augeoctl.errors import UsageError

PLAN_METRICS = {"CpuPercentage": "Average", "MemoryPercentage": "Average"}
POSTGRES_METRICS = {"active_connections": "Maximum", "cpu_percent": "Average",
                    "memory_percent": "Average", "storage_percent": "Maximum"}
# Off unless the server parameter metrics.collector_database_activity is on.
POSTGRES_ENHANCED = {"longest_query_time_sec": "Maximum", "xact_commit": "Total"}
REDIS_METRICS = {"usedmemorypercentage": "Maximum", "connectedclients": "Maximum",
                 "operationsPerSecond": "Maximum", "cachehits": "Total", "cachemisses": "Total"}


@dataclass(frozen=True)
class Reading:
    value: float | None
    at: datetime | None
    interval_s: float


def _seconds(interval: str) -> float:
    units = {"M": 60, "H": 3600}
    return float(interval[2:-1]) * units[interval[-1]]


class AzureMetrics:
    """Newest values of platform metrics of one environment's resources."""

    def __init__(self, env: Environment, credential: Any = None) -> None:
        self.env = env
        self._credential = credential
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from azure.mgmt.monitor import MonitorManagementClient

            self._client = MonitorManagementClient(self._credential or azure.credential(self.env),
                                                   str(self.env.get("subscription_id")),
                                                   **azure.client_kwargs(self.env))
        return self._client

    # -- the resources --------------------------------------------------------------

    def plan_id(self) -> str:
        plan = self.env.get("app_service_plan")
        if not plan:
            raise UsageError(f"environment {self.env.name} has no app_service_plan",
                             hint="add app_service_plan (the App Service plan's name) to its config")
        return azure.resource_id(self.env, "Microsoft.Web", "serverfarms", str(plan))

    def postgres_id(self) -> str:
        return azure.resource_id(self.env, "Microsoft.DBforPostgreSQL", "flexibleServers",
                                 str(self.env.get("postgres_server")))

    def redis_id(self) -> tuple[str, str]:
        """The Redis resource and the interval its metrics come at (Managed Redis: 5 min)."""
        name = self.env.get("redis_name")
        if not name:
            raise UsageError(f"environment {self.env.name} has no redis_name", hint="add redis_name to its config")
        if str(self.env.get("redis_kind", "managed")) == "managed":
            return azure.resource_id(self.env, "Microsoft.Cache", "redisEnterprise", str(name)), "PT5M"
        return azure.resource_id(self.env, "Microsoft.Cache", "redis", str(name)), "PT1M"

    # -- reading --------------------------------------------------------------------

    def latest(self, resource_id: str, metrics: dict[str, str], *, interval: str = "PT1M",
               window: timedelta = timedelta(minutes=30), what: str = "reading Azure Monitor metrics",
               ) -> dict[str, Reading]:
        end = datetime.now(UTC).replace(microsecond=0)
        start = end - window
        aggregations = sorted(set(metrics.values()))
        with azure.translated(what):
            result = self.client.metrics.list(
                resource_id.lstrip("/"), timespan=f"{start.isoformat()}/{end.isoformat()}", interval=interval,
                metricnames=",".join(metrics), aggregation=",".join(aggregations))
        out = {name: Reading(None, None, _seconds(interval)) for name in metrics}
        for metric in result.value or []:
            name = metric.name.value if metric.name else None
            if name not in metrics:
                continue
            attr = metrics[name].lower()
            newest: tuple[datetime, float] | None = None
            for series in metric.timeseries or []:
                for point in series.data or []:
                    value = getattr(point, attr, None)
                    if value is None:
                        continue
                    when = point.time_stamp
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=UTC)
                    if newest is None or when > newest[0]:
                        newest = (when, float(value))
            if newest is not None:
                out[name] = Reading(newest[1], newest[0], _seconds(interval))
        return out
