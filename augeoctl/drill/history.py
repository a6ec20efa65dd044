"""The drill history: every drill's JSON and Markdown report, kept under ``AUGEO_HOME/drills``.

Reports of an older schema are read as the current one: a version 1 report's
``lost_writes`` counted what version 2 calls ``missing_before_recovery_point``, and it did
not count lost writes in today's sense, so those read as None (not measured).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl.drill import model
from augeoctl.drill.model import DrillReport


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
