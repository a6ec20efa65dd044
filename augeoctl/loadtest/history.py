"""Past load-test runs, kept under ``AUGEO_HOME/loadtests``, and p95 per profile across them.

Each run's ``summary.json`` is copied there with its environment (one file per run, so two
runs at once never write the same file), wherever ``--results`` put the run itself: the
history outlives a results folder that was cleaned away. Runs of different environments
are not comparable (the sandbox on loopback against an App Service), so a listing is of one
environment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augeoctl.backends.local_targets import write_json

if TYPE_CHECKING:
    from augeoctl.charts import Chart

SCHEMA_VERSION = 1
CHART_FILE = "p95-history.svg"
GATE_COLOR = "#333333"  # a p95 gate shared by several profiles


def folder(home: Path) -> Path:
    return home / "loadtests"


def record(summary: dict[str, Any], environment: str) -> dict[str, Any]:
    """What the history keeps of a run: its summary, its environment, and absolute paths
    (``--results`` may be relative to where the run was started)."""
    data = dict(summary, schema_version=SCHEMA_VERSION, environment=environment)
    for key in ("results_dir", "latency_svg"):
        if data.get(key):
            data[key] = str(Path(data[key]).resolve())
    return data


def save(home: Path, summary: dict[str, Any], environment: str) -> Path:
    """Keep a run (``RunResult.to_dict()``) in the history; returns the file written."""
    d = folder(home)
    d.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(str(summary["started_at"])).strftime("%Y%m%dT%H%M%S%fZ")
    base = f"run-{stamp}-{re.sub(r'[^A-Za-z0-9._-]+', '-', str(summary['profile']))}"
    path, n = d / f"{base}.json", 1
    while path.exists():
        n += 1
        path = d / f"{base}-{n}.json"
    data = record(summary, environment)
    data["id"] = path.stem
    write_json(path, data)  # atomic: a reader never sees half a record
    return path


def load(home: Path, environment: str | None = None, profile: str | None = None) -> list[dict[str, Any]]:
    """Kept runs, newest first; those of ``environment`` and ``profile`` when given. A file
    that is not a run's record (unreadable, hand-edited) is passed over."""
    d = folder(home)
    runs = []
    for f in d.glob("run-*.json") if d.exists() else ():
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not {"profile", "started_at", "verdict"} <= set(data):
            continue
        data.setdefault("id", f.stem)
        if environment is not None and data.get("environment") != environment:
            continue
        if profile is not None and data.get("profile") != profile:
            continue
        runs.append(data)
    return sorted(runs, key=lambda r: (str(r["started_at"]), r["id"]), reverse=True)


def p95_gate(run: dict[str, Any]) -> float | None:
    """The run's global p95 gate, as its profile had it then (None: it had none)."""
    return next((float(g["threshold"]) for g in run.get("gates") or []
                 if g.get("scope") == "global" and g.get("gate") == "p95_ms"), None)


def row(run: dict[str, Any]) -> dict[str, Any]:
    """One run as ``loadtest history`` lists it."""
    totals = run.get("totals") or {}
    return {"id": run["id"], "started_at": run["started_at"], "profile": run["profile"],
            "environment": run.get("environment"), "verdict": run["verdict"],
            "p95_ms": totals.get("p95_ms") if totals.get("requests") else None, "p95_gate_ms": p95_gate(run),
            "avg_ms": totals.get("avg_ms") if totals.get("requests") else None,
            "requests": totals.get("requests"), "failures": totals.get("failures"), "rps": totals.get("rps"),
            "results_dir": run.get("results_dir"), "latency_svg": run.get("latency_svg")}


@dataclass(frozen=True)
class Drawn:
    chart: Any  # charts.Chart
    path: Path


def p95_chart(rows: list[dict[str, Any]]) -> Chart:
    """p95 of every run (``row()``s, newest first), a series per profile along the runs in
    time order, against each profile's p95 gate (one line for the profiles that share it,
    named after them unless every profile does), on a log scale."""
    from augeoctl.charts import PALETTE, Chart

    ordered = list(reversed(rows))
    profiles = list(dict.fromkeys(r["profile"] for r in ordered))
    colors = {f"p95 {p}": PALETTE[i % len(PALETTE)] for i, p in enumerate(profiles)}
    series: dict[str, list[tuple[float, float]]] = {f"p95 {p}": [] for p in profiles}
    for i, r in enumerate(ordered, 1):
        if r["p95_ms"] is not None:
            series[f"p95 {r['profile']}"].append((float(i), max(float(r["p95_ms"]), 1.0)))
    gates: dict[float, list[str]] = {}
    for p in profiles:  # the newest run's gate stands for its profile
        gate = next((r["p95_gate_ms"] for r in rows if r["profile"] == p and r["p95_gate_ms"] is not None), None)
        if gate is not None:
            gates.setdefault(gate, []).append(p)
    lines = {}
    for gate, names in gates.items():
        label = f"p95 gate {gate:g} ms" + ("" if len(names) == len(profiles) else f" ({', '.join(names)})")
        lines[label] = gate
        colors[label] = colors[f"p95 {names[0]}"] if len(names) == 1 else GATE_COLOR
    step = max(1, len(ordered) // 6)
    ticks = [(float(i), str(r["started_at"])[5:16].replace("T", " ")) for i, r in enumerate(ordered, 1)][::step]
    return Chart(title=f"p95 of the last {len(ordered)} load test(s)", x_label="run (oldest left; month-day time)",
                 y_label="ms (log scale)", series=series, lines=lines, log_y=True, x_ticks=ticks, colors=colors)


def draw(rows: list[dict[str, Any]], home: Path) -> Drawn:
    """The p95 chart of ``rows``, also written as ``loadtests/p95-history.svg``."""
    from augeoctl import charts

    chart = p95_chart(rows)
    path = folder(home) / CHART_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(charts.svg(chart))
    return Drawn(chart, path)
