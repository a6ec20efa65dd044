"""`augeoctl health`: alert rules as pure functions, and the command on a real sandbox."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from augeoctl.health import (
    BackupReading,
    EndpointReading,
    PostgresReading,
    ProcessReading,
    RedisReading,
    Snapshot,
    Thresholds,
    TrafficReading,
    Unreachable,
    evaluate,
)
from tests.conftest import SandboxHandle, run_cli, wait_gone

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def process(cpu_percent: float, rss_bytes: int) -> ProcessReading:
    return ProcessReading(cpu_percent=cpu_percent, rss_bytes=rss_bytes, memory_total_bytes=8 * 2**30)


def snapshot(**changes) -> Snapshot:
    base = dict(
        taken_at=NOW,
        endpoints=(EndpointReading("http://127.0.0.1:1/health/ready", 200, 4.0, {"status": "ready"}),),
        traffic=TrafficReading(requests=100, error_rate=0.01, avg_ms=120.0),
        compute=process(cpu_percent=12.0, rss_bytes=100 * 2**20),
        postgres=PostgresReading(connections={"active": 1}, cache_hit_percent=99.0,
                                 last_archived_wal="000000010000000000000003", archiver_failing=False),
        redis=RedisReading(connected_clients=2, last_save_age_s=30.0, last_save_ok=True),
        backups=BackupReading(newest_backup_at=NOW - timedelta(hours=3)),
    )
    base.update(changes)
    return Snapshot(**base)  # type: ignore[arg-type]


def failed(s: Snapshot, t: Thresholds | None = None) -> set[str]:
    return {c.name for c in evaluate(s, t) if not c.ok}


def test_a_healthy_snapshot_passes_every_check() -> None:
    checks = evaluate(snapshot())
    assert checks and all(c.ok for c in checks)
    assert {"alert error-rate", "alert response-time", "alert cpu", "alert memory", "postgres",
            "wal-archiver", "redis", "backup-age", "http /health/ready"} == {c.name for c in checks}


def test_each_alert_rule_fires_at_its_threshold() -> None:
    hot = {"traffic": TrafficReading(requests=100, error_rate=0.06, avg_ms=3100.0),
           "compute": process(cpu_percent=81.0, rss_bytes=int(0.81 * 8 * 2**30))}
    assert failed(snapshot(**hot)) == {"alert error-rate", "alert response-time", "alert cpu", "alert memory"}
    edge = {"traffic": TrafficReading(requests=100, error_rate=0.05, avg_ms=3000.0),
            "compute": process(cpu_percent=80.0, rss_bytes=int(0.8 * 8 * 2**30))}
    assert failed(snapshot(**edge)) == set()


def test_unreachable_and_unready_dependencies_fail() -> None:
    s = snapshot(
        endpoints=(EndpointReading("http://127.0.0.1:1/health/ready", 503, 5.0,
                                   {"status": "not-ready", "checks": {"redis": {"ok": False}, "postgres": {"ok": True}}}),
                   EndpointReading("http://127.0.0.1:1/health", None, None, error="refused")),
        redis=Unreachable("Connection refused"),
        postgres=PostgresReading(connections={}, archiver_failing=True, last_archived_wal=None),
        backups=BackupReading(newest_backup_at=NOW - timedelta(hours=30)),
    )
    bad = {c.name: c.detail for c in evaluate(s) if not c.ok}
    assert "not ready: redis" in bad["http /health/ready"]
    assert "unreachable" in bad["http /health"] and "unreachable" in bad["redis"]
    assert set(bad) >= {"wal-archiver", "backup-age"}


def test_archive_lag_is_the_wal_past_the_newest_archived_segment() -> None:
    from augeoctl.health.local import archive_lag_bytes

    seg = 16 * 2**20
    assert archive_lag_bytes(0x4000100, "000000010000000000000003", seg) == 0x100  # 0/4000100
    assert archive_lag_bytes(0x3FFFF00, "000000010000000000000003", seg) == 0  # the next one is not begun
    assert archive_lag_bytes(2**32 + 0x0C000000, "00000002000000010000000A", seg) == seg  # 1/C000000
    assert archive_lag_bytes(0x6000000, "000000010000000000000003.00000028.backup", seg) == 2 * seg
    for name in (None, "00000002.history", "000000010000000000000005.partial"):
        assert archive_lag_bytes(0x6000000, name, seg) is None


@pytest.mark.integration
def test_health_exit_codes_on_a_real_sandbox(home: Path) -> None:
    handle = SandboxHandle(home)
    handle.up()
    try:
        assert run_cli("backup", "create", home=home).returncode == 0
        ok = run_cli("health", "-o", "json", home=home)
        assert ok.returncode == 0, ok
        assert ok.json()["healthy"] is True
        redis_pid = handle.sandbox.status().redis.pid
        os.kill(redis_pid, signal.SIGKILL)
        wait_gone(redis_pid)
        bad = run_cli("health", home=home)
        assert bad.returncode == 4, bad
        assert "FAIL redis" in bad.stdout and "not ready: redis" in bad.stdout
        assert "UNHEALTHY" in bad.stdout and "Traceback" not in bad.stderr
    finally:
        handle.down()
