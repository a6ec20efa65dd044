"""Starting, reloading and stopping the reference service (augeoctl.service) on loopback.

It runs as the Augeo backend does in production: gunicorn with uvicorn workers. gunicorn
keeps the listening socket in its master; on SIGHUP it starts new workers (which read the
slot's release record afresh) and stops the old ones gracefully, so a reload fails no
request in flight.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from augeoctl.local import procs

GRACEFUL_TIMEOUT = 30  # seconds an old worker may take to finish its requests on reload


def start_service(port: int, pg_dsn: str, redis_url: str, log_path: Path, pid_path: Path,
                  workers: int = 1, *, slots_file: Path | None = None, slot: str | None = None) -> int:
    """Run the service under gunicorn (uvicorn workers) on 127.0.0.1:PORT in its own
    session; returns the master's pid. With ``slots_file`` and ``slot``, each worker
    serves the release that slot's record names when it starts."""
    env = {**os.environ, "AUGEO_SERVICE_PG_DSN": pg_dsn, "AUGEO_SERVICE_REDIS_URL": redis_url}
    if slots_file is not None and slot is not None:
        env.update(AUGEO_SERVICE_SLOTS_FILE=str(slots_file), AUGEO_SERVICE_SLOT=slot)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--worker-class", "augeoctl.service.worker.UvicornWorker",
             "--workers", str(workers), "--bind", f"{procs.LOOPBACK}:{port}",
             "--graceful-timeout", str(GRACEFUL_TIMEOUT), "--log-level", "warning",
             "augeoctl.service.app:app_from_env()"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    pid_path.write_text(f"{proc.pid}\n{sys.executable}\n")  # the pid, then the Python that runs it
    return proc.pid


def started_here(pid_path: Path) -> bool:
    """Whether the service of a pid file runs this augeoctl's Python. One started by another
    installation (another virtualenv, perhaps removed since) would fork its workers from
    that one's code on a reload, or fail to import it."""
    try:
        lines = pid_path.read_text().splitlines()
    except OSError:
        return False
    return len(lines) > 1 and lines[1] == sys.executable


def reload_service(pid_path: Path) -> bool:
    """Reload gracefully (SIGHUP to gunicorn's master); False when it is not running."""
    pid = procs.read_pid(pid_path)
    if pid is None or not procs.alive(pid):
        return False
    os.kill(pid, signal.SIGHUP)
    return True


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
