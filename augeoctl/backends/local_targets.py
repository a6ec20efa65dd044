"""Restore targets on the sandbox: their folders, ``target.json``, listing and removal.

A restore makes a NEW server in ``targets/NAME``: a PostgreSQL data folder recovered
from a base backup, or a redis-server loaded from an RDB. ``target.json`` records what
it is and how far it got; a target whose restore was interrupted or failed is
"half-made" and may be cleaned up by the next restore.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from augeoctl.backends.base import TargetInfo
from augeoctl.local import procs, tools
from augeoctl.local.sandbox import Sandbox
from augeoctl.progress import Reporter


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON file atomically (a reader never sees half of it)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def remove_partials(folder: Path, reporter: Reporter) -> list[Path]:
    """Remove the ``.ID.partial`` folders a killed backup left in a backup store, saying so.

    ``backup create`` calls it under the command lock (``local.lock``), so no other
    backup is writing one.
    """
    removed: list[Path] = []
    for leftover in sorted(folder.glob(".*.partial")) if folder.is_dir() else []:
        size = tools.dir_size(leftover)
        shutil.rmtree(leftover, ignore_errors=True)
        reporter.warn(f"removed {leftover} ({size / 2**20:.1f} MiB), left by a backup that did not finish")
        removed.append(leftover)
    return removed


class TargetStore:
    """The sandbox's ``targets`` folder."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.root = sandbox.targets_dir

    def dir(self, name: str) -> Path:
        return self.root / name

    def exists(self, name: str) -> bool:
        return self.dir(name).exists()

    def state(self, name: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.dir(name) / "target.json").read_text())
        except (OSError, ValueError):
            return None

    def save_state(self, name: str, state: dict[str, Any]) -> None:
        write_json(self.dir(name) / "target.json", state)

    def half_made(self, name: str) -> bool:
        """A target that a restore started and did not finish (and is not still running)."""
        state = self.state(name)
        if state is None:
            return self.exists(name)
        if state.get("status") == "in-progress":
            return not procs.alive(state.get("owner_pid"))
        return state.get("status") in ("interrupted", "failed")

    def running_restore(self, name: str) -> dict[str, Any] | None:
        """The state of a target whose restore still runs in another process, else None."""
        state = self.state(name)
        if state is None or state.get("status") != "in-progress":
            return None
        owner = state.get("owner_pid")
        return state if owner != os.getpid() and procs.alive(owner) else None

    def server_pid(self, name: str) -> int | None:
        """The live server of a target: its redis-server or its postmaster."""
        d = self.dir(name)
        return procs.read_pid(d / "redis.pid") or procs.read_pid(d / "data" / "postmaster.pid")

    def list(self) -> list[TargetInfo]:
        out: list[TargetInfo] = []
        if not self.root.exists():
            return out
        for d in sorted(self.root.iterdir()):
            if not d.is_dir():
                continue
            st = self.state(d.name) or {}
            status = st.get("status", "unknown")
            if status == "in-progress" and not procs.alive(st.get("owner_pid")):
                status = "interrupted"
            if status == "ready" and self.server_pid(d.name) is None:
                status = "stopped"

            def ts(key: str, st: dict[str, Any] = st) -> datetime | None:
                return datetime.fromisoformat(st[key]) if st.get(key) else None

            out.append(TargetInfo(
                name=d.name, status=status,
                dsn=st.get("dsn") or st.get("url"), created_at=ts("created_at"), backup_id=st.get("backup_id"),
                requested=ts("requested"), reached=ts("reached"), detail=st.get("detail"),
            ))
        return out

    def stop(self, name: str) -> None:
        """Stop a target's server, whichever kind it is."""
        d = self.dir(name)
        procs.stop(procs.read_pid(d / "redis.pid"), timeout=10, kill_after=False)
        self.sandbox.stop_postgres(d / "data", mode="immediate", timeout=30)

    def remove(self, name: str, timeout: float = 60.0) -> None:
        """Stop a target's server and delete its folder.

        A server started a moment ago (``pg_ctl start -W`` does not wait) may not have
        written its pid file when the first stop looks, and then writes into the folder
        being deleted: stop and delete again until the folder stays gone.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.stop(name)
            shutil.rmtree(self.dir(name), ignore_errors=True)
            if not self.dir(name).exists() or time.monotonic() > deadline:
                return
            time.sleep(0.2)
