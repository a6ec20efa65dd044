"""Data sources of the dashboard's panels: plain functions returning a PanelData.

They run in worker threads; each has its own state (ok / degraded / down / error) and
never blocks the screen. The same probes serve `augeoctl health`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl import health


@dataclass(frozen=True)
class PanelData:
    state: str  # ok | degraded | down | error
    lines: tuple[str, ...]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


Source = Callable[[], PanelData]


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None], width: int = 20) -> str:
    """The last ``width`` values as bars scaled to their own maximum; a failed probe is ``×``."""
    tail = values[-width:]
    top = max((v for v in tail if v is not None), default=0.0)
    out = []
    for v in tail:
        if v is None:
            out.append("×")
        else:
            out.append(_BARS[min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1))) if top > 0 else 0])
    return "".join(out)


def service_source(url: str, history: int = 20) -> Source:
    """The three health endpoints with their latency and a sparkline of recent latencies."""
    paths = ("/health", "/health/live", "/health/ready")
    seen: dict[str, list[float | None]] = {p: [] for p in paths}

    def fetch() -> PanelData:
        eps = [health.probe_http(url + p, timeout=2) for p in paths]
        lines = []
        for path, e in zip(paths, eps, strict=True):
            seen[path] = (seen[path] + [e.latency_ms if e.status else None])[-history:]
            now = f"HTTP {e.status}  {e.latency_ms:5.0f} ms" if e.status else f"down: {e.error}"
            lines.append(f"{path:<14} {sparkline(seen[path], history):<{history}} {now}")
        if any(e.status is None for e in eps):
            state = "down"
        elif any(e.status != 200 for e in eps):
            state = "degraded"
        else:
            state = "ok"
        return PanelData(state, tuple(lines))
    return fetch


def traffic_source(url: str) -> Source:
    def fetch() -> PanelData:
        m = health.probe_http(url + "/metrics", timeout=2)
        if not isinstance(m.body, dict):
            return PanelData("down", (f"no metrics: {m.error or m.status}",))
        w = m.body["windows"]["1m"]
        lat = w["latency_ms"]
        checks = [c for c in health.evaluate(health.Snapshot(taken_at=datetime.now(UTC), metrics=m.body))
                  if c.name.startswith("alert")]
        firing = [c.name.removeprefix("alert ") for c in checks if not c.ok]
        lines = (f"rate {w['rate_per_s']:.1f}/s   errors {w['error_rate']:.1%}   (last minute)",
                 f"p50 {lat['p50']:.0f} ms  p95 {lat['p95']:.0f} ms  p99 {lat['p99']:.0f} ms",
                 "alerts: " + (", ".join(firing) + " FIRING" if firing else "none firing"))
        return PanelData("degraded" if firing else "ok", lines)
    return fetch


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    secs = (now - when).total_seconds()
    return f"{secs:.0f} s" if secs < 120 else (f"{secs / 60:.0f} min" if secs < 7200 else f"{secs / 3600:.1f} h")


def postgres_source(dsn: str, exposure: Callable[[], tuple[datetime | None, datetime | None]] | None = None) -> Source:
    """Connections, transactions/s, cache hit, longest query, archiver, and RPO exposure:
    the age of the newest archived WAL and of the newest base backup."""
    last: dict[str, float] = {}

    def fetch() -> PanelData:
        p = health.probe_postgres(dsn)
        if not p.get("ok"):
            return PanelData("down", (str(p.get("error")),))
        now_m = time.monotonic()
        tps = None
        if "t" in last and now_m > last["t"]:
            tps = (p["transactions"] - last["x"]) / (now_m - last["t"])
        last.update(t=now_m, x=p["transactions"])
        conns = ", ".join(f"{k} {v}" for k, v in sorted(p["connections"].items()))
        lines = [f"connections: {conns}",
                 f"tx/s {'-' if tps is None else f'{tps:.1f}'}   cache hit {p['cache_hit_percent']}%   "
                 f"longest query {p['longest_query_s']:.1f} s",
                 f"WAL archiver: {'FAILING' if p['archiver_failing'] else 'ok'}, last {p['last_archived_wal'] or '-'}"]
        if exposure is not None:
            backup_at, wal_at = exposure()
            now = datetime.now(UTC)
            lines.append(f"RPO exposure: newest archived WAL {_ago(wal_at, now)} ago, "
                         f"newest base backup {_ago(backup_at, now)} ago")
        return PanelData("degraded" if p["archiver_failing"] else "ok", tuple(lines))
    return fetch


def compute_source(pids: Callable[[], dict[str, int | None]]) -> Source:
    """CPU (share of one core since the previous poll) and memory of each process tree."""
    from augeoctl.local.cpu import CpuSampler

    samplers: dict[str, CpuSampler] = {}
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")

    def fetch() -> PanelData:
        lines, worst = [], 0.0
        for name, pid in pids().items():
            if not pid:
                lines.append(f"{name:<10} not running")
                continue
            s = samplers.get(name)
            if s is None or s.root != pid:
                s = samplers[name] = CpuSampler(pid)
            s.max_percent = 0.0
            s.sample()
            rss = sum(_rss(p) for p in s._tree())
            worst = max(worst, s.max_percent, 100.0 * rss / total)
            lines.append(f"{name:<10} CPU {s.max_percent:5.1f}%   memory {rss / 2**20:7.1f} MiB "
                         f"({100.0 * rss / total:.1f}%)")
        return PanelData("degraded" if worst > 80.0 else "ok", tuple(lines))
    return fetch


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def alerts_source(url: str) -> Source:
    """The platform's alert rules over the service's metrics; firing ones first."""
    def fetch() -> PanelData:
        m = health.probe_http(url + "/metrics", timeout=2)
        if not isinstance(m.body, dict):
            return PanelData("error", (f"no metrics: {m.error or m.status}",))
        snap = health.Snapshot(taken_at=datetime.now(UTC), metrics=m.body,
                               memory_total_bytes=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        checks = [c for c in health.evaluate(snap) if c.name.startswith("alert")]
        checks.sort(key=lambda c: c.ok)
        lines = tuple(f"{'FIRING' if not c.ok else 'ok    '} {c.name.removeprefix('alert ')}: {c.detail}"
                      for c in checks) or ("no traffic yet",)
        return PanelData("degraded" if any(not c.ok for c in checks) else "ok", lines)
    return fetch


def redis_source(url: str) -> Source:
    def fetch() -> PanelData:
        r = health.probe_redis(url)
        if not r.get("ok"):
            return PanelData("down", (str(r.get("error")),))
        hit = "-" if r.get("hit_ratio") is None else f"{r['hit_ratio']:.1%}"
        return PanelData("ok" if r["last_save_ok"] else "degraded", (
            f"memory {r['used_memory_bytes'] / 2**20:.1f} MiB   clients {r['connected_clients']}",
            f"ops/s {r['ops_per_sec']}   hit ratio {hit}",
            f"last RDB save {r['last_save_age_s']:.0f} s ago"
            + ("" if r["last_save_ok"] else " (FAILED)")))
    return fetch


def drill_source(home: Path) -> Source:
    def fetch() -> PanelData:
        from augeoctl.drill.history import load

        drills = load(home)
        if not drills:
            return PanelData("degraded", ("no DR drill yet: run `augeoctl dr-drill`",))
        d = drills[0]
        rto = "-" if d["rto_seconds"] is None else f"{d['rto_seconds']:.1f} s"
        rpo = "-" if d["rpo_seconds"] is None else f"{d['rpo_seconds']:.1f} s"
        return PanelData("ok" if d["verdict"] == "PASS" else "degraded", (
            f"{d['verdict']}  {d['scenario']}  {d['started_at']}", f"RTO {rto}   RPO {rpo}   lost writes {d['lost_writes']}"))
    return fetch


QUERIES = Path(__file__).resolve().parents[2] / "dashboards" / "queries"


def _firing(metrics: dict[str, Any]) -> list[str]:
    checks = health.evaluate(health.Snapshot(taken_at=datetime.now(UTC), metrics=metrics))
    return [c.name.removeprefix("alert ") for c in checks if not c.ok]


def app_insights_traffic_source(env: Any, credential: Any = None, query_file: Path | None = None) -> Source:
    """The Traffic panel on Azure: ``dashboards/queries/traffic.kql`` over the workspace."""
    from augeoctl.health_azure import probe_traffic, traffic_metrics

    if not env.get("log_analytics_workspace_id"):
        raise ValueError(f"environment {env.name} has no log_analytics_workspace_id")

    def fetch() -> PanelData:
        row = probe_traffic(env, credential, query_file or QUERIES / "traffic.kql")
        if not row.get("ok"):
            return PanelData("error", (str(row.get("error")),))
        if not row.get("requests"):
            return PanelData("degraded", ("no request data in the last 5 minutes",))
        firing = _firing(traffic_metrics(row))
        return PanelData("degraded" if firing else "ok", (
            f"rate {row.get('rate_per_s') or 0:.1f}/s   errors {row.get('error_rate') or 0:.1%}",
            f"p50 {row.get('p50_ms') or 0:.0f} ms  p95 {row.get('p95_ms') or 0:.0f} ms  p99 {row.get('p99_ms') or 0:.0f} ms",
            "alerts: " + (", ".join(firing) + " FIRING" if firing else "none firing")))
    return fetch


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def azure_compute_source(env: Any, metrics: Any) -> Source:
    """CPU and memory of the App Service plan (Azure Monitor, 1-minute averages)."""
    from augeoctl.health_azure import probe_plan

    def fetch() -> PanelData:
        p = probe_plan(env, metrics)
        if not p.get("ok"):
            return PanelData("error", (str(p.get("error")),))
        at = p["at"].strftime("%H:%M") + " UTC" if p.get("at") else "no data yet"
        worst = max(p["cpu_percent"] or 0.0, p["memory_percent"] or 0.0)
        return PanelData("degraded" if worst > 80.0 else "ok", (
            f"plan {p['plan']}",
            f"CPU {_pct(p['cpu_percent'])}   memory {_pct(p['memory_percent'])}   (1-min average, {at})"))
    return fetch


def azure_alerts_source(env: Any, metrics: Any, credential: Any = None) -> Source:
    """The platform's alert rules over Application Insights traffic and the plan's metrics."""
    from augeoctl.health_azure import probe_plan, probe_traffic, traffic_metrics

    def fetch() -> PanelData:
        traffic = probe_traffic(env, credential) if env.get("log_analytics_workspace_id") else {"ok": True}
        plan = probe_plan(env, metrics) if env.get("app_service_plan") else None
        snap = health.Snapshot(taken_at=datetime.now(UTC), metrics=traffic_metrics(traffic, plan),
                               sources={"traffic": traffic, **({"plan": plan} if plan else {})})
        checks = [c for c in health.evaluate(snap) if c.name.startswith("alert") or not c.ok]
        checks.sort(key=lambda c: c.ok)
        lines = tuple(f"{'FIRING' if not c.ok else 'ok    '} {c.name.removeprefix('alert ')}: {c.detail}"
                      for c in checks) or ("no traffic yet",)
        return PanelData("degraded" if any(not c.ok for c in checks) else "ok", lines)
    return fetch


def azure_postgres_source(env: Any, metrics: Any, backend: Any = None) -> Source:
    """State and HA (ARM), connections/CPU/storage (Azure Monitor), tx/s and longest query
    (enhanced metrics), and RPO exposure: the newest backup and the earliest restore point."""
    from augeoctl.health_azure import probe_postgres

    cache: dict[str, Any] = {}

    def fetch() -> PanelData:
        p = probe_postgres(env, metrics, backend, cache)
        if "state" not in p:
            return PanelData("down" if "connect" in str(p.get("error")).lower() else "error", (str(p.get("error")),))
        now = datetime.now(UTC)
        ha = p["ha_mode"] + (f" ({p['ha_state']})" if p.get("ha_state") else "")
        lines = [f"{p['server']}: {p['state']}   HA {ha}",
                 f"connections {p['connections']['total']}   CPU {_pct(p['cpu_percent'])}   "
                 f"storage {_pct(p['storage_percent'])}"]
        if p.get("enhanced_metrics"):
            tps = "-" if p.get("tps") is None else f"{p['tps']:.1f}"
            longest = "-" if p.get("longest_query_s") is None else f"{p['longest_query_s']:.1f} s"
            lines.append(f"tx/s {tps}   longest query {longest}")
        else:
            lines.append("tx/s, longest query: set metrics.collector_database_activity=on")
        lines.append(f"RPO exposure: newest backup {_ago(p.get('newest_backup_at'), now)} ago; "
                     "WAL archived continuously by Azure (PITR RPO up to 5 min)")
        bad = p["state"] != "Ready" or (p["ha_mode"] != "Disabled" and p.get("ha_state") != "Healthy")
        return PanelData("down" if p["state"] in ("Stopped", "Disabled", "Dropping") else
                         "degraded" if bad else "ok", tuple(lines))
    return fetch


def azure_redis_source(env: Any, metrics: Any, backend: Any = None) -> Source:
    """Memory, clients, ops/s and hit ratio (Azure Monitor) and persistence (ARM)."""
    from augeoctl.health_azure import probe_redis

    def fetch() -> PanelData:
        r = probe_redis(env, metrics, backend)
        if not r.get("ok"):
            return PanelData("error", (str(r.get("error")),))
        hit = "-" if r.get("hit_ratio") is None else f"{r['hit_ratio']:.1%}"
        ops = "-" if r.get("ops_per_sec") is None else f"{r['ops_per_sec']:.0f}"
        persistence = (f"RDB every {r['rdb_frequency']}" if r["rdb_enabled"] else "RDB OFF") + (
            ", AOF on" if r.get("aof_enabled") else "")
        return PanelData("ok" if r["rdb_enabled"] else "degraded", (
            f"{r['service']} {r['name']}",
            f"memory {_pct(r.get('used_memory_percent'))}   clients {r.get('connected_clients', '-')}",
            f"ops/s {ops}   hit ratio {hit}",
            f"persistence: {persistence}"))
    return fetch


def azure_sources(env: Any, home: Path, credential: Any = None) -> dict[str, Source]:
    """The panels of an Azure environment, from the sources its config names."""
    from augeoctl.backends.azure_monitor import AzureMetrics

    metrics = AzureMetrics(env, credential)
    sources: dict[str, Source] = {}
    for key, title in (("api_url", "API"), ("admin_url", "Admin")):
        if env.get(key):
            sources[title] = service_source(str(env.get(key)).rstrip("/"))
    if env.get("log_analytics_workspace_id"):
        sources["Traffic"] = app_insights_traffic_source(env, credential)
    if env.get("log_analytics_workspace_id") or env.get("app_service_plan"):
        sources["Alerts"] = azure_alerts_source(env, metrics, credential)
    if env.get("app_service_plan"):
        sources["Compute"] = azure_compute_source(env, metrics)
    sources["PostgreSQL"] = azure_postgres_source(env, metrics)
    if env.get("redis_name"):
        sources["Redis"] = azure_redis_source(env, metrics)
    sources["Last DR drill"] = drill_source(home)
    return sources


def local_sources(sandbox: Any) -> dict[str, Source]:
    from augeoctl.backends.local_pg import LocalPostgresBackend

    status = sandbox.status()
    app = status.app.url if status.app and status.app.url else "http://127.0.0.1:9"

    def exposure() -> tuple[datetime | None, datetime | None]:
        backups = LocalPostgresBackend(sandbox).list_backups()
        mtimes = [p.stat().st_mtime for p in sandbox.wal_archive.iterdir() if len(p.name) == 24] \
            if sandbox.wal_archive.exists() else []
        return (backups[-1].finished_at if backups else None,
                datetime.fromtimestamp(max(mtimes), UTC) if mtimes else None)

    def pids() -> dict[str, int | None]:
        st = sandbox.status()
        return {"postgres": st.postgres.pid, "redis": st.redis.pid, "service": st.app.pid if st.app else None}

    return {
        "Service": service_source(app),
        "Traffic": traffic_source(app),
        "Alerts": alerts_source(app),
        "Compute": compute_source(pids),
        "PostgreSQL": postgres_source(status.postgres.url or "postgresql://127.0.0.1:9/x", exposure),
        "Redis": redis_source(status.redis.url or "redis://127.0.0.1:9/0"),
        "Last DR drill": drill_source(sandbox.home),
    }
