"""The health verdict: the platform's alert thresholds and pure checks over a snapshot.

``evaluate`` needs no server: each reading type has its own checks, a failed source is
one failed check, and a source the environment lacks (None) adds none. The thresholds
are those of the platform's Azure Monitor alert rules.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import datetime

from augeoctl.core import Check
from augeoctl.health.readings import (
    BackupReading,
    EndpointReading,
    ManagedRedisReading,
    PlanReading,
    Postgres,
    PostgresReading,
    ProcessReading,
    Redis,
    RedisReading,
    Snapshot,
    TrafficReading,
    Unreachable,
    Unreadable,
)
from augeoctl.timeparse import format_duration


@dataclass(frozen=True)
class Thresholds:
    error_rate: float = 0.05  # over the last 5 minutes
    avg_response_ms: float = 3000.0
    cpu_percent: float = 80.0
    memory_percent: float = 80.0
    backup_age_s: float = 26 * 3600.0  # a daily backup, with slack


def evaluate(s: Snapshot, t: Thresholds | None = None) -> list[Check]:
    """Checks over a snapshot; a failed check means unhealthy."""
    t = t or Thresholds()
    checks = endpoint_checks(s.endpoints)
    for source in (s.traffic, s.compute):
        if isinstance(source, Unreadable):
            checks.append(Check(source.source, False, f"cannot read: {source.error}"))
    if isinstance(s.traffic, TrafficReading):
        checks += traffic_checks(s.traffic, t)
    if isinstance(s.compute, ProcessReading | PlanReading):
        checks += compute_checks(s.compute, t)
    if s.postgres is not None:
        checks += postgres_checks(s.postgres)
    if s.redis is not None:
        checks.append(redis_check(s.redis))
    if s.backups is not None:
        checks.append(backup_check(s.backups, s.taken_at, t))
    return checks


def endpoint_checks(endpoints: tuple[EndpointReading, ...]) -> list[Check]:
    """One check per endpoint, named by its path (and its host when there are several)."""
    checks = []
    hosts = {urllib.parse.urlparse(e.url).netloc for e in endpoints}
    for e in endpoints:
        u = urllib.parse.urlparse(e.url)
        name = "http " + (u.netloc if len(hosts) > 1 else "") + (u.path or "/")
        if e.status is None:
            checks.append(Check(name, False, f"unreachable: {e.error}"))
            continue
        detail = f"HTTP {e.status} in {e.latency_ms:.0f} ms"
        if e.status != 200 and isinstance(e.body, dict) and "checks" in e.body:
            bad = [k for k, v in e.body["checks"].items() if not v.get("ok")]
            detail += f"; not ready: {', '.join(bad)}"
        checks.append(Check(name, e.status == 200, detail))
    return checks


def traffic_checks(w: TrafficReading, t: Thresholds) -> list[Check]:
    """The error-rate and response-time alert rules; no requests, no verdict."""
    if not w.requests:
        return []
    return [
        Check("alert error-rate", w.error_rate <= t.error_rate,
              f"{w.error_rate:.1%} of {w.requests} requests in 5 min failed (alert above {t.error_rate:.0%})"),
        Check("alert response-time", w.avg_ms <= t.avg_response_ms,
              f"average {w.avg_ms:.0f} ms (alert above {t.avg_response_ms:.0f} ms)"),
    ]


def compute_checks(c: ProcessReading | PlanReading, t: Thresholds) -> list[Check]:
    """The CPU and memory alert rules, over the service's process or the App Service plan."""
    memory: tuple[float, str] | None = None
    if isinstance(c, PlanReading):
        scope = f"App Service plan {c.plan}"
        if c.memory_percent is not None:
            memory = (float(c.memory_percent), "")
    else:
        scope = "service"
        if c.rss_bytes and c.memory_total_bytes:
            memory = (100.0 * c.rss_bytes / c.memory_total_bytes, " of the machine")
    checks = []
    if c.cpu_percent is not None:
        checks.append(Check("alert cpu", c.cpu_percent <= t.cpu_percent,
                            f"{scope} CPU {c.cpu_percent:.0f}% (alert above {t.cpu_percent:.0f}%)"))
    if memory is not None:
        pct, of = memory
        checks.append(Check("alert memory", pct <= t.memory_percent,
                            f"{scope} memory {pct:.1f}%{of} (alert above {t.memory_percent:.0f}%)"))
    return checks


def postgres_checks(pg: Postgres) -> list[Check]:
    """The server answers (and is Ready); the WAL archiver works; HA, where on, is Healthy."""
    if isinstance(pg, Unreachable | Unreadable):
        return [Check("postgres", False, f"unreachable: {pg.error}")]
    if isinstance(pg, PostgresReading):
        parts = [f"{sum(pg.connections.values())} connections"]
        if pg.cache_hit_percent is not None:
            parts.append(f"cache hit {pg.cache_hit_percent}%")
        return [Check("postgres", True, ", ".join(parts)),
                Check("wal-archiver", not pg.archiver_failing,
                      "archiving fails" if pg.archiver_failing else f"last archived {pg.last_archived_wal or '-'}")]
    if not pg.ready:
        return [Check("postgres", False, f"server state {pg.state}")]
    parts = [f"{pg.server} {pg.state}", f"{pg.connections} connections"]
    for value, label in ((pg.cpu_percent, "CPU"), (pg.storage_percent, "storage")):
        if value is not None:
            parts.append(f"{label} {value:.0f}%")
    checks = [Check("postgres", True, ", ".join(parts))]
    if pg.ha_mode != "Disabled":
        checks.append(Check("postgres-ha", pg.ha_state == "Healthy",
                            f"{pg.ha_mode} high availability {pg.ha_state or 'unknown'}"))
    return checks


def redis_check(rd: Redis) -> Check:
    """Locally: the last RDB save succeeded. On Azure the service persists; the check is
    that it is set to."""
    if isinstance(rd, Unreachable | Unreadable):
        return Check("redis", False, f"unreachable: {rd.error}")
    if isinstance(rd, RedisReading):
        return Check("redis", rd.last_save_ok,
                     f"{rd.connected_clients} clients, last RDB save {format_duration(rd.last_save_age_s)} ago"
                     + ("" if rd.last_save_ok else ", the last save FAILED"))
    return Check("redis", rd.rdb_enabled, _managed_redis_detail(rd))


def _managed_redis_detail(rd: ManagedRedisReading) -> str:
    mem, clients = rd.used_memory_percent, rd.connected_clients
    return (f"{rd.service} {rd.name}: "
            + (f"RDB persistence every {rd.rdb_frequency}" if rd.rdb_enabled
               else "RDB persistence OFF (the platform requires it)")
            + ("" if mem is None else f", memory {mem:.0f}%")
            + ("" if clients is None else f", {clients} clients"))


def backup_check(b: BackupReading, now: datetime, t: Thresholds) -> Check:
    """The newest base backup is younger than a day and its slack."""
    age = None if b.newest_backup_at is None else max(0.0, (now - b.newest_backup_at).total_seconds())
    return Check("backup-age", age is not None and age <= t.backup_age_s,
                 "no base backup" if age is None else f"newest base backup {format_duration(age)} old")
