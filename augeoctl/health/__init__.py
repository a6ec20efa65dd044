"""Health of an environment: typed readings from probes, and a pure verdict over them.

``augeoctl health`` takes one ``Snapshot`` and judges it with ``evaluate``; the live
dashboard polls the same probes through ``HealthProbe.feeds()``. The sandbox's probes are
in ``health.local``, Azure's in ``health.azure``; both fill the types of
``health.readings``; ``health.verdict`` holds the thresholds and the checks.
"""

from __future__ import annotations

from typing import Protocol

from augeoctl.health.readings import (
    BackupReading,
    EndpointReading,
    Feeds,
    FlexibleServerReading,
    ManagedRedisReading,
    PlanReading,
    PostgresReading,
    ProcessReading,
    ProcessTreeReading,
    RedisReading,
    ServiceMetrics,
    Snapshot,
    TrafficReading,
    Unreachable,
    Unreadable,
)
from augeoctl.health.verdict import Thresholds, evaluate

__all__ = [
    "BackupReading", "EndpointReading", "Feeds", "FlexibleServerReading", "HealthProbe",
    "ManagedRedisReading", "PlanReading", "PostgresReading", "ProcessReading", "ProcessTreeReading",
    "RedisReading", "ServiceMetrics", "Snapshot", "Thresholds", "TrafficReading", "Unreachable",
    "Unreadable", "evaluate",
]


class HealthProbe(Protocol):
    """The health sources of one environment (``LocalHealth``, ``AzureHealth``)."""

    def snapshot(self) -> Snapshot:
        """Every source read once, for ``evaluate``."""
        ...

    def feeds(self) -> Feeds:
        """The sources of the dashboard's panels, each read afresh at every poll."""
        ...
