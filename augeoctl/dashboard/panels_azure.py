"""How an Azure environment's readings look in their dashboard panels."""

from __future__ import annotations

from datetime import UTC, datetime

from augeoctl.dashboard.panel import History, PanelData, ago, firing, pct, traffic_lines
from augeoctl.health import (
    FlexibleServerReading,
    ManagedRedisReading,
    PlanReading,
    Snapshot,
    Thresholds,
    TrafficReading,
)
from augeoctl.timeparse import format_duration

STOPPED = ("Stopped", "Disabled", "Dropping")


def traffic(w: TrafficReading) -> PanelData:
    """``traffic.kql`` over Application Insights: the last 5 minutes and its alert rules."""
    if not w.requests:
        return PanelData("degraded", ("no request data in the last 5 minutes",))
    alerts = firing(Snapshot(taken_at=datetime.now(UTC), traffic=w))
    return PanelData("degraded" if alerts else "ok", traffic_lines(
        w, f"rate {w.rate_per_s:.1f}/s   errors {w.error_rate:.1%}", alerts))


def compute(p: PlanReading, t: Thresholds | None = None) -> PanelData:
    """CPU and memory of the App Service plan (Azure Monitor, 1-minute averages)."""
    t = t or Thresholds()
    at = p.at.strftime("%H:%M") + " UTC" if p.at else "no data yet"
    hot = (p.cpu_percent or 0.0) > t.cpu_percent or (p.memory_percent or 0.0) > t.memory_percent
    return PanelData("degraded" if hot else "ok", (
        f"plan {p.plan}",
        f"CPU {pct(p.cpu_percent)}   memory {pct(p.memory_percent)}   (1-min average, {at})"))


def postgres(p: FlexibleServerReading, tps: History) -> PanelData:
    """State and HA (ARM), connections/CPU/storage (Azure Monitor), longest query and the
    trend of transactions/s (enhanced metrics), and RPO exposure: the newest backup."""
    ha = p.ha_mode + (f" ({p.ha_state})" if p.ha_state else "")
    lines = [f"{p.server}: {p.state}   HA {ha}",
             f"connections {p.connections}   CPU {pct(p.cpu_percent)}   storage {pct(p.storage_percent)}"]
    if p.enhanced_metrics:
        lines.append(f"longest query {format_duration(p.longest_query_s)}")
    else:
        lines.append("tx/s, longest query: set metrics.collector_database_activity=on")
    lines.append(f"RPO exposure: newest backup {ago(p.newest_backup_at, datetime.now(UTC))} ago; "
                 "WAL archived continuously by Azure (PITR RPO up to 5 min)")
    if p.enhanced_metrics or tps.seen:  # one minute without the metric is a gap, not a missing trend
        lines.append(tps.line())
    bad = not p.ready or (p.ha_mode != "Disabled" and p.ha_state != "Healthy")
    return PanelData("down" if p.state in STOPPED else "degraded" if bad else "ok", tuple(lines))


def redis(r: ManagedRedisReading, ops: History) -> PanelData:
    """Memory, clients, hit ratio and the trend of operations/s (Azure Monitor), and
    persistence (ARM)."""
    hit = "-" if r.hit_ratio is None else f"{r.hit_ratio:.1%}"
    clients = "-" if r.connected_clients is None else r.connected_clients
    persistence = (f"RDB every {r.rdb_frequency}" if r.rdb_enabled else "RDB OFF") + (
        ", AOF on" if r.aof_enabled else "")
    return PanelData("ok" if r.rdb_enabled else "degraded", (
        f"{r.service} {r.name}",
        f"memory {pct(r.used_memory_percent)}   clients {clients}   hit ratio {hit}",
        f"persistence: {persistence}",
        ops.line()))
