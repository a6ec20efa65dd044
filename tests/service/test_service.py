"""The reference service against the sandbox's real PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from augeoctl.local import service as runner
from augeoctl.local import tools
from augeoctl.service.stats import Recorder, Sample, percentile, summarize
from tests.conftest import SandboxHandle, wait_for, wait_gone


def get(url: str) -> tuple[int, dict, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), dict(exc.headers)


def post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 95) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_summary_windows_rates_errors_and_endpoints() -> None:
    now = 1000.0
    samples = [Sample(now - 10, "GET /a", 200, 10.0), Sample(now - 20, "GET /a", 500, 30.0),
               Sample(now - 30, "GET /b", 200, 20.0), Sample(now - 200, "GET /b", 200, 99.0)]
    one = summarize(samples, now, 60)
    assert one["requests"] == 3 and one["errors"] == 1
    assert one["error_rate"] == round(1 / 3, 4)
    assert one["rate_per_s"] == round(3 / 60, 3)
    assert one["latency_ms"]["avg"] == 20.0 and one["latency_ms"]["p95"] == 30.0
    assert one["endpoints"]["GET /a"]["requests"] == 2
    five = summarize(samples, now, 300)
    assert five["requests"] == 4 and five["latency_ms"]["p99"] == 99.0
    rec = Recorder()
    rec.add("GET /x", 200, 5.0)
    assert rec.snapshot()["1m"]["requests"] == 1


@pytest.mark.integration
def test_service_endpoints_and_readiness(sandbox: SandboxHandle) -> None:
    url = sandbox.sandbox.app_url()
    status, body, _ = get(url + "/health")
    assert status == 200 and body == {"status": "ok", "release": "1.0.0"}  # a new sandbox's first release
    status, body, _ = get(url + "/health/live")
    assert status == 200 and body["status"] == "alive"
    status, body, _ = get(url + "/health/ready")
    assert status == 200 and body["checks"]["postgres"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["postgres"]["latency_ms"] >= 0
    orgs = get(url + "/api/organizations")[1]
    assert len(orgs) == 10
    sandbox.sql("SELECT 1")
    _, first, h1 = get(url + "/api/users/7")
    _, second, h2 = get(url + "/api/users/7")
    assert first == second and first["id"] == 7
    assert h1.get("x-cache") == "miss" and h2.get("x-cache") == "hit"
    assert get(url + "/api/users/99999")[0] == 404
    status, made = post(url + "/api/events", {"user_id": 7, "kind": "test", "payload": {"a": 1}})
    assert status == 201
    assert sandbox.sql("SELECT kind FROM app.events WHERE id = %s", (made["id"],))[0][0] == "test"
    assert post(url + "/api/events", {"user_id": 0, "kind": "x"})[0] == 422
    events = get(url + "/api/users/7/events?limit=5")[1]
    assert events[0]["id"] == made["id"] and len(events) <= 5
    metrics = get(url + "/metrics")[1]
    assert metrics["windows"]["1m"]["requests"] >= 9
    assert "GET /api/users/{user_id}" in metrics["windows"]["1m"]["endpoints"]
    assert metrics["process"]["rss_bytes"] > 0


@pytest.mark.integration
def test_readiness_turns_503_fast_when_redis_dies_and_recovers(home: Path) -> None:
    handle = SandboxHandle(home)
    handle.up()
    try:
        url = handle.sandbox.app_url()
        redis_pid = handle.sandbox.status().redis.pid
        os.kill(redis_pid, signal.SIGKILL)
        wait_gone(redis_pid)
        status, body, _ = wait_for(lambda: (r := get(url + "/health/ready"))[0] == 503 and r,
                                   what="/health/ready answering 503")
        assert body["status"] == "not-ready"
        assert body["checks"]["redis"]["ok"] is False and body["checks"]["postgres"]["ok"] is True
        assert get(url + "/health")[0] == 200  # the process itself is up
        handle.up()  # restarts Redis
        wait_for(lambda: get(url + "/health/ready")[0] == 200, what="/health/ready answering 200")
    finally:
        handle.down()


@pytest.mark.integration
def test_runner_starts_and_stops_a_service(sandbox: SandboxHandle, tmp_path) -> None:
    port = tools.free_port()
    pid_path = tmp_path / "svc.pid"
    runner.start_service(port, sandbox.sandbox.dsn(), sandbox.sandbox.redis_url(), tmp_path / "svc.log", pid_path)
    try:
        assert runner.wait_ready(f"http://127.0.0.1:{port}", 30)
    finally:
        runner.stop_service(pid_path)
    assert not tools.port_in_use(port)
    assert not pid_path.exists()
