"""Process plumbing for the sandbox's servers: pid files, stop-and-wait, polls, ports.

Every server the sandbox or a restore starts is found through a pid file, stopped by a
signal followed by a wait, and waited for by polling; these helpers are the one copy of
that logic. Loopback ports live here too: finding a free one and waiting for one to answer.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from augeoctl.errors import AugeoError

LOOPBACK = "127.0.0.1"
POLL_INTERVAL = 0.05


# ---------------------------------------------------------------------------
# Processes


def alive(pid: int | None) -> bool:
    """Whether a process exists and is not a zombie waiting to be reaped."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): look at its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return True


def start_ticks(pid: int | None) -> int | None:
    """When a process started (clock ticks since boot, /proc/PID/stat field 22); None when
    it is gone. With the pid it names one process, even after the pid is reused."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def command_line(pid: int | None) -> str:
    """A process's command line, its arguments joined by spaces ("" when it is gone)."""
    if not pid:
        return ""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def read_pid(path: Path) -> int | None:
    """The pid on the first line of a pid file, when that process is alive; else None.

    The first line is the pid in every pid file the sandbox meets: redis-server's, the
    ones written for pg_receivewal and the reference service, and ``postmaster.pid``.
    """
    try:
        pid = int(path.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def _reap(pid: int) -> None:
    """Collect the exit status of a child of ours, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_gone(pid: int | None, timeout: float) -> bool:
    """Wait until a process has exited (reaping it when it is our child); True if it has."""

    def gone() -> bool:
        if pid:
            _reap(pid)
        return not alive(pid)

    return wait_until(gone, timeout)


def kill_all(pids: list[int], timeout: float) -> bool:
    """SIGKILL every process at once (a lost machine takes them together), then wait for
    all of them to be gone; True if they are."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def gone() -> bool:
        for pid in pids:
            _reap(pid)
        return not any(alive(pid) for pid in pids)

    return wait_until(gone, timeout, 0.01)


def stop(
    pid: int | None,
    sig: int = signal.SIGTERM,
    timeout: float = 10,
    kill_after: bool = True,
    *,
    group: bool = False,
) -> bool:
    """Send ``sig``, wait up to ``timeout`` seconds for the process to go, then SIGKILL it.

    ``group`` signals the process group the pid leads (a server started in its own
    session with its workers). Returns True when the process is gone.
    """
    if not pid:
        return True
    _reap(pid)
    if not alive(pid):
        return True
    send = os.killpg if group else os.kill
    try:
        send(pid, sig)
    except ProcessLookupError:
        return True
    if wait_gone(pid, timeout):
        return True
    if not kill_after:
        return False
    try:
        send(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return wait_gone(pid, 5)


def children(pid: int, recursive: bool = True) -> list[int]:
    """The children of a process, and theirs when ``recursive`` (psutil), alive now."""
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=recursive)]
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []


# ---------------------------------------------------------------------------
# Polls


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    interval: float = POLL_INTERVAL,
    *,
    what: str = "the wait timed out",
    raise_as: type[AugeoError] | None = None,
) -> bool:
    """Poll ``predicate`` every ``interval`` seconds until it is true or ``timeout`` passes.

    Returns whether it became true; given ``raise_as``, a timeout raises that error with
    ``what``, the failure as a sentence ("pg_receivewal did not start streaming"),
    followed by " within N s". ``math.inf`` waits for as long as it takes; the predicate
    may raise to give up early (a server that exited while starting).
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if raise_as is not None:
        raise raise_as(f"{what} within {timeout:g} s")
    return False


# ---------------------------------------------------------------------------
# Loopback ports


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """Whether something accepts TCP connections on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_port(port: int, timeout: float, host: str = LOOPBACK) -> bool:
    """Wait until something accepts TCP connections on the port."""
    return wait_until(lambda: port_in_use(port, host), timeout)
