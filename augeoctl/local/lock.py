"""One writer at a time: the command lock of an ``AUGEO_HOME``.

Commands that change what is under ``AUGEO_HOME`` (a backup, a restore, dropping a
target, a drill, starting or stopping the sandbox) hold this lock for their whole run, so
two of them never work on the same store, targets or servers at once. Read-only commands
(list, status, verify) do not take it.

Two files beside each other in ``AUGEO_HOME``:

- ``command.lock``: the exclusion itself, an ``flock`` on the open file. The kernel
  releases it when its holder exits however it exits (SIGKILL, power cut), so a dead
  holder never keeps it. The file is never replaced or removed.
- ``command.lock.json``: who holds it (pid, command line, start time), written
  atomically once the lock is taken and removed before it is released. A record found by
  a new holder therefore belongs to one that did not finish (killed): the new holder
  takes over and says so.

This is the command-level lock; ``local.state`` keeps its own short lock around
``state.json``.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from augeoctl.errors import Busy, UsageError
from augeoctl.local import procs
from augeoctl.progress import NullReporter, Reporter
from augeoctl.timeparse import format_duration, format_time

LOCK_FILE = "command.lock"
RECORD_FILE = "command.lock.json"
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the lock, as its record says."""

    pid: int
    command: str
    started_at: datetime | None

    def alive(self) -> bool:
        return procs.alive(self.pid)

    def describe(self) -> str:
        since = format_time(self.started_at) if self.started_at else "an unknown time"
        return f"pid {self.pid} (`{self.command}`, since {since})"

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "command": self.command, "started_at": format_time(self.started_at)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Holder | None:
        try:
            pid = int(data["pid"])
            started = datetime.fromisoformat(str(data["started_at"]).replace("Z", "+00:00")) \
                if data.get("started_at") else None
        except (KeyError, TypeError, ValueError):
            return None
        return cls(pid, str(data.get("command") or "augeoctl"), started)


class CommandLock:
    """The command lock of one ``AUGEO_HOME``."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.path = self.home / LOCK_FILE
        self.record = self.home / RECORD_FILE

    def holder(self) -> Holder | None:
        """The record as written: the current holder, or a dead one that did not clean up."""
        try:
            data = json.loads(self.record.read_text())
        except (OSError, ValueError):
            return None
        return Holder.from_dict(data) if isinstance(data, dict) else None

    @contextmanager
    def hold(self, command: str, *, wait: float = 0.0,
             reporter: Reporter | None = None) -> Iterator[Holder]:
        """Hold the lock while the block runs.

        Held by another process: ``Busy`` (exit 3) naming it, or with ``wait`` seconds,
        wait up to that long for it (saying so on the reporter) and then ``Busy``.
        """
        reporter = reporter or NullReporter()
        fh = self._open()
        try:
            if not _try_lock(fh):
                held_by = self._busy_holder()
                if wait <= 0:
                    raise Busy(f"{self._held(held_by)}; nothing was changed",
                               hint="wait for it to finish, or pass --wait DURATION (e.g. --wait 10m) "
                                    "to wait for it")
                reporter.info(f"waiting up to {format_duration(wait)} for the lock of {self.home}, "
                              f"held by {held_by.describe() if held_by else 'another command'}")
                deadline = time.monotonic() + wait
                while not _try_lock(fh):
                    if time.monotonic() >= deadline:
                        raise Busy(f"{self._held(self._busy_holder())} after waiting "
                                   f"{format_duration(wait)}; nothing was changed",
                                   hint="wait longer (--wait), or see what that command is doing")
                    time.sleep(POLL_SECONDS)
            left = self.holder()
            if left is not None:
                state = "is no longer running" if not left.alive() else "no longer holds it"
                reporter.warn(f"took over the lock of {self.home} left by {left.describe()}, "
                              f"which {state} (killed before it finished)")
            me = Holder(os.getpid(), command, datetime.now(UTC))
            tmp = self.record.with_name(self.record.name + ".tmp")
            tmp.write_text(json.dumps(me.to_dict(), indent=2))
            os.replace(tmp, self.record)
            try:
                yield me
            finally:
                self.record.unlink(missing_ok=True)  # before the kernel lets the next one in
        finally:
            fh.close()  # releases the flock

    def _open(self) -> IO[str]:
        if not self.home.exists():
            try:
                self.home.mkdir(parents=True, exist_ok=True)
                os.chmod(self.home, 0o755)  # the sandbox's servers must reach it
            except OSError as exc:
                raise UsageError(f"cannot create AUGEO_HOME {self.home}: {exc.strerror}",
                                 hint="set AUGEO_HOME to a folder you can write") from None
        try:
            return open(self.path, "a")
        except OSError as exc:
            raise UsageError(f"cannot open the command lock {self.path}: {exc.strerror}",
                             hint="set AUGEO_HOME to a folder you can write") from None

    def _busy_holder(self) -> Holder | None:
        """The holder's record; it is written just after the lock is taken, so a caller that
        comes in between sees none (or the dead one it replaces) for a moment."""
        deadline = time.monotonic() + 1.0
        while True:
            held_by = self.holder()
            if (held_by is not None and held_by.alive()) or time.monotonic() >= deadline:
                return held_by
            time.sleep(0.02)

    def _held(self, held_by: Holder | None) -> str:
        who = held_by.describe() if held_by else "a command that has not recorded itself yet"
        return f"another augeoctl command holds the lock of {self.home}: {who}"


def _try_lock(fh: IO[str]) -> bool:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
