"""How the sandbox's readings look in their dashboard panels."""

from __future__ import annotations

from datetime import UTC, datetime

from augeoctl.dashboard.panel import History, PanelData, ago, firing, traffic_lines
from augeoctl.health import (
    BackupReading,
    PostgresReading,
    ProcessTreeReading,
    RedisReading,
    ServiceMetrics,
    Snapshot,
    Thresholds,
)
from augeoctl.timeparse import format_duration


def traffic(m: ServiceMetrics) -> PanelData:
    """The last minute of requests; the alert rules over the last 5 and the process."""
    w = m.last_minute
    alerts = firing(Snapshot(taken_at=datetime.now(UTC), traffic=m.last_5_minutes, compute=m.process))
    return PanelData("degraded" if alerts else "ok", traffic_lines(
        w, f"rate {w.rate_per_s:.1f}/s   errors {w.error_rate:.1%}   (last minute)", alerts))


def compute(trees: tuple[ProcessTreeReading, ...], t: Thresholds | None = None) -> PanelData:
    t = t or Thresholds()
    lines, hot = [], False
    for p in trees:
        if p.pid is None:
            lines.append(f"{p.name:<10} not running")
            continue
        mem = 100.0 * p.rss_bytes / p.memory_total_bytes if p.memory_total_bytes else 0.0
        hot = hot or p.cpu_percent > t.cpu_percent or mem > t.memory_percent
        lines.append(f"{p.name:<10} CPU {p.cpu_percent:5.1f}%   memory {p.rss_bytes / 2**20:7.1f} MiB ({mem:.1f}%)")
    return PanelData("degraded" if hot else "ok", tuple(lines))


def postgres(p: PostgresReading, exposure: BackupReading | None, tps: History, lag: History) -> PanelData:
    """Connections, cache hit, longest query, archiver, RPO exposure (the age of the newest
    archived WAL and of the newest base backup), and the trends of transactions/s and of
    the archive lag (WAL not archived yet)."""
    conns = ", ".join(f"{k} {v}" for k, v in sorted(p.connections.items()))
    lines = [f"connections: {conns}",
             f"cache hit {p.cache_hit_percent}%   longest query {format_duration(p.longest_query_s)}",
             f"WAL archiver: {'FAILING' if p.archiver_failing else 'ok'}, last {p.last_archived_wal or '-'}"]
    if exposure is not None:
        now = datetime.now(UTC)
        lines.append(f"RPO exposure: newest archived WAL {ago(exposure.newest_wal_at, now)} ago, "
                     f"newest base backup {ago(exposure.newest_backup_at, now)} ago")
    lines += [tps.line(), lag.line()]
    return PanelData("degraded" if p.archiver_failing else "ok", tuple(lines))


def redis(r: RedisReading, ops: History) -> PanelData:
    """Memory, clients, hit ratio, the last RDB save, and the trend of operations/s."""
    hit = "-" if r.hit_ratio is None else f"{r.hit_ratio:.1%}"
    return PanelData("ok" if r.last_save_ok else "degraded", (
        f"memory {r.used_memory_bytes / 2**20:.1f} MiB   clients {r.connected_clients}   hit ratio {hit}",
        f"last RDB save {format_duration(r.last_save_age_s)} ago" + ("" if r.last_save_ok else " (FAILED)"),
        ops.line()))
