"""What a drill does to the local sandbox, and what it starts beside it.

Real damage: SIGKILL of a server (PostgreSQL with its child processes, or Redis) and its
data made unusable by moving it aside, then put back by the repair. The repair never
deletes: whatever was created in the data's place meanwhile is moved aside as well, and
named. Beside the sandbox:
the reference service pointed at recovered data (or at the sandbox, for a load test), and
the archiving of the current WAL segment a recovery needs to see the newest commits.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl import drivers
from augeoctl.errors import DependencyError, OperationFailed, RepairFailed
from augeoctl.local import procs
from augeoctl.local.endpoints import http_url
from augeoctl.local.sandbox import Sandbox
from augeoctl.progress import Reporter

KILL_WAIT = 30.0  # seconds a SIGKILLed server may take to be gone


@dataclass(frozen=True)
class Killed:
    """A server killed with SIGKILL: its main pid (None: it was not running), the
    processes killed with it, and the moment the first signal was sent."""

    pid: int | None
    children: int
    at: datetime


def _kill(pids: list[int]) -> datetime:
    at = datetime.now(UTC)
    procs.kill_all(pids, KILL_WAIT)
    return at


def _move_aside(path: Path, label: str) -> Path:
    """Rename ``path`` to ``NAME.LABEL-TIME`` beside it (a free name); returns where it went."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside, n = path.with_name(f"{path.name}.{label}-{stamp}"), 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    os.rename(path, aside)
    return aside


class SandboxDisasters:
    """Server losses on the sandbox, each with the repair that undoes it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def kill_postgres(self) -> Killed:
        """SIGKILL the postmaster and its children: a lost server takes them all."""
        pid = self.sandbox.pg_pid()
        children = procs.children(pid, recursive=False) if pid else []
        at = _kill(([pid] if pid else []) + children)
        return Killed(pid, len(children), at)

    def pg_hideout(self, tag: str) -> Path:
        """Where ``hide_pg_data(tag)`` moves the data folder: ``data.lost-TAG``."""
        return self.sandbox.pg_data.with_name(f"data.lost-{tag}")

    def hide_pg_data(self, tag: str) -> Path:
        """Move the data folder aside (``data.lost-TAG``): the server cannot start from it."""
        hidden = self.pg_hideout(tag)
        os.rename(self.sandbox.pg_data, hidden)
        return hidden

    def put_back_pg_data(self, hidden: Path, reporter: Reporter) -> list[str]:
        """Put the original data folder back and start the sandbox from it; returns notes.

        A data folder made in its place meanwhile (a fresh cluster) is stopped and moved
        aside, never deleted. Again is harmless: with nothing moved aside, it only starts
        the sandbox.
        """
        data, notes = self.sandbox.pg_data, []
        if hidden.exists():
            if data.exists():
                self.sandbox.stop_postgres(data)
                aside = _move_aside(data, "fresh")
                notes.append(f"a data folder made in its place meanwhile was moved to {aside} "
                             "(remove it once you have checked it)")
            os.rename(hidden, data)
            notes.append(f"PostgreSQL data folder put back from {hidden.name}")
        elif not (data / "PG_VERSION").exists():
            raise RepairFailed(f"the sandbox's PostgreSQL data folder is neither in {data} nor in {hidden}",
                               hint="look for data.lost-* or data.fresh-* folders beside it")
        self.sandbox.up(reporter)
        notes.append("sandbox PostgreSQL restarted from its original data folder")
        return notes

    def kill_redis(self) -> Killed:
        pid = self.sandbox.redis_pid()
        return Killed(pid, 0, _kill([pid] if pid else []))

    def save_redis(self, timeout: float = 60) -> None:
        """SAVE the sandbox's Redis: its RDB then holds every write it acknowledged, so the
        copy a disaster moves aside gives the sandbox all of its data back."""
        import redis

        client = redis.Redis.from_url(self.sandbox.redis_url(), socket_timeout=timeout)

        def saved() -> bool:
            try:
                client.save()
                return True
            except redis.exceptions.ResponseError as exc:  # a background save is running
                if "in progress" not in str(exc):
                    raise
                return False

        with drivers.translated("saving the sandbox's Redis"):
            procs.wait_until(saved, timeout, 0.1, what="Redis did not save its RDB",
                             raise_as=OperationFailed)

    def rdb_hideout(self, tag: str) -> Path:
        """Where ``hide_rdb(tag)`` moves the RDB: ``dump.rdb.lost-TAG``."""
        return self.sandbox.redis_dir / f"dump.rdb.lost-{tag}"

    def hide_rdb(self, tag: str) -> Path | None:
        """Move Redis's RDB aside (``dump.rdb.lost-TAG``); None when there was none."""
        rdb = self.sandbox.redis_dir / "dump.rdb"
        if not rdb.exists():
            return None
        hidden = self.rdb_hideout(tag)
        os.rename(rdb, hidden)
        return hidden

    def put_back_rdb(self, hidden: Path | None, reporter: Reporter) -> list[str]:
        """Put the RDB back (when one was moved) and start the sandbox's Redis from it;
        returns notes. A Redis started meanwhile without it is stopped, and the RDB it
        wrote moved aside, never deleted."""
        rdb, notes = self.sandbox.redis_dir / "dump.rdb", []
        if hidden is not None and hidden.exists():
            pid = self.sandbox.redis_pid()
            if pid is not None:
                port = self.sandbox.state.load().get("redis", {}).get("port")
                if port:
                    self.sandbox.redis.stop(int(port))
                else:
                    procs.stop(pid)
            if rdb.exists():
                aside = _move_aside(rdb, "fresh")
                notes.append(f"an RDB written in its place meanwhile was moved to {aside}")
            os.rename(hidden, rdb)
            notes.append(f"Redis RDB put back from {hidden.name}")
        self.sandbox.up(reporter)
        notes.append("sandbox Redis restarted from its RDB")
        return notes


@dataclass(frozen=True)
class ReferenceService:
    """The reference service running against given data, until ``stop``."""

    url: str
    pg_dsn: str
    redis_url: str
    pid_path: Path

    @classmethod
    def start(cls, pg_dsn: str, redis_url: str, folder: Path) -> ReferenceService:
        """Start it on a free loopback port; its pid file and log go in ``folder``."""
        from augeoctl.local import service as runner

        folder.mkdir(parents=True, exist_ok=True)
        port = procs.free_port()
        pid_path = folder / "service.pid"
        runner.start_service(port, pg_dsn, redis_url, folder / "service.log", pid_path)
        return cls(http_url(port), pg_dsn, redis_url, pid_path)

    def serves(self, pg_dsn: str, redis_url: str) -> bool:
        return (self.pg_dsn, self.redis_url) == (pg_dsn, redis_url)

    def stop(self) -> None:
        from augeoctl.local import service as runner

        runner.stop_service(self.pid_path)

    @staticmethod
    def stop_leftover(pid_path: Path) -> bool:
        """Stop a reference service a drill started and could not stop (it was killed);
        only the process of the pid file that runs the service (a pid may be reused after
        a reboot). True when one was stopped."""
        from augeoctl.local import service as runner

        pid = procs.read_pid(pid_path)
        if pid is None or "augeoctl.service.app" not in procs.command_line(pid):
            return False
        runner.stop_service(pid_path)
        return True

    def wait_ready(self, timeout: float) -> tuple[bool, Any]:
        """Poll ``/health/ready`` until it answers 200; returns (ready, the last body)."""
        last: list[Any] = [None]

        def ready() -> bool:
            try:
                with urllib.request.urlopen(self.url + "/health/ready", timeout=3) as resp:
                    last[0] = json.loads(resp.read().decode() or "null")
                    return bool(resp.status == 200)
            except urllib.error.HTTPError as exc:
                try:
                    last[0] = json.loads(exc.read().decode() or "null")
                except ValueError:
                    last[0] = {"status": exc.code}
            except (OSError, ValueError) as exc:
                last[0] = {"error": str(exc)}
            return False

        return procs.wait_until(ready, timeout, 0.1), last[0]


def archive_current_wal(dsn: str, timeout: float = 120) -> None:
    """Close the current WAL segment and wait until the archive holds it."""
    import psycopg

    with drivers.translated("archiving the current WAL segment"), \
            psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT txid_current()")
        lsn = conn.execute("SELECT pg_switch_wal()").fetchone()[0]  # type: ignore[index]
        seg = conn.execute("SELECT pg_walfile_name(%s)", (lsn,)).fetchone()[0]  # type: ignore[index]

        def archived() -> bool:
            row = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            return row is not None and row[0] is not None and row[0] >= seg

        if procs.wait_until(archived, timeout):
            return
    raise OperationFailed(f"WAL segment {seg} was not archived within {timeout:g} s")


def service_url(sandbox: Sandbox, home: Path, reporter: Reporter) -> str:
    """The sandbox's reference service, bringing the sandbox up when needed.

    The sandbox runs the service itself (``status().app``); a sandbox state from before
    it did gets a service started here, under the sandbox home, reused by later runs.
    """
    status = sandbox.ensure_up(reporter)
    if status.app is not None and status.app.running and status.app.url:
        return str(status.app.url)
    return own_service(sandbox, home / "loadtest" / "service", reporter)


def own_service(sandbox: Sandbox, folder: Path, reporter: Reporter) -> str:
    """A reference service against the sandbox, started once in ``folder`` and reused."""
    from augeoctl.local import service as runner

    folder.mkdir(parents=True, exist_ok=True)
    pid_path, port_path = folder / "service.pid", folder / "service.port"
    try:
        port = int(port_path.read_text())
        if procs.read_pid(pid_path) is not None and runner.started_here(pid_path) \
                and runner.wait_ready(http_url(port), 2):
            return http_url(port)
    except (OSError, ValueError):
        pass
    runner.stop_service(pid_path)
    port = procs.free_port()
    reporter.info(f"starting the reference service on {procs.LOOPBACK}:{port} (log {folder / 'service.log'})")
    runner.start_service(port, sandbox.dsn(), sandbox.redis_url(), folder / "service.log", pid_path)
    port_path.write_text(str(port))
    url = http_url(port)
    if not runner.wait_ready(url, 30):
        runner.stop_service(pid_path)
        raise DependencyError(f"the reference service did not answer on {url}",
                              hint=f"see {folder / 'service.log'}")
    return url
