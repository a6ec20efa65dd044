"""Backup retention: which base backups a policy keeps, and from where the WAL is needed.

Two policies, as pgBackRest (``repo-retention-full``) and Barman (``retention_policy``)
have them:

- ``full N``: the newest N usable backups are kept;
- ``window D``: every point of the last D stays restorable: the backups that finished
  inside it are kept, and the newest one that finished before it (the base for its
  first moments).

Whatever the policy, the newest *verified* backup is kept (a restore should always have a
base someone checked), and a damaged backup (unreadable metadata) is expired only when
it is older than every kept one. The WAL the kept backups need starts at the oldest kept
backup's start segment; archived segments before it are expired with the backups.

This module decides; the backend removes (local), or only reports (Azure, whose backup
retention is the server's ``backupRetentionDays``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from augeoctl.errors import TimeParseError, UsageError
from augeoctl.timeparse import format_time, parse_duration

if TYPE_CHECKING:  # the policy is plain data; config validates it without the backends
    from augeoctl.backends.base import BackupInfo, PostgresBackend
    from augeoctl.progress import Reporter

MIN = datetime.min


@dataclass(frozen=True)
class Policy:
    full: int | None = None  # keep the newest N usable backups
    window: timedelta | None = None  # keep every point of the last D restorable
    window_text: str | None = None  # as given (7d)

    @property
    def given(self) -> bool:
        return self.full is not None or self.window is not None

    def describe(self) -> str:
        return (f"keep the newest {self.full} full backup(s)" if self.full is not None
                else f"keep the last {self.window_text} restorable" if self.window is not None
                else "no retention policy")

    def to_dict(self) -> dict[str, Any]:
        return {"retention_full": self.full, "retention_window": self.window_text, "description": self.describe()}


def policy(full: int | None, window: str | None, *, source: str = "the command line") -> Policy:
    """A policy from --retention-full / --window (or the configured keys); bad input is a
    usage error naming the option."""
    if full is not None and window is not None:
        raise UsageError(f"{source} gives both a full-backup count and a window: choose one",
                         hint="e.g. --retention-full 7, or --window 14d")
    if full is not None:
        if isinstance(full, bool) or not isinstance(full, int) or full < 1:
            raise UsageError(f"the retention count must be 1 or more, got {full!r} ({source})",
                             hint="e.g. --retention-full 7 keeps the newest seven base backups")
        return Policy(full=full)
    if window is not None:
        try:
            span = parse_duration(window)
        except TimeParseError as exc:
            raise UsageError(f"the retention window {window!r} is not a duration ({source})",
                             hint="e.g. --window 7d, --window 36h") from exc
        if span <= timedelta(0):
            raise UsageError(f"the retention window must be longer than zero, got {window!r} ({source})",
                             hint="e.g. --window 7d")
        return Policy(window=span, window_text=window)
    return Policy()


@dataclass(frozen=True)
class Decision:
    keep: tuple[BackupInfo, ...]
    expire: tuple[BackupInfo, ...]
    reasons: dict[str, str] = field(default_factory=dict)  # backup id -> why kept or expired

    @property
    def oldest_kept(self) -> BackupInfo | None:
        usable = [b for b in self.keep if b.damaged is None]
        return min(usable, key=_finished) if usable else None


def _finished(b: BackupInfo) -> datetime:
    return b.finished_at or MIN.replace(tzinfo=b.started_at.tzinfo if b.started_at else None)


def decide(pol: Policy, usable: list[BackupInfo], damaged: list[BackupInfo], verified: set[str],
           now: datetime) -> Decision:
    """Which backups the policy keeps and which it expires (usable ones oldest first)."""
    ordered = sorted(usable, key=_finished)
    reasons: dict[str, str] = {}
    if pol.full is None and pol.window is None:
        return Decision(tuple(ordered) + tuple(damaged), (), {b.id: "no policy" for b in ordered})
    keep: set[str] = set()
    if pol.full is not None:
        for b in ordered[-pol.full:]:
            keep.add(b.id)
            reasons[b.id] = f"one of the newest {pol.full}"
    else:
        assert pol.window is not None
        start = now - pol.window
        inside = [b for b in ordered if _finished(b) >= start]
        before = [b for b in ordered if _finished(b) < start]
        for b in inside:
            keep.add(b.id)
            reasons[b.id] = f"finished inside the window (after {format_time(start)})"
        if before:
            keep.add(before[-1].id)
            reasons[before[-1].id] = f"the base of the window's first moments ({format_time(start)})"
    newest_verified = next((b for b in reversed(ordered) if b.id in verified), None)
    if newest_verified is not None and newest_verified.id not in keep:
        keep.add(newest_verified.id)
        reasons[newest_verified.id] = "the newest verified backup (always kept)"
    kept = [b for b in ordered if b.id in keep]
    expired = [b for b in ordered if b.id not in keep]
    for b in expired:
        reasons[b.id] = "beyond the policy"
    oldest = min((_finished(b) for b in kept), default=None)
    for b in damaged:
        # A damaged backup has no usable finish time: its folder name (pg-YYYYmmddTHHMMSSZ)
        # orders it; older than every kept backup, it goes.
        if oldest is not None and kept and b.id < min(k.id for k in kept):
            expired.append(b)
            reasons[b.id] = "damaged, and older than every kept backup"
        else:
            kept.append(b)
            reasons[b.id] = "damaged, kept while newer than a kept backup (see `backup list`)"
    return Decision(tuple(kept), tuple(expired), reasons)


def configured(env: Any) -> Policy:
    """The environment's configured retention (backup_retention_full / _window)."""
    return policy(env.get("backup_retention_full"), env.get("backup_retention_window"),
                  source=f"environments.{env.name} in the configuration")


def apply(pg: PostgresBackend, pol: Policy, verified: set[str], now: datetime, reporter: Reporter, *,
          dry_run: bool) -> dict[str, Any]:
    """Decide with the policy and have the backend remove (or, dry, list) what expires."""
    decision = decide(pol, pg.list_backups(), pg.damaged_backups(), verified, now)
    removed = pg.expire_backups(list(decision.expire), list(decision.keep), reporter, dry_run=dry_run)
    return {
        "policy": pol.to_dict(), "dry_run": dry_run,
        "expired": [{**b, "reason": decision.reasons[b["id"]]} for b in removed["backups"]],
        "kept": [{"id": b.id, "finished_at": format_time(b.finished_at), "reason": decision.reasons[b.id]}
                 for b in decision.keep],
        "wal": removed["wal"],
    }
