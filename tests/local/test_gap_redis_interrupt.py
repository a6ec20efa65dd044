"""WAL gaps, Redis RDB backups and interrupted restores, on real servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime

import psycopg
import pytest
import redis

from augeoctl.timeparse import format_time
from tests.conftest import SandboxHandle, run_cli

pytestmark = pytest.mark.integration


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _commit_times(sb: SandboxHandle, table: str) -> list[datetime]:
    return [r[0] for r in sb.sql(f"SELECT pg_xact_commit_timestamp(xmin) FROM {table} ORDER BY 1")]


def test_wal_gap_is_named_and_restores_past_it_are_refused(sandbox) -> None:
    sb = sandbox
    sb.sql("CREATE TABLE gap_rows (n int)")
    r = run_cli("backup", "create", "-o", "json", home=sb.home)
    assert r.returncode == 0, r
    segments = []
    for batch in range(4):
        for i in range(5):
            sb.sql("INSERT INTO gap_rows VALUES (%s)", (batch * 10 + i,))
        segments.append(sb.switch_wal_and_wait())
    times = _commit_times(sb, "gap_rows")
    victim = segments[1]  # holds batch 1
    (sb.sandbox.wal_archive / victim).unlink()

    v = run_cli("backup", "verify", "-o", "json", home=sb.home)
    assert v.returncode == 4, v
    result = v.json()["results"][0]
    assert victim in result["missing_segments"]
    assert any(victim in c["detail"] for c in result["checks"] if not c["ok"])
    text = run_cli("backup", "verify", home=sb.home)
    assert victim in text.stdout and text.returncode == 4

    listing = run_cli("backup", "list", "-o", "json", home=sb.home).json()
    assert victim in listing["window"]["missing_segments"]

    past_gap = times[-2]  # batch 3, beyond the missing segment
    refused = run_cli("restore", "--to-time", format_time(past_gap), home=sb.home)
    assert refused.returncode == 2, refused
    assert "WAL gap" in refused.stderr and victim in refused.stderr
    assert "restorable window" in refused.stderr
    assert not any(sb.sandbox.targets_dir.iterdir())

    before_gap = times[2]  # batch 0, before the missing segment
    ok = run_cli("restore", "--to-time", format_time(before_gap), "--target", "before-gap",
                 "-o", "json", home=sb.home)
    assert ok.returncode == 0, ok
    with psycopg.connect(ok.json()["dsn"]) as conn:
        assert conn.execute("SELECT count(*) FROM gap_rows").fetchone()[0] == 3
    run_cli("targets", "drop", "before-gap", "--yes", home=sb.home)


def test_redis_backup_is_verified_by_loading_it(sandbox) -> None:
    sb = sandbox
    url = sb.sandbox.redis_url()
    client = redis.Redis.from_url(url)
    client.flushall()
    for i in range(300):
        client.set(f"user:{i}", f"value-{i}")
    client.hset("profile:1", mapping={"name": "Ada", "plan": "pro"})
    r = run_cli("backup", "create", "--redis", "-o", "json", home=sb.home)
    assert r.returncode == 0, r
    made = r.json()["backups"][0]
    assert made["kind"] == "redis" and made["extra"]["key_count"] == 301
    # Changes after the snapshot must not matter to its verification.
    client.set("user:1", "changed later")
    client.delete("user:2")
    v = run_cli("backup", "verify", made["id"], "-o", "json", home=sb.home)
    assert v.returncode == 0, v
    checks = {c["name"]: c for c in v.json()["results"][0]["checks"]}
    assert checks["key-count"]["ok"] and "301 keys" in checks["key-count"]["detail"]
    assert checks["sample"]["ok"] and checks["checksum"]["ok"]

    # A damaged copy fails verification.
    rdb = sb.sandbox.redis_store / made["id"] / "dump.rdb"
    data = bytearray(rdb.read_bytes())
    data[len(data) // 2] ^= 0xFF
    rdb.write_bytes(bytes(data))
    bad = run_cli("backup", "verify", made["id"], "-o", "json", home=sb.home)
    assert bad.returncode == 4, bad
    failed = {c["name"] for c in bad.json()["results"][0]["checks"] if not c["ok"]}
    assert "checksum" in failed


def _big_table(sb: SandboxHandle) -> None:
    sb.sql("CREATE TABLE IF NOT EXISTS bulk AS SELECT g, repeat(md5(g::text), 8) AS pad "
           "FROM generate_series(1, 700000) g")


def _spawn_restore(sb: SandboxHandle, target: str) -> subprocess.Popen[str]:
    import shutil
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
    env["AUGEO_HOME"] = str(sb.home)
    exe = shutil.which("augeoctl")
    cmd = [exe] if exe else [sys.executable, "-m", "augeoctl"]
    return subprocess.Popen([*cmd, "restore", "--latest", "--target", target],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_started(sb: SandboxHandle, target: str, proc: subprocess.Popen[str]) -> None:
    state = sb.sandbox.targets_dir / target / "target.json"
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.002)
    assert state.exists()


def test_killed_restore_is_cleaned_up_by_the_rerun(sandbox) -> None:
    sb = sandbox
    _big_table(sb)
    assert run_cli("backup", "create", home=sb.home).returncode == 0
    sb.switch_wal_and_wait()
    proc = _spawn_restore(sb, "killed")
    _wait_started(sb, "killed", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    state = json.loads((sb.sandbox.targets_dir / "killed" / "target.json").read_text())
    assert state["status"] == "in-progress"  # half-made, never marked good
    listed = run_cli("targets", "list", "-o", "json", home=sb.home).json()["targets"]
    assert {t["name"]: t["status"] for t in listed}["killed"] == "interrupted"

    rerun = run_cli("restore", "--latest", "--target", "killed", "-o", "json", home=sb.home)
    assert rerun.returncode == 0, rerun
    assert "removing half-made target \"killed\"" in rerun.stderr
    assert rerun.json()["cleaned_up"] == ["killed"]
    with psycopg.connect(rerun.json()["dsn"]) as conn:
        assert conn.execute("SELECT count(*) FROM bulk").fetchone()[0] == 700000
    run_cli("targets", "drop", "killed", "--yes", home=sb.home)


def test_ctrl_c_removes_the_half_made_target(sandbox) -> None:
    sb = sandbox
    _big_table(sb)
    if not any(b for b in run_cli("backup", "list", "-o", "json", home=sb.home).json()["backups"]):
        assert run_cli("backup", "create", home=sb.home).returncode == 0
    proc = _spawn_restore(sb, "interrupted")
    _wait_started(sb, "interrupted", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    assert not (sb.sandbox.targets_dir / "interrupted").exists()


def test_archive_command_is_atomic_and_never_overwrites_different_content(tmp_path) -> None:
    from augeoctl.local.sandbox import ARCHIVE_SCRIPT

    script = tmp_path / "archive-wal.sh"
    script.write_text(ARCHIVE_SCRIPT)
    script.chmod(0o755)
    archive = tmp_path / "archive"
    archive.mkdir()
    seg = tmp_path / "000000010000000000000007"
    seg.write_bytes(b"A" * 4096)
    run = lambda: subprocess.run([str(script), str(seg), seg.name, str(archive)], capture_output=True, text=True)  # noqa: E731
    assert run().returncode == 0
    assert (archive / seg.name).read_bytes() == b"A" * 4096
    assert not [p for p in archive.iterdir() if p.name.endswith(".tmp")]
    assert run().returncode == 0  # a retried archive of the same segment is accepted
    seg.write_bytes(b"B" * 4096)
    refused = run()
    assert refused.returncode == 1 and "refusing to overwrite" in refused.stderr
    assert (archive / seg.name).read_bytes() == b"A" * 4096
