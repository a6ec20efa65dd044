"""Locust's distributed mode on loopback (a master here, workers started as another
machine would start them), and the default target: the sandbox's reference service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from augeoctl.config import Environment, Settings
from augeoctl.local import procs, tools
from augeoctl.local import service as runner
from augeoctl.platform.local import LocalPlatform
from augeoctl.platform.local_ops import own_service
from augeoctl.progress import NullReporter
from tests.conftest import REPO, SandboxHandle, run_cli

pytestmark = pytest.mark.integration

QUICK = """
[profiles.quick]
users = 6
spawn_rate = 6
run_time = "6s"
[profiles.quick.gates]
p95_ms = 1000
error_rate = 0.05
min_rps = 1
[profiles.quick.endpoints."GET /api/users/[id]".gates]
p95_ms = 1000
"""


def worker(port: int) -> subprocess.Popen[bytes]:
    """A Locust worker as it runs on another machine: it only knows the master's address."""
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(REPO / "loadtests" / "locustfile.py"), "--worker",
         "--master-host", "127.0.0.1", "--master-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def test_a_master_runs_the_profile_on_two_remote_workers(sandbox: SandboxHandle, tmp_path: Path) -> None:
    slo = tmp_path / "slo.toml"
    slo.write_text(QUICK)
    port = tools.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
    env["AUGEO_HOME"] = str(sandbox.home)
    master = subprocess.Popen(
        [sys.executable, "-m", "augeoctl", "loadtest", "run", "--profile", "quick", "--slo-file", str(slo),
         "--expect-workers", "2", "--master-bind-port", str(port), "--worker-wait", "60",
         "--results", str(tmp_path / "r"), "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    workers = []
    try:
        deadline = time.monotonic() + 60
        while not tools.port_in_use(port) and master.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [worker(port), worker(port)]
        out, err = master.communicate(timeout=180)
    finally:
        for p in [master, *workers]:
            if p.poll() is None:
                p.kill()
            p.wait()
    assert master.returncode == 0, err
    data = json.loads(out)
    assert data["verdict"] == "PASS" and data["mode"] == "master" and data["workers"] == 2
    assert data["totals"]["requests"] > 0
    assert (tmp_path / "r" / "locust_stats.csv").exists()


def test_a_master_whose_workers_never_come_fails_with_the_connectivity_code(tmp_path: Path) -> None:
    slo = tmp_path / "slo.toml"
    slo.write_text(QUICK)
    class Ok(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r = run_cli("loadtest", "run", "--profile", "quick", "--slo-file", str(slo), "--expect-workers", "1",
                    "--master-bind-port", str(tools.free_port()), "--worker-wait", "2",
                    "--host", f"http://127.0.0.1:{server.server_address[1]}", "--results", str(tmp_path / "r"))
    finally:
        server.shutdown()
    assert r.returncode == 3, r
    assert "did not connect" in r.stderr


def test_the_default_target_is_the_sandbox_service(sandbox: SandboxHandle, tmp_path: Path) -> None:
    settings = Settings(env=Environment("local", "local", {}), home=sandbox.home)
    url = LocalPlatform(settings).service_url(NullReporter())
    assert url == sandbox.sandbox.app_url()
    assert runner.wait_ready(url, 5)


def test_without_a_sandbox_service_one_is_started_and_reused(sandbox: SandboxHandle, tmp_path: Path) -> None:
    folder = tmp_path / "svc"
    url = own_service(sandbox.sandbox, folder, NullReporter())
    try:
        assert url != sandbox.sandbox.app_url() and runner.wait_ready(url, 5)
        pid = procs.read_pid(folder / "service.pid")  # the first line: the pid
        assert own_service(sandbox.sandbox, folder, NullReporter()) == url  # reused, not a second one
        assert procs.read_pid(folder / "service.pid") == pid
    finally:
        runner.stop_service(folder / "service.pid")
    assert not tools.pid_alive(pid)
