"""Health of the local sandbox, probed directly: its service, PostgreSQL, Redis and store.

The service answers ``/health…`` and ``/metrics``; PostgreSQL is asked over SQL for
activity, cache hits and the WAL archiver; Redis for its INFO; the backup store for the
newest base backup and the newest archived WAL (the RPO exposure). ``LocalHealth`` reads
them once into a ``Snapshot``, or hands the dashboard feeds that poll them, adding what
only polling can tell: CPU per process tree and transactions per second.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augeoctl.health.http import probe_health, probe_http
from augeoctl.health.readings import (
    BackupReading,
    Feeds,
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
from augeoctl.local import wal

if TYPE_CHECKING:
    from augeoctl.backends.base import PostgresBackend
    from augeoctl.local.sandbox import Sandbox

NOWHERE = "http://127.0.0.1:9"  # a service not created yet: its panels show it refused


def archive_lag_bytes(current_lsn: int, last_archived_wal: str | None, segment_size: int) -> int | None:
    """WAL written past the end of the newest archived segment: what the archive would miss
    if the server were lost now. A ``.backup`` file counts as the segment its backup started
    in (archived before it: the lag is overstated, never understated, until the next
    segment); ``None`` when the newest archived file is no whole segment (nothing archived
    yet, a timeline's ``.history``, a ``.partial`` left by a promotion)."""
    name, _, suffix = (last_archived_wal or "").partition(".")
    if not wal.is_segment(name) or (suffix and not suffix.endswith(".backup")):
        return None
    _, segno = wal.parse_segment(name, segment_size)
    return max(0, current_lsn - (segno + 1) * segment_size)


def probe_postgres(dsn: str | None) -> PostgresReading | Unreachable:
    import psycopg

    if not dsn:
        return Unreachable("not created")
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            states: dict[str, int] = dict(conn.execute(
                "SELECT coalesce(state, 'background'), count(*) FROM pg_stat_activity GROUP BY 1").fetchall())
            arch = conn.execute(
                "SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time"
                " FROM pg_stat_archiver").fetchone()
            hit = conn.execute(
                "SELECT round(100.0 * sum(blks_hit) / nullif(sum(blks_hit) + sum(blks_read), 0), 2),"
                " sum(xact_commit + xact_rollback) FROM pg_stat_database").fetchone()
            longest = conn.execute(
                "SELECT coalesce(max(extract(epoch FROM now() - query_start)), 0) FROM pg_stat_activity"
                " WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()
            wal = conn.execute(
                "SELECT CASE WHEN NOT pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') END,"
                " (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')").fetchone()
    except psycopg.Error as exc:
        return Unreachable(str(exc).strip().splitlines()[0])
    assert arch is not None and wal is not None
    return PostgresReading(
        connections={str(k): int(v) for k, v in states.items()},
        archiver_failing=bool(arch[3] and (arch[1] is None or arch[3] > arch[1])),
        last_archived_wal=arch[0], last_archived_at=arch[1],
        cache_hit_percent=float(hit[0]) if hit and hit[0] is not None else None,
        transactions=int(hit[1]) if hit and hit[1] is not None else 0,
        longest_query_s=float(longest[0]) if longest else 0.0,
        archive_lag_bytes=None if wal[0] is None else archive_lag_bytes(int(wal[0]), arch[0], int(wal[1])),
    )


def probe_redis(url: str | None) -> RedisReading | Unreachable:
    import redis

    if not url:
        return Unreachable("not created")
    try:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        info = client.info()
    except redis.exceptions.RedisError as exc:
        return Unreachable(str(exc))
    hits, misses = info.get("keyspace_hits", 0), info.get("keyspace_misses", 0)
    return RedisReading(
        connected_clients=int(info.get("connected_clients") or 0),
        last_save_age_s=time.time() - float(info.get("rdb_last_save_time", time.time())),
        last_save_ok=info.get("rdb_last_bgsave_status") == "ok",
        used_memory_bytes=int(info.get("used_memory") or 0),
        ops_per_sec=int(info.get("instantaneous_ops_per_sec") or 0),
        hit_ratio=hits / (hits + misses) if hits + misses else None,
    )


def probe_metrics(base_url: str, timeout: float = 3.0) -> ServiceMetrics | Unreachable:
    """The service's ``/metrics``: request windows and its own process."""
    m = probe_http(base_url + "/metrics", timeout=timeout)
    if not isinstance(m.body, dict):
        return Unreachable(f"no metrics: {m.error or m.status}")
    windows = m.body.get("windows", {})
    proc = m.body.get("process", {})
    return ServiceMetrics(
        last_minute=_window(windows.get("1m", {})), last_5_minutes=_window(windows.get("5m", {})),
        process=ProcessReading(cpu_percent=proc.get("cpu_percent"), rss_bytes=proc.get("rss_bytes"),
                               memory_total_bytes=machine_memory_bytes()))


def _window(w: dict[str, Any]) -> TrafficReading:
    lat = w.get("latency_ms", {})
    return TrafficReading(
        requests=int(w.get("requests", 0)), error_rate=float(w.get("error_rate", 0.0)),
        avg_ms=float(lat.get("avg", 0.0)), rate_per_s=float(w.get("rate_per_s", 0.0)),
        p50_ms=float(lat.get("p50", 0.0)), p95_ms=float(lat.get("p95", 0.0)), p99_ms=float(lat.get("p99", 0.0)))


def machine_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def newest_segment_at(folder: Path) -> datetime | None:
    """When the newest WAL segment in ``folder`` was archived."""
    if not folder.exists():
        return None
    mtimes = [p.stat().st_mtime for p in folder.iterdir() if len(p.name) == 24]
    return datetime.fromtimestamp(max(mtimes), UTC) if mtimes else None


def _rss(pid: int) -> int:
    import psutil

    try:
        return int(psutil.Process(pid).memory_info().rss)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return 0


class LocalHealth:
    """The sandbox's health sources; ``postgres`` (by default the sandbox's own backend)
    lists the base backups."""

    def __init__(self, sandbox: Sandbox, postgres: PostgresBackend | None = None) -> None:
        self.sandbox = sandbox
        self._postgres = postgres

    @cached_property
    def postgres_backend(self) -> PostgresBackend:
        if self._postgres is not None:
            return self._postgres
        from augeoctl.backends.local_pg import LocalPostgresBackend

        return LocalPostgresBackend(self.sandbox)

    def backups(self) -> BackupReading:
        backups = self.postgres_backend.list_backups()
        return BackupReading(newest_backup_at=backups[-1].finished_at if backups else None,
                             newest_wal_at=newest_segment_at(self.sandbox.wal_archive))

    def snapshot(self) -> Snapshot:
        status = self.sandbox.status()
        app = status.app.url if status.app else None
        metrics = probe_metrics(app) if app else None
        # A service that does not answer /metrics already fails its /health checks.
        served = metrics if isinstance(metrics, ServiceMetrics) else None
        return Snapshot(
            taken_at=datetime.now(UTC), endpoints=probe_health(app) if app else (),
            traffic=served.last_5_minutes if served else None, compute=served.process if served else None,
            postgres=probe_postgres(status.postgres.url), redis=probe_redis(status.redis.url),
            backups=self.backups(),
        )

    def feeds(self) -> Feeds:
        status = self.sandbox.status()
        app = status.app.url if status.app and status.app.url else NOWHERE

        def alerts() -> Snapshot | Unreadable:
            m = probe_metrics(app, timeout=2)
            if isinstance(m, Unreachable):
                return Unreadable("metrics", m.error)
            return Snapshot(taken_at=datetime.now(UTC), traffic=m.last_5_minutes, compute=m.process)

        return Feeds(
            services={"Service": app}, traffic=lambda: probe_metrics(app, timeout=2), alerts=alerts,
            compute=self._process_trees(), postgres=self._postgres_rate(),
            redis=lambda: probe_redis(self.sandbox.status().redis.url), exposure=self.backups,
        )

    def _postgres_rate(self) -> Callable[[], PostgresReading | Unreachable]:
        """PostgreSQL with transactions/s since the previous reading."""
        last: list[tuple[float, int]] = []

        def read() -> PostgresReading | Unreachable:
            r = probe_postgres(self.sandbox.status().postgres.url)
            if isinstance(r, Unreachable):
                return r
            now = time.monotonic()
            tps = (r.transactions - last[0][1]) / (now - last[0][0]) if last and now > last[0][0] else None
            if tps is not None and tps < 0:
                tps = None  # the statistics were reset (or the server restarted) in between
            last[:] = [(now, r.transactions)]
            return replace(r, tps=tps)
        return read

    def _process_trees(self) -> Callable[[], tuple[ProcessTreeReading, ...]]:
        """CPU (busiest process's share of one core since the previous reading) and memory
        of each server's process tree."""
        from augeoctl.local.cpu import CpuSampler, process_tree

        samplers: dict[str, CpuSampler] = {}
        total = machine_memory_bytes()

        def read() -> tuple[ProcessTreeReading, ...]:
            sb, out = self.sandbox, []
            for name, pid in (("postgres", sb.pg_pid()), ("redis", sb.redis_pid()), ("service", sb.app_pid())):
                if not pid:
                    out.append(ProcessTreeReading(name, None))
                    continue
                s = samplers.get(name)
                if s is None or s.root != pid:
                    s = samplers[name] = CpuSampler(pid)
                s.max_percent = 0.0
                s.sample()
                out.append(ProcessTreeReading(name, pid, s.max_percent, sum(_rss(p) for p in process_tree(pid)),
                                              total))
            return tuple(out)
        return read
