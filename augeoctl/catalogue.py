"""The backup catalogue's memory: what ``backup verify`` found for each backup, kept per
environment in ``AUGEO_HOME/verifications.json``, so that ``backup list`` and ``backup show``
say whether and when each backup was last verified, as pgBackRest ``info`` and Barman
``show-backup`` do for theirs.

A record is written after every verification, passed or failed; a failed one names its
failed checks. The file is replaced atomically; an unreadable file is read as empty (the
backups are then shown as never verified, which is the safe reading).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from augeoctl.backends.base import VerifyResult
from augeoctl.backends.local_targets import write_json
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
