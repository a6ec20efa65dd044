"""What a dashboard panel shows (``PanelData``) and the formatting its sources share."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from augeoctl.health import Snapshot, Unreachable, Unreadable, evaluate
from augeoctl.health.readings import TrafficReading
from augeoctl.timeparse import format_duration


@dataclass(frozen=True)
class PanelData:
    state: str  # ok | degraded | down | error
    lines: tuple[str, ...]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


Source = Callable[[], PanelData]

_BARS = "▁▂▃▄▅▆▇█"

GAP = math.nan  # a reading that succeeded without a value: drawn blank, never as a bar
HISTORY = 30  # points a trend keeps and draws: a minute at the default 2 s; fits a panel at 120 columns


def sparkline(values: Sequence[float | None], width: int = 20) -> str:
    """The last ``width`` values as bars scaled to their own maximum; a failed probe is ``×``
    and a ``GAP`` is blank."""
    tail = list(values)[-width:]
    top = max((v for v in tail if v is not None and not math.isnan(v)), default=0.0)
    out = []
    for v in tail:
        if v is None:
            out.append("×")
        elif math.isnan(v):
            out.append(" ")
        else:
            out.append(_BARS[max(0, min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1))))] if top > 0 else _BARS[0])
    return "".join(out)


class History:
    """The last ``size`` points of one quantity, one per refresh, drawn as a sparkline.

    As dolphie does for its graphs, every poll adds a point and the history outlives the
    refresh: it lives in the closure of the panel's source, as long as the dashboard. A
    point is the value, ``GAP`` when the reading had none (a rate's first reading, a metric
    Azure Monitor has not published yet), or ``None`` when the reading failed, so an outage
    shows as ``×`` and no value is made up for it.
    """

    def __init__(self, label: str, unit: Callable[[float], str], size: int = HISTORY) -> None:
        self.label = label
        self.unit = unit
        self.points: deque[float | None] = deque(maxlen=size)

    def add(self, value: float | None) -> None:
        self.points.append(GAP if value is None else float(value))

    def fail(self) -> None:
        self.points.append(None)

    @property
    def seen(self) -> bool:
        """Whether any reading had a value: a quantity the environment offers."""
        return any(v is not None and not math.isnan(v) for v in self.points)

    def spark(self) -> str:
        """The sparkline (newest at the right), padded to the history's size."""
        size = self.points.maxlen or len(self.points)
        return f"{sparkline(self.points, size):<{size}}"

    def line(self) -> str:
        """Label, sparkline and the newest value."""
        last = self.points[-1] if self.points else GAP
        now = "failed" if last is None else "-" if math.isnan(last) else self.unit(last)
        return f"{self.label:<12}{self.spark()} {now}"


def ms(v: float) -> str:
    return f"{v:.0f} ms"


def rate(v: float) -> str:
    return f"{v:.1f}/s"


def mib(v: float) -> str:
    return f"{v / 2**20:.1f} MiB"


def failed(r: Unreachable | Unreadable, *trends: History) -> PanelData:
    """A source that did not answer is down; one whose reporter did not is an error. The
    trends the environment offers stay on the panel, with the failure at their end."""
    return PanelData("down" if isinstance(r, Unreachable) else "error",
                     (r.error, *(t.line() for t in trends if t.seen)))


def ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    return format_duration(max(0.0, (now - when).total_seconds()))


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def firing(snapshot: Snapshot) -> list[str]:
    """The alert rules that fire over a snapshot, by name."""
    return [c.name.removeprefix("alert ") for c in evaluate(snapshot) if c.name.startswith("alert") and not c.ok]


def traffic_lines(w: TrafficReading, rate: str, alerts: list[str]) -> tuple[str, str, str]:
    """Rate and errors, latency percentiles, and the firing alerts."""
    return (rate,
            f"p50 {w.p50_ms:.0f} ms  p95 {w.p95_ms:.0f} ms  p99 {w.p99_ms:.0f} ms",
            "alerts: " + (", ".join(alerts) + " FIRING" if alerts else "none firing"))
