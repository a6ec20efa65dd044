"""Request statistics of the reference service over sliding windows (pure functions).

``/metrics`` returns, for each window (``1m`` and ``5m``)::

    {"requests": int, "rate_per_s": float, "errors": int, "error_rate": float,
     "latency_ms": {"avg": float, "p50": float, "p95": float, "p99": float},
     "endpoints": {"GET /api/users/{user_id}": {"requests": int, "avg_ms": float, "p95_ms": float}}}

plus ``process`` (``cpu_percent``, ``rss_bytes``, ``uptime_s``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

WINDOWS = {"1m": 60.0, "5m": 300.0}


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic seconds
    route: str  # "GET /api/users/{user_id}"
    status: int
    ms: float


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: list[Sample], now: float, window: float) -> dict[str, Any]:
    recent = [s for s in samples if now - s.at <= window]
    ms = [s.ms for s in recent]
    errors = sum(1 for s in recent if s.status >= 500)
    per: dict[str, list[float]] = {}
    for s in recent:
        per.setdefault(s.route, []).append(s.ms)
    return {
        "requests": len(recent),
        "rate_per_s": round(len(recent) / window, 3),
        "errors": errors,
        "error_rate": round(errors / len(recent), 4) if recent else 0.0,
        "latency_ms": {
            "avg": round(sum(ms) / len(ms), 3) if ms else 0.0,
            "p50": round(percentile(ms, 50), 3),
            "p95": round(percentile(ms, 95), 3),
            "p99": round(percentile(ms, 99), 3),
        },
        "endpoints": {
            route: {"requests": len(v), "avg_ms": round(sum(v) / len(v), 3), "p95_ms": round(percentile(v, 95), 3)}
            for route, v in sorted(per.items())
        },
    }


class Recorder:
    """Keeps the last five minutes of samples (bounded), thread-safe."""

    def __init__(self, max_samples: int = 200_000) -> None:
        self._samples: deque[Sample] = deque(maxlen=max_samples)
        self._lock = threading.Lock()
        self.started = time.monotonic()

    def add(self, route: str, status: int, ms: float) -> None:
        with self._lock:
            self._samples.append(Sample(time.monotonic(), route, status, ms))

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            while self._samples and now - self._samples[0].at > max(WINDOWS.values()):
                self._samples.popleft()
            samples = list(self._samples)
        return {name: summarize(samples, now, secs) for name, secs in WINDOWS.items()}


class ProcessSampler:
    """CPU use since the previous sample, and memory, of this process (psutil)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._last: tuple[float, float] | None = None

    def sample(self) -> dict[str, Any]:
        import psutil

        now = time.monotonic()
        me = psutil.Process()
        with me.oneshot():
            times = me.cpu_times()
            used = times.user + times.system
            rss = int(me.memory_info().rss)
        cpu = None
        if self._last is not None and now > self._last[0]:
            cpu = round(100.0 * (used - self._last[1]) / (now - self._last[0]), 1)
        self._last = (now, used)
        return {"cpu_percent": cpu, "rss_bytes": rss, "uptime_s": round(now - self.started, 1)}
