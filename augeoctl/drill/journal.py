"""The drill journal: what a drill on the sandbox is doing to it, so that one that never
finished (SIGKILL, power cut, a repair that failed) can be repaired afterwards.

A drill that damages the sandbox writes ``AUGEO_HOME/drills/in-progress.json`` once its
preflight passed, and the scenario notes every step *before* it takes it: the data folder
or RDB about to be moved aside and where to, the DELETE about to run (its transaction
id), the restore targets it makes, the reference services it starts (their pid files).
The file is replaced atomically at each note and removed when the repair is complete::

    {"version": 1, "drill_id": "drill-20261124T101500Z", "scenario": "server-loss",
     "environment": "local", "keep": false, "phase": "recovery",
     "owner": {"pid": 4242, "start_ticks": 123456},
     "started_at": "...", "updated_at": "...",
     "targets": [{"kind": "postgres", "name": "dr-20261124t101500z"}],
     "services": [".../drills/drill-20261124T101500Z-service/service.pid"],
     "pg_data": {"from": ".../sandbox/pg/data", "to": ".../sandbox/pg/data.lost-drill-..."}}

Other keys by scenario: ``rdb`` (``from``/``to``, redis-loss), ``delete`` (``table``,
``xid``, ``state`` deleting|deleted, ``expected_point``; accidental-delete) and
``recovered`` (``target``, ``dsn``: the recovered copy the deleted rows come back from).

The repair (``drill.repair``, ``augeoctl sandbox repair``) reads the journal and the
sandbox as they are, so it may run any number of times. While the journal exists, ``refuse_if_unfinished`` stops
the commands that would build on a damaged sandbox.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augeoctl.drill import history
from augeoctl.errors import UnfinishedDrill
from augeoctl.local import procs
from augeoctl.timeparse import format_time

if TYPE_CHECKING:
    from augeoctl.platform import Platform

VERSION = 1
NAME = "in-progress.json"
REPAIR_COMMAND = "augeoctl sandbox repair"


def path(home: Path) -> Path:
    return history.folder(home) / NAME


def _now() -> str:
    return format_time(datetime.now(UTC)) or ""


class Journal:
    """One drill's journal; ``path`` None keeps it in memory only (a drill that damages
    nothing, or a test)."""

    def __init__(self, file: Path | None, data: dict[str, Any]) -> None:
        self.path = file
        self.data = data

    @classmethod
    def in_memory(cls) -> Journal:
        return cls(None, {})

    @classmethod
    def begin(cls, home: Path, drill_id: str, scenario: str, environment: str, keep: bool) -> Journal:
        """Start the journal of a new drill; refuses while another one is there."""
        file = path(home)
        if file.exists():
            existing = cls.load(home)
            raise UnfinishedDrill(unfinished_message(existing), hint=f"run `{REPAIR_COMMAND}`")
        pid = os.getpid()
        journal = cls(file, {
            "version": VERSION, "drill_id": drill_id, "scenario": scenario,
            "environment": environment, "keep": keep, "phase": None,
            "owner": {"pid": pid, "start_ticks": procs.start_ticks(pid)},
            "started_at": _now(), "targets": [], "services": [],
        })
        journal._write()
        return journal

    @classmethod
    def load(cls, home: Path) -> Journal | None:
        """The journal in ``home``, or None. A damaged one (a cut power while it was first
        written) still counts as an unfinished drill, of an unknown id."""
        file = path(home)
        try:
            data = json.loads(file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            data = {"damaged": True}
        if not isinstance(data, dict):
            data = {"damaged": True}
        return cls(file, data)

    # -- what it says -------------------------------------------------------------

    @property
    def drill_id(self) -> str:
        return str(self.data.get("drill_id") or "(unknown: damaged journal)")

    @property
    def scenario(self) -> str | None:
        value = self.data.get("scenario")
        return str(value) if value else None

    @property
    def environment(self) -> str | None:
        value = self.data.get("environment")
        return str(value) if value else None

    @property
    def keep(self) -> bool:
        return bool(self.data.get("keep"))

    @property
    def owner_pid(self) -> int | None:
        pid = (self.data.get("owner") or {}).get("pid")
        return int(pid) if pid else None

    def owner_alive(self) -> bool:
        """Whether the drill that writes this journal still runs (the same process: same
        pid and start time, so a pid reused after a reboot does not count)."""
        owner = self.data.get("owner") or {}
        pid = owner.get("pid")
        if not pid or not procs.alive(int(pid)):
            return False
        return owner.get("start_ticks") is None or procs.start_ticks(int(pid)) == owner["start_ticks"]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        return {"drill_id": self.drill_id, "scenario": self.scenario, "phase": self.data.get("phase"),
                "started_at": self.data.get("started_at"), "running": self.owner_alive(),
                "pid": self.owner_pid, "journal": str(self.path) if self.path else None}

    # -- notes ----------------------------------------------------------------------

    def note(self, key: str, value: Any) -> None:
        """Record one step (before taking it), replacing the file atomically."""
        self.data[key] = value
        self._write()

    def add(self, key: str, item: Any) -> None:
        """Add an item to a list (targets, services) once."""
        items = self.data.setdefault(key, [])
        if item not in items:
            items.append(item)
            self._write()

    def finish(self) -> None:
        """The repair is complete: the journal goes."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        if self.path is None:
            return
        self.data["updated_at"] = _now()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as fh:
            fh.write(json.dumps(self.data, indent=2, sort_keys=True))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut
        finally:
            os.close(dir_fd)


def unfinished_message(journal: Journal | None) -> str:
    drill_id = journal.drill_id if journal is not None else "(unknown)"
    return f"an unfinished drill {drill_id} left the sandbox damaged: run `{REPAIR_COMMAND}`"


def running_message(journal: Journal) -> str:
    return (f"drill {journal.drill_id} is running (pid {journal.owner_pid}) and has damaged the "
            "sandbox on purpose until its cleanup")


def unfinished(platform: Platform) -> Journal | None:
    """The journal of a drill on this environment that has not finished, or None."""
    journal = Journal.load(platform.home)
    if journal is None:
        return None
    if journal.environment not in (None, platform.name):
        return None  # another environment's drill (a local one, seen from Azure)
    return journal


def refuse_if_unfinished(platform: Platform) -> None:
    """Refuse (``UnfinishedDrill``, exit 4) while a drill is running or left the sandbox
    damaged: starting fresh now would build on top of moved-aside or deleted data."""
    journal = unfinished(platform)
    if journal is None:
        return
    if journal.owner_alive():
        raise UnfinishedDrill(running_message(journal),
                              hint=f"wait for it; SIGINT or SIGTERM to pid {journal.owner_pid} stops it "
                                   "and runs its repair")
    raise UnfinishedDrill(unfinished_message(journal),
                          hint="it puts back what the drill moved or deleted, stops what it started "
                               "and restarts the sandbox")
