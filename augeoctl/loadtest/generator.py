"""Did the load generator keep up? A pure verdict over sampled CPU and Locust's log.

A generator that saturates a core sends late and measures late, so its latencies cannot be
trusted. Locust itself warns when a process averages over 90 % of a core across its
monitor interval (10 s in Locust 2.4x, ``CPU_MONITOR_INTERVAL`` in locust/runners.py).
A short peak is not saturation: start-up (imports, spawning users) and a busy neighbour
reach 98 % for a moment without constraining the run. So the judgement is made on
sustained use during the steady phase (after every user is spawned, before the run-time
limit), over windows of several seconds, and a run is invalid only when the generator was
saturated for a meaningful share of that time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

SATURATED = 90.0  # % of one core: Locust's own warning level
WINDOW = 5.0  # seconds per judged window (finer than Locust's 10 s monitor interval)
SATURATED_SHARE = 0.25  # share of the steady phase a process may spend saturated

Series = dict[int, list[tuple[float, float]]]  # pid -> [(time, cumulative CPU seconds)]

# What Locust logs when a process goes over its CPU warning level (locust/runners.py):
# a standalone process or a local worker, and the master about its (remote) workers.
_LOCAL_WARNINGS = ("CPU usage above",)
_WORKER_WARNINGS = ("exceeded cpu threshold", "CPU usage threshold was exceeded", "CPU usage was too high")
_STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\]")
_SPAWNED = "All users spawned"
_RUN_TIME_OVER = "--run-time limit reached"


@dataclass(frozen=True)
class GeneratorHealth:
    """Whether the load generator kept up, and the figures the verdict rests on."""

    cpu_max: float | None  # busiest local Locust process, % of one core over a judged window
    saturated: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)
    cpu_peak: float | None = None  # the highest short-interval figure seen, start-up included
    basis: str = ""  # how the figure was measured, in words


def windows(points: list[tuple[float, float]], start: float, end: float,
            width: float = WINDOW) -> list[tuple[float, float, float]]:
    """``(from, to, % of a core)`` over consecutive windows of at least ``width`` seconds
    between ``start`` and ``end``; a span shorter than one window is judged whole."""
    inside = [p for p in points if start <= p[0] <= end]
    out: list[tuple[float, float, float]] = []
    i = 0
    for j in range(1, len(inside)):
        if inside[j][0] - inside[i][0] >= width:
            out.append(_usage(inside[i], inside[j]))
            i = j
    if not out and len(inside) >= 2 and inside[-1][0] > inside[0][0]:
        out.append(_usage(inside[0], inside[-1]))
    return out


def _usage(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float, float]:
    return a[0], b[0], 100.0 * (b[1] - a[1]) / (b[0] - a[0])


def _peak(points: list[tuple[float, float]]) -> float | None:
    rates = [_usage(a, b)[2] for a, b in zip(points, points[1:], strict=False) if b[0] > a[0]]
    return max(rates) if rates else None


def steady_phase(log_text: str) -> tuple[float | None, float | None]:
    """When every user was spawned and when the run-time limit was reached, as epoch
    seconds, from Locust's log (its timestamps are local time, like this process's)."""
    start = end = None
    for line in log_text.splitlines():
        m = _STAMP.match(line)
        if not m:
            continue
        when = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
        if _SPAWNED in line and start is None:
            start = when
        elif _RUN_TIME_OVER in line and end is None:
            end = when
    return start, end


def judge_generator(series: Series, log_text: str, steady: tuple[float, float] | None = None, *,
                    remote_workers: bool = False, threshold: float = SATURATED, width: float = WINDOW,
                    share: float = SATURATED_SHARE) -> GeneratorHealth:
    """Pure verdict on the generator.

    ``series`` holds the sampled local Locust processes; ``steady`` the span to judge
    (default: all samples). A local process is saturated when its windows at or above
    ``threshold`` cover at least ``share`` of the steady phase. Locust's own warnings
    decide for what this machine cannot sample: remote workers, as the master reports
    them, and any run where sampling saw nothing.
    """
    reasons: list[str] = []
    busiest: float | None = None
    peaks = [p for p in (_peak(points) for points in series.values()) if p is not None]
    for pid, points in sorted(series.items()):
        if not points:
            continue
        start, end = steady if steady else (points[0][0], points[-1][0])
        judged = windows(points, start, end, width)
        if not judged:
            continue
        total = sum(b - a for a, b, _ in judged)
        hot = sum(b - a for a, b, pct in judged if pct >= threshold)
        top = max(pct for _, _, pct in judged)
        busiest = top if busiest is None else max(busiest, top)
        if total > 0 and hot / total >= share:
            reasons.append(f"Locust process {pid} was at or above {threshold:.0f}% of a core for "
                           f"{100 * hot / total:.0f}% of the steady phase (highest {top:.0f}% over "
                           f"{width:g} s windows)")
    sampled = busiest is not None
    warnings = _WORKER_WARNINGS if sampled and remote_workers else (
        () if sampled else _LOCAL_WARNINGS + _WORKER_WARNINGS)
    for line in log_text.splitlines():
        if any(w in line for w in warnings):
            reasons.append("Locust: " + line.split("] ", 1)[-1].split(" See https://")[0].strip())
            break
    peak = round(max(peaks), 1) if peaks else None
    basis = ""
    if busiest is not None:
        basis = f"busiest process: {busiest:.0f}% over {width:g} s windows of the steady phase"
        if peak is not None and peak > busiest:
            basis += f" (peak {peak:.0f}% between two samples, start-up included)"
    return GeneratorHealth(round(busiest, 1) if busiest is not None else None, bool(reasons),
                           tuple(reasons), peak, basis)
