"""Starting and stopping the reference service (augeoctl.service) as a background process on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from augeoctl.local import procs


def start_service(port: int, pg_dsn: str, redis_url: str, log_path: Path, pid_path: Path,
                  workers: int = 1) -> int:
    """Run the service under uvicorn on 127.0.0.1:PORT in its own session; returns its pid."""
    env = {**os.environ, "AUGEO_SERVICE_PG_DSN": pg_dsn, "AUGEO_SERVICE_REDIS_URL": redis_url}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "augeoctl.service.app:app_from_env",
             "--host", procs.LOOPBACK, "--port", str(port), "--workers", str(workers),
             "--log-level", "warning", "--no-access-log"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    pid_path.write_text(str(proc.pid))
    return proc.pid


def stop_service(pid_path: Path, timeout: float = 10) -> None:
    """Stop the service of a pid file, with its workers (they share its session)."""
    procs.stop(procs.read_pid(pid_path), timeout=timeout, group=True)
    pid_path.unlink(missing_ok=True)


def wait_ready(url: str, timeout: float) -> bool:
    """Wait until ``URL/health`` answers 200."""

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    return procs.wait_until(healthy, timeout, 0.1)
