"""The sandbox's state: what should be running (a file, under a lock) and what is.

``state.json`` records each server's port and whether it should be up, so `status`
can tell a crashed server (should run, does not) from a stopped one. `up` and `down`
hold the lock while they change servers and the file. ``Component`` and
``SandboxStatus`` are the frozen snapshots `status` returns.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from augeoctl.errors import SandboxError


class StateFile:
    """``state.json`` in the sandbox folder, replaced atomically, and its lock file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "state.json"

    def load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise SandboxError(
                f"sandbox state {self.path} is damaged: {exc}",
                hint="run `augeoctl sandbox down` and remove the file",
            ) from None

    def save(self, state: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, self.path)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the sandbox lock: one `up` or `down` at a time."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Component:
    """The observed state of one sandbox server."""

    name: str
    state: str  # running | stopped | crashed | not-created (the WAL receiver: also off)
    pid: int | None = None
    port: int | None = None
    url: str | None = None
    detail: str | None = None
    log: str | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class SandboxStatus:
    home: str
    postgres: Component
    redis: Component
    archive_timeout: int
    wal_streaming: str = "off"
    wal_receiver: Component | None = None
    app: Component | None = None

    @property
    def running(self) -> bool:
        receiver_ok = self.wal_receiver is None or self.wal_receiver.state in ("off", "running")
        app_ok = self.app is None or self.app.running
        return self.postgres.running and self.redis.running and receiver_ok and app_ok

    @property
    def crashed(self) -> list[str]:
        parts = [self.postgres, self.redis] + [c for c in (self.wal_receiver, self.app) if c]
        return [c.name for c in parts if c.state == "crashed"]

    def to_dict(self) -> dict[str, Any]:
        pg = asdict(self.postgres)
        pg["dsn"] = pg.pop("url")
        rd = asdict(self.redis)
        return {
            "home": self.home,
            "running": self.running,
            "archive_timeout": self.archive_timeout,
            "wal_streaming": self.wal_streaming,
            "wal_receiver": asdict(self.wal_receiver) if self.wal_receiver else None,
            "postgres": {**pg, "running": self.postgres.running},
            "redis": {**rd, "running": self.redis.running},
            "app": {**asdict(self.app), "running": self.app.running} if self.app else None,
        }
