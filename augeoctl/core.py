"""Results shared by every area (backups, restores, drills, health): a named check and a
timed phase. Frozen, so verdicts over them are pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from augeoctl.timeparse import format_time


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Phase:
    name: str
    started_at: datetime
    ended_at: datetime

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "started_at": format_time(self.started_at),
            "ended_at": format_time(self.ended_at),
            "seconds": round(self.seconds, 3),
        }
