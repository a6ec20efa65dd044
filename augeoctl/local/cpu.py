"""CPU use of a local process tree, sampled with psutil.

Each process's cumulative CPU time (utime + stime) is recorded at every sample, so that a
caller can judge sustained use over windows of its choosing (the load generator's
verdict) as well as the busiest recent interval (the dashboard).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from augeoctl.local import procs

MIN_INTERVAL = 0.5  # seconds: shorter intervals are clock-tick noise


def process_tree(root: int) -> list[int]:
    """``root`` and every descendant alive now."""
    return [root, *procs.children(root)]


def cpu_seconds(pid: int) -> float | None:
    """Cumulative CPU time (user + system) of one process, or None when it is gone."""
    import psutil

    try:
        t = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return t.user + t.system


class CpuSampler:
    """CPU of a process tree: a series of ``(time, cumulative CPU seconds)`` per process.

    ``max_percent`` is the busiest process's share of one core over any interval since the
    caller last reset it (the dashboard resets it at every refresh); ``series`` keeps
    every sample for judging sustained use afterwards.
    """

    def __init__(self, root_pid: int, clock: Callable[[], float] = time.time, keep: bool = True) -> None:
        self.root = root_pid
        self.clock = clock
        self.keep = keep  # False: only the newest sample per process (a long-running dashboard)
        self.series: dict[int, list[tuple[float, float]]] = {}
        self.peaks: dict[int, float] = {}
        self.max_percent = 0.0

    def tree(self) -> list[int]:
        return process_tree(self.root)

    def sample(self) -> None:
        now = self.clock()
        for pid in self.tree():
            used = cpu_seconds(pid)
            if used is None:
                continue
            points = self.series.setdefault(pid, [])
            if points and now - points[-1][0] < MIN_INTERVAL:
                continue
            if points:
                t0, u0 = points[-1]
                pct = 100.0 * (used - u0) / (now - t0)
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), pct)
                self.max_percent = max(self.max_percent, pct)
            if not self.keep:
                points.clear()
            points.append((now, used))
