"""The backup catalogue's memory: what ``backup verify`` found for each backup, kept per
environment in ``AUGEO_HOME/verifications.json``, so that ``backup list`` and ``backup show``
say whether and when each backup was last verified, as pgBackRest ``info`` and Barman
``show-backup`` do for theirs.

A record is written after every verification, passed or failed; a failed one names its
failed checks. The file is replaced atomically; an unreadable file is read as empty (the
backups are then shown as never verified, which is the safe reading).

The catalogue also decides retention: which backups a ``retention.Policy`` keeps (the
newest verified one always among them) and, through the backend, expires the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from augeoctl.backends.base import BackupInfo, PostgresBackend, VerifyResult
from augeoctl.backends.local_targets import write_json
from augeoctl.progress import Reporter
from augeoctl.retention import Policy
from augeoctl.timeparse import format_time

FILE = "verifications.json"


def _load(home: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((home / FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(home: Path, environment: str, result: VerifyResult, at: datetime) -> dict[str, Any]:
    """Keep what a verification found; returns the record."""
    entry = {"ok": result.ok, "verified_at": format_time(at),
             "failed": [c.name for c in result.checks if not c.ok]}
    data = _load(home)
    data.setdefault(environment, {})[result.backup_id] = entry
    home.mkdir(parents=True, exist_ok=True)
    write_json(home / FILE, data)
    return entry


def verifications(home: Path, environment: str) -> dict[str, dict[str, Any]]:
    """Backup id -> its last verification, for one environment."""
    found = _load(home).get(environment, {})
    return found if isinstance(found, dict) else {}


def forget(home: Path, environment: str, backup_ids: list[str]) -> None:
    """Drop the records of backups that no longer exist (expired)."""
    data = _load(home)
    known = data.get(environment)
    if not isinstance(known, dict) or not any(i in known for i in backup_ids):
        return
    for i in backup_ids:
        known.pop(i, None)
    write_json(home / FILE, data)


def window_chart(backups: list[dict[str, Any]], window: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The restorable window on one time axis: backups (when each finished), what can be
    restored to (per backup's window), where a window ends at a WAL gap or damage, and now.
    Returns the lanes, the axis (start, end, ticks) for ``augeoctl.charts``."""
    from augeoctl.charts import Lane

    def ts(text: str | None) -> float | None:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None

    finished = [(t, b["id"]) for b in backups if b["kind"] == "postgres" and (t := ts(b.get("finished_at")))]
    spans = [(a, b) for w in window.get("windows", []) if (a := ts(w["earliest"])) and (b := ts(w["latest"]))]
    breaks = [(t, f"{w['backup_id']}: window ends at "
                  + ("missing " + w["ends_at_gap"][0] if w.get("ends_at_gap") else "damaged " + w["ends_at_damaged"][0]))
              for w in window.get("windows", [])
              if (w.get("ends_at_gap") or w.get("ends_at_damaged")) and (t := ts(w["latest"] or w["earliest"]))]
    end = now.timestamp()
    points = [t for t, _ in finished] + [a for a, _ in spans]
    start = min(points) if points else end - 3600
    start -= (end - start) * 0.02 + 1
    lanes = [Lane("backups", marks=finished, color="#1f77b4"),
             Lane("restorable", spans=spans, color="#2ca02c"),
             Lane("WAL ends", marks=breaks, color="#d62728")]

    def label(t: float) -> str:
        return datetime.fromtimestamp(t, tz=now.tzinfo).strftime("%m-%d %H:%M")

    ticks = [(start + (end - start) / 4 * i, label(start + (end - start) / 4 * i)) for i in range(5)]
    return {"lanes": lanes, "start": start, "end": end, "ticks": ticks, "labels": (label(start), label(end) + " now")}


# -- retention: what a policy keeps, and its expiry ---------------------------------------


@dataclass(frozen=True)
class Decision:
    keep: tuple[BackupInfo, ...]
    expire: tuple[BackupInfo, ...]
    reasons: dict[str, str] = field(default_factory=dict)  # backup id -> why kept or expired


def _finished(b: BackupInfo) -> datetime:
    assert b.finished_at is not None  # a usable backup has one (a damaged one is not passed here)
    return b.finished_at


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
    first_kept = min((k.id for k in kept), default=None)
    for b in damaged:
        # A damaged backup has no usable finish time: its folder name (pg-YYYYmmddTHHMMSSZ)
        # orders it; older than every kept backup, it goes.
        if first_kept is not None and b.id < first_kept:
            expired.append(b)
            reasons[b.id] = "damaged, and older than every kept backup"
        else:
            kept.append(b)
            reasons[b.id] = "damaged, kept while newer than a kept backup (see `backup list`)"
    return Decision(tuple(kept), tuple(expired), reasons)


def expire(pg: PostgresBackend, pol: Policy, verified: set[str], now: datetime, reporter: Reporter, *,
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
