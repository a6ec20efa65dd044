"""Azure Monitor on the fake ARM: platform metrics of any resource, and the Logs query API.

Metrics answer ``GET {resource}/providers/Microsoft.Insights/metrics`` the way ARM does:
only the metric names that resource type publishes (anything else is the 400 ARM gives,
"Failed to find metric configuration"), only its time grains, and a series of points of
which the newest minute is still empty, as on Azure. ``set(resource_id, metric, value)``
sets what a metric reads; a metric never set has no data points.

The Logs API answers ``POST /v1/workspaces/{id}/query`` with one table (``rows``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.fakearm.server import FakeArm, Request, Response, arm_error

# resource type (lower case) -> published metrics, and the time grains they come at
CATALOGUE: dict[str, tuple[set[str], set[str]]] = {
    "microsoft.web/serverfarms": ({"CpuPercentage", "MemoryPercentage", "HttpQueueLength"}, {"PT1M", "PT5M", "PT1H"}),
    "microsoft.dbforpostgresql/flexibleservers": (
        {"active_connections", "cpu_percent", "memory_percent", "storage_percent", "longest_query_time_sec",
         "xact_commit"}, {"PT1M", "PT5M", "PT1H"}),
    "microsoft.cache/redisenterprise": (
        {"usedmemorypercentage", "connectedclients", "operationsPerSecond", "cachehits", "cachemisses"},
        {"PT5M", "PT1H"}),
    "microsoft.cache/redis": (
        {"usedmemorypercentage", "connectedclients", "operationsPerSecond", "cachehits", "cachemisses"},
        {"PT1M", "PT5M", "PT1H"}),
}


class FakeMonitor:
    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm
        self.values: dict[tuple[str, str], float] = {}
        self.logs_columns = ["requests", "failed", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "rate_per_s",
                             "error_rate"]
        self.logs_rows: list[list[Any]] = []
        self.queries: list[dict[str, Any]] = []
        arm.route("GET", r"(?P<rid>/subscriptions/.+)/providers/Microsoft\.Insights/metrics", self._metrics)
        arm.public.append(self._logs)

    def set(self, resource_id: str, metric: str, value: float) -> None:
        self.values[(resource_id.lower(), metric)] = value

    def _metrics(self, req: Request) -> Response:
        rid = req.match["rid"]
        parts = rid.split("/")
        rtype = f"{parts[6]}/{parts[7]}".lower() if len(parts) > 8 else ""
        if rtype not in CATALOGUE:
            return arm_error(404, "ResourceNotFound", f"no metrics for {rid}")
        published, grains = CATALOGUE[rtype]
        names = [n for n in (req.q("metricnames") or "").split(",") if n]
        unknown = [n for n in names if n not in published]
        if unknown:
            return arm_error(400, "BadRequest", f"Failed to find metric configuration for provider: {parts[6]}, "
                             f"resource Type: {parts[7]}, metric: {unknown[0]}, Valid metrics: {', '.join(sorted(published))}")
        interval = req.q("interval") or "PT1M"
        if interval not in grains:
            return arm_error(400, "BadRequest", f"Invalid time grain {interval}; supported: {', '.join(sorted(grains))}")
        timespan = req.q("timespan") or ""
        try:
            start_s, end_s = timespan.split("/")
            start, end = dt.datetime.fromisoformat(start_s), dt.datetime.fromisoformat(end_s)
        except ValueError:
            return arm_error(400, "BadRequest", f"invalid timespan {timespan!r}")
        aggs = [a.strip().lower() for a in (req.q("aggregation") or "average").split(",")]
        step = dt.timedelta(minutes=5 if interval == "PT5M" else 60 if interval == "PT1H" else 1)
        value = []
        for name in names:
            v = self.values.get((rid.lower(), name))
            points = []
            t = start
            while t < end:
                point: dict[str, Any] = {"timeStamp": t.strftime("%Y-%m-%dT%H:%M:%SZ")}
                # The newest grain is still being aggregated on Azure: no value yet.
                if v is not None and t + step < end:
                    point.update({a: v for a in aggs})
                points.append(point)
                t += step
            value.append({"id": f"{rid}/providers/Microsoft.Insights/metrics/{name}",
                          "type": "Microsoft.Insights/metrics",
                          "name": {"value": name, "localizedValue": name}, "unit": "Count",
                          "timeseries": [{"metadatavalues": [], "data": points}], "errorCode": "Success"})
        return Response(200, {"cost": 0, "timespan": timespan, "interval": interval, "value": value,
                              "namespace": f"{parts[6]}/{parts[7]}", "resourceregion": self.arm.location})

    def _logs(self, req: Request) -> Response | None:
        if not req.path.startswith("/v1/workspaces/"):
            return None
        if req.headers.get("Authorization") != f"Bearer {self.arm.token}":
            return Response(401, {"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}})
        self.queries.append(req.body)
        return Response(200, {"tables": [{"name": "PrimaryResult",
                                          "columns": [{"name": c, "type": "real"} for c in self.logs_columns],
                                          "rows": self.logs_rows}]})
