"""The drill history: every drill's JSON and Markdown report, kept under ``AUGEO_HOME/drills``.

Reports of an older schema are read as the current one: a version 1 report's
``lost_writes`` counted what version 2 calls ``missing_before_recovery_point``, and it did
not count lost writes in today's sense, so those read as None (not measured).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl.drill import model
from augeoctl.drill.model import DrillReport
from augeoctl.timeparse import format_duration


def folder(home: Path) -> Path:
    return home / "drills"


def new_id(home: Path) -> str:
    base = "drill-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate, n = base, 1
    while (folder(home) / f"{candidate}.json").exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def save(home: Path, report: DrillReport) -> DrillReport:
    """Write the report's JSON and Markdown; returns it with ``report_path`` set."""
    d = folder(home)
    d.mkdir(parents=True, exist_ok=True)
    md_path = d / f"{report.id}.md"
    report = replace(report, report_path=str(md_path))
    data = model.to_json(report)
    (d / f"{report.id}.json").write_text(json.dumps(data, indent=2))
    md_path.write_text(model.render_markdown(data))
    return report


def load(home: Path) -> list[dict[str, Any]]:
    """Past drills, newest first."""
    out: list[dict[str, Any]] = []
    d = folder(home)
    if not d.exists():
        return out
    for f in sorted(d.glob("drill-*.json"), reverse=True):
        try:
            data = json.loads(f.read_text())
        except ValueError:
            continue
        if isinstance(data, dict):
            out.append(upgrade(data))
    return out


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A kept report in the current schema's terms (see the module docstring)."""
    if data.get("schema_version", 1) >= model.SCHEMA_VERSION:
        return data
    data = dict(data)
    data["missing_before_recovery_point"] = data.get("lost_writes")
    data["lost_writes"] = None
    data.setdefault("interrupted", None)
    return data


@dataclass(frozen=True)
class Drawn:
    chart: Any  # charts.Chart
    path: Path


def chart(drills: list[dict[str, Any]], home: Path) -> Drawn:
    """RTO and RPO of the given drills (oldest on the left) against the objectives, on a log
    scale (seconds, from milliseconds to hours); the SVG is written to drills/history.svg."""
    from augeoctl import charts

    ordered = list(reversed(drills))
    rto = [(float(i), float(d["rto_seconds"])) for i, d in enumerate(ordered, 1) if d.get("rto_seconds") is not None]
    rpo = [(float(i), max(float(d["rpo_seconds"]), 0.001)) for i, d in enumerate(ordered, 1)
           if d.get("rpo_seconds") is not None]
    objectives: dict[str, Any] = next((d["objectives"] for d in drills if isinstance(d.get("objectives"), dict)), {})
    rto_goal = float(objectives.get("rto_seconds") or model.DEFAULT_RTO_SECONDS)
    rpo_goal = float(objectives.get("rpo_seconds") or model.DEFAULT_RPO_SECONDS)
    step = max(1, len(ordered) // 6)
    ticks = [(float(i), str(d.get("started_at") or d["id"])[5:10]) for i, d in enumerate(ordered, 1)][::step]
    c = charts.Chart(
        title=f"RTO and RPO of the last {len(ordered)} drill(s)", x_label="drill (oldest left; month-day)",
        y_label="seconds (log scale)", series={"RTO": rto, "RPO": rpo},
        lines={f"RTO objective {format_duration(rto_goal)}": rto_goal,
               f"RPO objective {format_duration(rpo_goal)}": rpo_goal},
        log_y=True, x_ticks=ticks)
    path = folder(home) / "history.svg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(charts.svg(c))
    return Drawn(c, path)
