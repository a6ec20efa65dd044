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

This module is the policy (config validates it here); ``catalogue.decide`` applies it to
the backups and the backend removes (local), or only reports (Azure, whose backup
retention is the server's ``backupRetentionDays``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from augeoctl.errors import TimeParseError, UsageError
from augeoctl.timeparse import parse_duration


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


def configured(env: Any) -> Policy:
    """The environment's configured retention (backup_retention_full / _window)."""
    return policy(env.get("backup_retention_full"), env.get("backup_retention_window"),
                  source=f"environments.{env.name} in the configuration")
