"""One-shot health of an environment: probes that return frozen snapshots, and pure verdicts.

The probes read the service's health endpoints and ``/metrics``, PostgreSQL (connections,
WAL archiver), Redis (reachability, last RDB save) and the backup store (age of the
newest base backup and of the newest archived WAL: the current RPO exposure). ``evaluate``
turns a snapshot into checks against the platform's alert thresholds; it needs no
servers. The live dashboard polls the same probes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from augeoctl.backends.base import Check


@dataclass(frozen=True)
class Thresholds:
    error_rate: float = 0.05  # over the last 5 minutes
    avg_response_ms: float = 3000.0
    cpu_percent: float = 80.0
    memory_percent: float = 80.0
    backup_age_s: float = 26 * 3600.0  # a daily backup, with slack


@dataclass(frozen=True)
class Endpoint:
    url: str
    status: int | None
    latency_ms: float | None
    body: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    endpoints: tuple[Endpoint, ...] = ()
    metrics: dict[str, Any] | None = None
    postgres: dict[str, Any] = field(default_factory=dict)
    redis: dict[str, Any] = field(default_factory=dict)
    backups: dict[str, Any] = field(default_factory=dict)
    memory_total_bytes: int | None = None
    sources: dict[str, Any] = field(default_factory=dict)  # Azure: traffic (App Insights), plan (metrics)


def probe_http(url: str, timeout: float = 3.0) -> Endpoint:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:
        return Endpoint(url, None, None, error=str(getattr(exc, "reason", exc)))
    latency = (time.perf_counter() - start) * 1000
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw[:200].decode("utf-8", "replace")
    return Endpoint(url, status, round(latency, 2), body)


def probe_postgres(dsn: str) -> dict[str, Any]:
    import psycopg

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
    except psycopg.Error as exc:
        return {"ok": False, "error": str(exc).strip().splitlines()[0]}
    assert arch is not None
    return {
        "ok": True, "connections": {str(k): int(v) for k, v in states.items()},
        "cache_hit_percent": float(hit[0]) if hit and hit[0] is not None else None,
        "transactions": int(hit[1]) if hit and hit[1] is not None else 0,
        "longest_query_s": float(longest[0]) if longest else 0.0,
        "last_archived_wal": arch[0], "last_archived_at": arch[1],
        "archiver_failing": bool(arch[3] and (arch[1] is None or arch[3] > arch[1])),
    }


def probe_redis(url: str) -> dict[str, Any]:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        info = client.info()
    except redis.exceptions.RedisError as exc:
        return {"ok": False, "error": str(exc)}
    return {
        "ok": True, "used_memory_bytes": info.get("used_memory"),
        "connected_clients": info.get("connected_clients"),
        "ops_per_sec": info.get("instantaneous_ops_per_sec"),
        "hit_ratio": (info.get("keyspace_hits", 0) / (info.get("keyspace_hits", 0) + info.get("keyspace_misses", 0))
                      if info.get("keyspace_hits", 0) + info.get("keyspace_misses", 0) else None),
        "last_save_age_s": time.time() - float(info.get("rdb_last_save_time", time.time())),
        "last_save_ok": info.get("rdb_last_bgsave_status") == "ok",
    }


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def evaluate(s: Snapshot, t: Thresholds | None = None) -> list[Check]:
    """Checks over a snapshot; a failed check means unhealthy."""
    t = t or Thresholds()
    checks: list[Check] = []
    hosts = {urllib.parse.urlparse(e.url).netloc for e in s.endpoints}
    for e in s.endpoints:
        u = urllib.parse.urlparse(e.url)
        name = "http " + (u.netloc if len(hosts) > 1 else "") + (u.path or "/")
        if e.status is None:
            checks.append(Check(name, False, f"unreachable: {e.error}"))
        else:
            detail = f"HTTP {e.status} in {e.latency_ms:.0f} ms"
            if e.status != 200 and isinstance(e.body, dict) and "checks" in e.body:
                bad = [k for k, v in e.body["checks"].items() if not v.get("ok")]
                detail += f"; not ready: {', '.join(bad)}"
            checks.append(Check(name, e.status == 200, detail))
    for source, label in (("traffic", "app-insights"), ("plan", "app-service-plan")):
        got = s.sources.get(source)
        if got is not None and not got.get("ok"):
            checks.append(Check(label, False, f"cannot read: {got.get('error')}"))
    if s.metrics:
        w = s.metrics.get("windows", {}).get("5m", {})
        if w.get("requests"):
            er = float(w.get("error_rate", 0.0))
            checks.append(Check("alert error-rate", er <= t.error_rate,
                                f"{er:.1%} of {w['requests']} requests in 5 min failed (alert above {t.error_rate:.0%})"))
            avg = float(w.get("latency_ms", {}).get("avg", 0.0))
            checks.append(Check("alert response-time", avg <= t.avg_response_ms,
                                f"average {avg:.0f} ms (alert above {t.avg_response_ms:.0f} ms)"))
        proc = s.metrics.get("process", {})
        scope = proc.get("scope", "service")
        if proc.get("cpu_percent") is not None:
            checks.append(Check("alert cpu", proc["cpu_percent"] <= t.cpu_percent,
                                f"{scope} CPU {proc['cpu_percent']:.0f}% (alert above {t.cpu_percent:.0f}%)"))
        if proc.get("memory_percent") is not None:
            pct = float(proc["memory_percent"])
            checks.append(Check("alert memory", pct <= t.memory_percent,
                                f"{scope} memory {pct:.1f}% (alert above {t.memory_percent:.0f}%)"))
        elif proc.get("rss_bytes") and s.memory_total_bytes:
            pct = 100.0 * proc["rss_bytes"] / s.memory_total_bytes
            checks.append(Check("alert memory", pct <= t.memory_percent,
                                f"{scope} memory {pct:.1f}% of the machine (alert above {t.memory_percent:.0f}%)"))
    if s.postgres:
        if not s.postgres.get("ok"):
            where = "" if "state" in s.postgres else "unreachable: "
            checks.append(Check("postgres", False, f"{where}{s.postgres.get('error')}"))
        else:
            pg = s.postgres
            conns = sum(pg.get("connections", {}).values())
            parts = [f"{conns} connections"]
            if pg.get("state"):
                parts.insert(0, f"{pg.get('server')} {pg['state']}")
            if pg.get("cache_hit_percent") is not None:
                parts.append(f"cache hit {pg['cache_hit_percent']}%")
            for key, label in (("cpu_percent", "CPU"), ("storage_percent", "storage")):
                if pg.get(key) is not None:
                    parts.append(f"{label} {pg[key]:.0f}%")
            checks.append(Check("postgres", True, ", ".join(parts)))
            if "archiver_failing" in pg:
                checks.append(Check("wal-archiver", not pg.get("archiver_failing"),
                                    "archiving fails" if pg.get("archiver_failing")
                                    else f"last archived {pg.get('last_archived_wal') or '-'}"))
            if pg.get("ha_mode") not in (None, "Disabled"):
                healthy_ha = pg.get("ha_state") == "Healthy"
                checks.append(Check("postgres-ha", healthy_ha,
                                    f"{pg['ha_mode']} high availability {pg.get('ha_state') or 'unknown'}"))
    if s.redis:
        if not s.redis.get("ok"):
            checks.append(Check("redis", False, f"unreachable: {s.redis.get('error')}"))
        elif "rdb_enabled" in s.redis:  # Azure: the service persists; augeoctl checks it is set to
            rd = s.redis
            mem = rd.get("used_memory_percent")
            checks.append(Check("redis", bool(rd["rdb_enabled"]),
                                f"{rd.get('service')} {rd.get('name')}: "
                                + (f"RDB persistence every {rd.get('rdb_frequency')}" if rd["rdb_enabled"]
                                   else "RDB persistence OFF (the platform requires it)")
                                + ("" if mem is None else f", memory {mem:.0f}%")
                                + ("" if rd.get("connected_clients") is None
                                   else f", {rd['connected_clients']} clients")))
        else:
            checks.append(Check("redis", bool(s.redis.get("last_save_ok")),
                                f"{s.redis.get('connected_clients')} clients, last RDB save "
                                f"{s.redis.get('last_save_age_s', 0):.0f} s ago"
                                + ("" if s.redis.get("last_save_ok") else ", the last save FAILED")))
    if s.backups:
        age = _age(s.taken_at, s.backups.get("newest_backup_at"))
        checks.append(Check("backup-age", age is not None and age <= t.backup_age_s,
                            "no base backup" if age is None else f"newest base backup {age / 3600:.1f} h old"))
    return checks


def local_snapshot(sandbox: Any) -> Snapshot:
    """Probe the local sandbox: its service, PostgreSQL, Redis and backup store."""
    import os

    from augeoctl.backends.local_pg import LocalPostgresBackend

    status = sandbox.status()
    endpoints: list[Endpoint] = []
    metrics = None
    if status.app and status.app.url:
        for path in ("/health", "/health/live", "/health/ready"):
            endpoints.append(probe_http(status.app.url + path))
        m = probe_http(status.app.url + "/metrics")
        metrics = m.body if isinstance(m.body, dict) else None
    pg = probe_postgres(status.postgres.url) if status.postgres.url else {"ok": False, "error": "not created"}
    rd = probe_redis(status.redis.url) if status.redis.url else {"ok": False, "error": "not created"}
    backups = LocalPostgresBackend(sandbox).list_backups()
    newest_wal = None
    if sandbox.wal_archive.exists():
        mtimes = [p.stat().st_mtime for p in sandbox.wal_archive.iterdir() if len(p.name) == 24]
        if mtimes:
            newest_wal = datetime.fromtimestamp(max(mtimes), UTC)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = None
    return Snapshot(
        taken_at=datetime.now(UTC), endpoints=tuple(endpoints), metrics=metrics, postgres=pg, redis=rd,
        backups={"newest_backup_at": backups[-1].finished_at if backups else None, "newest_wal_at": newest_wal},
        memory_total_bytes=total,
    )
