"""The backup/restore seam: one interface, a ``local`` and an ``azure`` implementation.

Callers (the CLI, the DR drill orchestrator) only see these types; which
implementation serves them is chosen by the environment's config
(``augeoctl.platform.platform_for``). Results are frozen dataclasses; verdicts over them
are pure functions. A capability only one side has (Redis restore targets, which Azure
cannot make) is not here: it belongs to that side's platform.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from augeoctl.core import Check, Phase
from augeoctl.errors import NotFound, RestoreRefused
from augeoctl.progress import Reporter
from augeoctl.timeparse import format_time

TARGET_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def check_target_name(name: str) -> str:
    # fullmatch: "$" would also accept a trailing newline ("name\n").
    if not TARGET_NAME.fullmatch(name):
        raise RestoreRefused(
            f"target name {name!r} is not valid",
            hint="use 1-63 lower-case letters, digits and hyphens, starting and ending with a letter or digit",
        )
    return name


@dataclass(frozen=True)
class BackupInfo:
    id: str
    kind: str  # "postgres" | "redis"
    started_at: datetime | None
    finished_at: datetime | None
    size_bytes: int | None = None
    start_lsn: str | None = None
    stop_lsn: str | None = None
    timeline: int | None = None
    location: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Why the backup cannot be used (its metadata is unreadable, incomplete or wrong);
    # None for a usable backup. A damaged backup is listed, never restored from.
    damaged: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["started_at"] = format_time(self.started_at)
        d["finished_at"] = format_time(self.finished_at)
        return d


@dataclass(frozen=True)
class Window:
    """A span of restorable time, from one base backup."""

    backup_id: str
    earliest: datetime
    latest: datetime | None  # None: no transaction archived after the backup
    first_segment: str | None = None
    last_segment: str | None = None
    gap: tuple[str, ...] = ()  # missing segments ending this window
    damaged: tuple[str, ...] = ()  # the unreadable segment ending this window (before its damage)
    # The newest transaction the archive holds after the backup's start, past any gap or
    # damage: what a restore to the newest point should reach.
    archive_end: datetime | None = None

    @property
    def empty(self) -> bool:
        return self.latest is None or self.latest < self.earliest

    def contains(self, when: datetime) -> bool:
        return not self.empty and self.earliest <= when <= self.latest  # type: ignore[operator]


@dataclass(frozen=True)
class RestorableWindow:
    """What can be restored: per-backup windows and the overall earliest/latest."""

    windows: tuple[Window, ...]
    missing_segments: tuple[str, ...] = ()
    archived_segments: int = 0
    newest_segment: str | None = None
    damaged_segments: tuple[str, ...] = ()  # archived segments pg_waldump cannot read through

    @property
    def earliest(self) -> datetime | None:
        times = [w.earliest for w in self.windows if not w.empty]
        return min(times) if times else None

    @property
    def latest(self) -> datetime | None:
        times = [w.latest for w in self.windows if not w.empty and w.latest]
        return max(times) if times else None

    def describe(self) -> str:
        spans = [
            f"{format_time(w.earliest)} .. {format_time(w.latest)}" for w in self.windows if not w.empty
        ]
        return "; ".join(spans) if spans else "nothing is restorable yet"

    def to_dict(self) -> dict[str, Any]:
        return {
            "earliest": format_time(self.earliest),
            "latest": format_time(self.latest),
            "windows": [
                {
                    "backup_id": w.backup_id,
                    "earliest": format_time(w.earliest),
                    "latest": format_time(w.latest),
                    "first_segment": w.first_segment,
                    "last_segment": w.last_segment,
                    "ends_at_gap": list(w.gap),
                    "ends_at_damaged": list(w.damaged),
                    "archive_end": format_time(w.archive_end),
                }
                for w in self.windows
            ],
            "missing_segments": list(self.missing_segments),
            "damaged_segments": list(self.damaged_segments),
            "archived_segments": self.archived_segments,
            "newest_segment": self.newest_segment,
        }


@dataclass(frozen=True)
class VerifyResult:
    backup_id: str
    kind: str
    checks: tuple[Check, ...]
    missing_segments: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backup_id": self.backup_id,
            "kind": self.kind,
            "ok": self.ok,
            "checks": [asdict(c) for c in self.checks],
            "missing_segments": list(self.missing_segments),
        }


@dataclass(frozen=True)
class RestorePlan:
    target: str
    backup: BackupInfo
    to_time: datetime | None  # None: the newest recoverable point
    mode: str  # "time": stop at to_time; "end": replay all archived WAL
    wal_first: str | None
    wal_last: str | None
    window: RestorableWindow
    cleanup: tuple[str, ...] = ()  # half-made targets a run will remove first
    extra: dict[str, Any] = field(default_factory=dict)
    # Recorded with the target where the platform can (Azure: resource tags), e.g. the
    # drill that made it; set with ``dataclasses.replace`` before ``restore``.
    labels: dict[str, str] = field(default_factory=dict)
    # Accept a restore whose replay stopped short of the point the archive holds (a
    # damaged or missing segment): the target is kept and the result says ``partial``.
    # Without it such a restore fails. Set with ``dataclasses.replace``.
    allow_partial: bool = False
    # How deep the restored target is checked: auto, quick or full (backends.verification).
    verify: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "backup": self.backup.to_dict(),
            "to_time": format_time(self.to_time),
            "mode": self.mode,
            "wal_first": self.wal_first,
            "wal_last": self.wal_last,
            "window": self.window.to_dict(),
            "cleanup": list(self.cleanup),
            **({"labels": dict(self.labels)} if self.labels else {}),
            **({"allow_partial": True} if self.allow_partial else {}),
            "verify": self.verify,
            **self.extra,
        }


@dataclass(frozen=True)
class RestoreResult:
    target: str
    dsn: str
    backup_id: str
    requested: datetime | None
    reached: datetime | None  # newest transaction replayed
    phases: tuple[Phase, ...]
    verification: tuple[Check, ...]
    tables: dict[str, int] = field(default_factory=dict)
    wal_segments_replayed: int = 0
    cleaned_up: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        if not self.phases:
            return 0.0
        return (self.phases[-1].ended_at - self.phases[0].started_at).total_seconds()

    @property
    def verified(self) -> bool:
        return all(c.ok for c in self.verification)

    def phase_seconds(self, name: str) -> float | None:
        for p in self.phases:
            if p.name == name:
                return p.seconds
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "dsn": self.dsn,
            "backup_id": self.backup_id,
            "requested": format_time(self.requested),
            "recovery_point": format_time(self.reached),
            "phases": [p.to_dict() for p in self.phases],
            "total_seconds": round(self.total_seconds, 3),
            "verified": self.verified,
            "verification": [asdict(c) for c in self.verification],
            "tables": self.tables,
            "wal_segments_replayed": self.wal_segments_replayed,
            "cleaned_up": list(self.cleaned_up),
            **self.extra,
        }


@dataclass(frozen=True)
class TargetInfo:
    name: str
    status: str  # ready | in-progress | interrupted | failed | stopped
    dsn: str | None
    created_at: datetime | None
    backup_id: str | None
    requested: datetime | None
    reached: datetime | None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("created_at", "requested", "reached"):
            d[k] = format_time(getattr(self, k))
        return d


def pick_backup(backups: list[BackupInfo], backup_id: str | None, what: str,
                create: str = "augeoctl backup create") -> BackupInfo:
    """The backup named ``backup_id`` among ``backups`` (oldest first), or the newest one."""
    if not backups:
        raise NotFound(f"there are no {what} backups", hint=f"run `{create}`")
    if backup_id is None:
        return backups[-1]
    for b in backups:
        if b.id == backup_id:
            return b
    raise NotFound(f'no {what} backup "{backup_id}"',
                   hint="`augeoctl backup list` shows the backups: " + ", ".join(b.id for b in backups[-5:]))


class PostgresBackend(ABC):
    """Backups and point-in-time restores of the platform's PostgreSQL."""

    name: str

    @abstractmethod
    def list_backups(self) -> list[BackupInfo]: ...

    def get_backup(self, backup_id: str | None) -> BackupInfo:
        """One backup by id, or the newest when ``backup_id`` is None (NotFound otherwise)."""
        return pick_backup(self.list_backups(), backup_id, "PostgreSQL")

    def damaged_backups(self) -> list[BackupInfo]:
        """Backups found in the store that cannot be used, each with ``damaged`` saying why.

        ``list_backups`` holds only usable ones. Backends that cannot tell say none."""
        return []

    def source_problem(self) -> str | None:
        """A sentence when the source cannot be relied on for a restore right now (WAL
        archiving failing, server not Ready), else None. Backends that cannot tell say None."""
        return None

    @abstractmethod
    def window(self) -> RestorableWindow: ...

    @abstractmethod
    def create_backup(self, reporter: Reporter) -> BackupInfo: ...

    @abstractmethod
    def verify_backup(self, backup_id: str | None, reporter: Reporter) -> VerifyResult: ...

    @abstractmethod
    def plan_restore(
        self, to_time: datetime | None, target: str | None, *, now: datetime | None = None,
    ) -> RestorePlan:
        """Validate a restore and decide how to do it; creates nothing."""

    def plan_restore_before_xid(self, xid: int, target: str | None) -> RestorePlan:
        """A restore that stops just before transaction ``xid`` commits (``recovery_target_xid``,
        not inclusive). Only where the WAL can be read; others refuse."""
        raise RestoreRefused(
            f"{self.name} restores to a time, not to a transaction",
            hint="use --to-time with the time just before the damage",
        )

    def backup_settings(self) -> dict[str, Any]:
        """What the backend knows of the backup configuration (retention, redundancy...)."""
        return {}

    def managed_retention(self) -> dict[str, Any] | None:
        """The retention the platform itself applies (Azure: the server's backup retention
        days), or None where augeoctl keeps the backups and expires them."""
        return None

    def expire_backups(self, expired: list[BackupInfo], kept: list[BackupInfo], reporter: Reporter, *,
                       dry_run: bool) -> dict[str, Any]:
        """Remove the expired base backups, then the archived WAL no kept backup needs;
        returns what was (or, dry, would be) removed. Where the platform keeps the
        backups (``managed_retention``), nothing is removed here."""
        raise RestoreRefused(f"{self.name} backups are kept and expired by the platform",
                             hint="see the retention in `augeoctl backup expire` without options")

    @abstractmethod
    def restore(self, plan: RestorePlan, reporter: Reporter) -> RestoreResult: ...

    @abstractmethod
    def list_targets(self) -> list[TargetInfo]: ...

    def has_target(self, name: str) -> bool:
        """Whether a target of that name exists, finished or half-made."""
        return any(t.name == name for t in self.list_targets())

    @abstractmethod
    def drop_target(self, name: str, reporter: Reporter) -> None: ...


class RedisBackend(ABC):
    """RDB backups of the platform's Redis, verified by loading them."""

    def describe(self) -> dict[str, Any]:
        """The service and its persistence configuration."""
        return {}

    @abstractmethod
    def list_backups(self) -> list[BackupInfo]: ...

    def get_backup(self, backup_id: str | None) -> BackupInfo:
        """One backup by id, or the newest when ``backup_id`` is None (NotFound otherwise).

        ``extra["key_count"]`` is the number of keys the snapshot holds, where known.
        """
        return pick_backup(self.list_backups(), backup_id, "Redis", "augeoctl backup create --kind redis")

    @abstractmethod
    def create_backup(self, reporter: Reporter) -> BackupInfo: ...

    @abstractmethod
    def verify_backup(self, backup_id: str | None, reporter: Reporter) -> VerifyResult: ...
