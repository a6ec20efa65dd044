"""What the health probes read, as frozen dataclasses, and the snapshot that bundles them.

One type per source as a probe fills it. Where the sandbox and Azure see a source
differently (PostgreSQL over SQL or the Flexible Server through ARM and Azure Monitor;
Redis's INFO or its Azure persistence settings) each has its own type. A source that
could not be read is ``Unreachable`` (the server did not answer) or ``Unreadable`` (the
service that reports on it did not); a source the environment does not have is ``None``.
``Feeds`` is what the live dashboard polls: one callable per panel, each reading afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Unreachable:
    """The server itself did not answer (refused, timed out, not created)."""

    error: str


@dataclass(frozen=True)
class Unreadable:
    """A source about a component could not be read (ARM, Azure Monitor, Logs, /metrics)."""

    source: str  # the check it fails: "app-insights", "app-service-plan", …
    error: str


@dataclass(frozen=True)
class EndpointReading:
    """One GET of a health endpoint; ``status`` is None when nothing answered."""

    url: str
    status: int | None
    latency_ms: float | None
    body: Any = None  # the JSON answer, or the start of a non-JSON one
    error: str | None = None


@dataclass(frozen=True)
class TrafficReading:
    """Requests over one window: the service's own /metrics, or Application Insights."""

    requests: int
    error_rate: float
    avg_ms: float
    rate_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0


@dataclass(frozen=True)
class ProcessReading:
    """CPU and memory of the sandbox's service process, as its /metrics reports them."""

    cpu_percent: float | None
    rss_bytes: int | None
    memory_total_bytes: int | None  # of the machine, for the memory alert


@dataclass(frozen=True)
class ServiceMetrics:
    """The sandbox service's /metrics: the last minute, the last 5 minutes, its process."""

    last_minute: TrafficReading
    last_5_minutes: TrafficReading
    process: ProcessReading


@dataclass(frozen=True)
class PlanReading:
    """CPU and memory of the App Service plan (Azure Monitor, newest 1-minute averages)."""

    plan: str | None
    cpu_percent: float | None
    memory_percent: float | None
    at: datetime | None


@dataclass(frozen=True)
class ProcessTreeReading:
    """CPU and memory of one sandbox server's process tree since the previous reading."""

    name: str
    pid: int | None  # None: not running
    cpu_percent: float = 0.0  # the busiest process's share of one core
    rss_bytes: int = 0
    memory_total_bytes: int | None = None


@dataclass(frozen=True)
class PostgresReading:
    """The sandbox's PostgreSQL over SQL: activity, cache, the WAL archiver."""

    connections: dict[str, int]  # by state
    archiver_failing: bool
    last_archived_wal: str | None
    last_archived_at: datetime | None = None
    cache_hit_percent: float | None = None
    transactions: int = 0  # committed and rolled back since the statistics were reset
    longest_query_s: float = 0.0
    tps: float | None = None  # between two readings of the dashboard; None in a snapshot
    archive_lag_bytes: int | None = None  # WAL written past the newest archived segment


@dataclass(frozen=True)
class FlexibleServerReading:
    """An Azure Flexible Server: state and HA (ARM), metrics (Azure Monitor), backups."""

    server: str | None
    state: str
    ha_mode: str  # "Disabled" when HA is off
    ha_state: str | None
    connections: int = 0
    cpu_percent: float | None = None
    memory_percent: float | None = None
    storage_percent: float | None = None
    enhanced_metrics: bool = False  # metrics.collector_database_activity is on
    longest_query_s: float | None = None
    tps: float | None = None
    newest_backup_at: datetime | None = None
    earliest_restore_at: datetime | None = None

    @property
    def ready(self) -> bool:
        return self.state == "Ready"


@dataclass(frozen=True)
class RedisReading:
    """The sandbox's Redis INFO: clients, memory, and whether RDB saves succeed."""

    connected_clients: int
    last_save_age_s: float
    last_save_ok: bool
    used_memory_bytes: int = 0
    ops_per_sec: int = 0
    hit_ratio: float | None = None


@dataclass(frozen=True)
class ManagedRedisReading:
    """Azure Managed Redis or Azure Cache for Redis: persistence (ARM), metrics (Monitor)."""

    service: str | None
    name: str | None
    rdb_enabled: bool
    rdb_frequency: Any = None  # "1h" (Managed Redis) or minutes (Azure Cache)
    aof_enabled: bool = False
    used_memory_percent: float | None = None
    connected_clients: int | None = None
    ops_per_sec: float | None = None
    hit_ratio: float | None = None


@dataclass(frozen=True)
class BackupReading:
    """RPO exposure: the newest base backup and, where WAL is archived by us, its newest."""

    newest_backup_at: datetime | None
    newest_wal_at: datetime | None = None


Traffic = TrafficReading | Unreadable
Compute = ProcessReading | PlanReading | Unreadable
Postgres = PostgresReading | FlexibleServerReading | Unreachable | Unreadable
Redis = RedisReading | ManagedRedisReading | Unreachable | Unreadable


@dataclass(frozen=True)
class Snapshot:
    """Every source of one environment read once; ``verdict.evaluate`` judges it."""

    taken_at: datetime
    endpoints: tuple[EndpointReading, ...] = ()
    traffic: Traffic | None = None
    compute: Compute | None = None
    postgres: Postgres | None = None
    redis: Redis | None = None
    backups: BackupReading | None = None


@dataclass(frozen=True)
class Feeds:
    """What the live dashboard polls. A panel whose source the environment lacks is None."""

    services: Mapping[str, str]  # panel title → base URL of /health, /health/live, /health/ready
    postgres: Callable[[], Postgres]
    traffic: Callable[[], ServiceMetrics | Unreachable | Traffic] | None = None
    alerts: Callable[[], Snapshot | Unreadable] | None = None
    compute: Callable[[], tuple[ProcessTreeReading, ...] | PlanReading | Unreadable] | None = None
    redis: Callable[[], Redis] | None = None
    exposure: Callable[[], BackupReading] | None = None  # where WAL is archived by us
