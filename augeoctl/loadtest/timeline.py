"""Latency over one run: Locust's stats history read as series and drawn against the gates.

``--csv PREFIX`` makes Locust write ``PREFIX_stats_history.csv``, a row a second for all
requests together (``Aggregated``; ``--csv-full-history`` adds a row per request name,
which is ignored here). Its percentiles are Locust's *current* ones, over the last few
seconds, so a slow minute shows where it happened; ``Total Average Response Time`` is the
average since the start, whose last value is what the ``avg_ms`` gate judges. The gates
themselves are judged on the whole run's statistics (:mod:`augeoctl.loadtest.gates`): the
chart shows when a percentile crossed its line, the verdict table whether the run did.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from augeoctl.loadtest.gates import AGGREGATED

if TYPE_CHECKING:
    from augeoctl.charts import Chart

CSV_PREFIX = "locust"  # run.py's --csv PREFIX inside the results folder
HISTORY_FILE = f"{CSV_PREFIX}_stats_history.csv"
CHART_FILE = "latency.svg"


@dataclass(frozen=True)
class Drawn:
    """A series drawn: its name, the gate it is held to (also the ``Point`` field it plots),
    the label of that gate's line, and the colour both share (the gate dashed)."""

    name: str
    gate: str
    line: str
    color: str


SERIES = (Drawn("p50", "p50_ms", "p50 gate", "#2ca02c"), Drawn("p95", "p95_ms", "p95 gate", "#d62728"),
          Drawn("p99", "p99_ms", "p99 gate", "#9467bd"),
          Drawn("average since start", "avg_ms", "avg gate", "#1f77b4"))
FLOOR_MS = 1.0  # Locust rounds to whole milliseconds: a 0 is drawn at 1 on the log scale


@dataclass(frozen=True)
class Point:
    """One row of the history: the state ``seconds`` after the run's first row."""

    seconds: float
    users: int
    rps: float
    p50_ms: float | None  # None: no request in Locust's window yet ("N/A")
    p95_ms: float | None
    p99_ms: float | None
    avg_ms: float | None  # since the start; None before the first request
    requests: int  # since the start
    failures: int


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "N/A") else None
    except ValueError:
        return None


def parse_history(text: str) -> list[Point]:
    """The ``Aggregated`` rows of a stats history CSV, in time order."""
    rows = [(stamp, r) for r in csv.DictReader(io.StringIO(text))
            if r.get("Name") == AGGREGATED and (stamp := _number(r.get("Timestamp"))) is not None]
    start = min((stamp for stamp, _ in rows), default=0.0)
    points = []
    for stamp, row in rows:
        requests = int(_number(row.get("Total Request Count")) or 0)
        points.append(Point(
            seconds=stamp - start, users=int(_number(row.get("User Count")) or 0),
            rps=_number(row.get("Requests/s")) or 0.0,
            p50_ms=_number(row.get("50%")), p95_ms=_number(row.get("95%")), p99_ms=_number(row.get("99%")),
            avg_ms=_number(row.get("Total Average Response Time")) if requests else None,
            requests=requests, failures=int(_number(row.get("Total Failure Count")) or 0)))
    return sorted(points, key=lambda p: p.seconds)


def read_history(path: Path) -> list[Point]:
    return parse_history(path.read_text(errors="replace")) if path.exists() else []


def latency_series(points: list[Point]) -> dict[str, list[tuple[float, float]]]:
    """p50, p95, p99 and the average since the start, in ms against seconds into the run;
    a row without a value (no request yet) is left out."""
    out: dict[str, list[tuple[float, float]]] = {}
    for s in SERIES:
        values = [(p.seconds, getattr(p, s.gate)) for p in points]
        out[s.name] = [(x, y) for x, y in values if y is not None]
    return out


def gate_lines(gates: dict[str, float]) -> dict[str, float]:
    """The profile's global latency gates as horizontal lines (``p95 gate 1000 ms``); the
    error rate and throughput gates have other units and are not drawn."""
    return {_label(s, gates): gates[s.gate] for s in SERIES if s.gate in gates}


def _label(s: Drawn, gates: dict[str, float]) -> str:
    return f"{s.line} {gates[s.gate]:g} ms"


def latency_chart(profile: str, gates: dict[str, float], points: list[Point]) -> Chart:
    """The run's latency percentiles over time against its gates, on a log scale (a few
    milliseconds on loopback beside gates of seconds)."""
    from augeoctl.charts import Chart

    series = {name: [(x, max(y, FLOOR_MS)) for x, y in pts] for name, pts in latency_series(points).items()}
    colors = {s.name: s.color for s in SERIES}
    colors |= {_label(s, gates): s.color for s in SERIES if s.gate in gates}
    return Chart(title=f"Latency of load test {profile} (all requests)", x_label="seconds into the run",
                 y_label="ms (log scale)", series=series, lines=gate_lines(gates), log_y=True, colors=colors)


def chart_for_run(results_dir: Path, profile: str, gates: dict[str, float]) -> Chart:
    """The latency chart of the run whose Locust CSVs are in ``results_dir``."""
    return latency_chart(profile, gates, read_history(results_dir / HISTORY_FILE))


def write_chart(results_dir: Path, profile: str, gates: dict[str, float]) -> Path | None:
    """Write ``latency.svg`` beside the run's results; None when Locust wrote no history."""
    from augeoctl import charts

    if not (results_dir / HISTORY_FILE).exists():
        return None
    path = results_dir / CHART_FILE
    path.write_text(charts.svg(chart_for_run(results_dir, profile, gates)))
    return path
