"""Starting and stopping the reference service as a background process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def start_service(port: int, pg_dsn: str, redis_url: str, log_path: Path, pid_path: Path,
                  workers: int = 1) -> int:
    """Run the service under uvicorn on 127.0.0.1:PORT in its own session; returns its pid."""
    env = {**os.environ, "AUGEO_SERVICE_PG_DSN": pg_dsn, "AUGEO_SERVICE_REDIS_URL": redis_url}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "augeoctl.service.app:app_from_env",
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
             "--log-level", "warning", "--no-access-log"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    pid_path.write_text(str(proc.pid))
    return proc.pid


def stop_service(pid_path: Path, timeout: float = 10) -> None:
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.killpg(pid, signal.SIGTERM)  # uvicorn and its workers share the session
    except ProcessLookupError:
        pid_path.unlink(missing_ok=True)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
        except ChildProcessError:
            pass
        time.sleep(0.05)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    pid_path.unlink(missing_ok=True)


def wait_ready(url: str, timeout: float) -> bool:
    """Wait until ``URL/health`` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False
