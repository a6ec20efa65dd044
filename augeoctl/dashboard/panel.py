"""What a dashboard panel shows (``PanelData``) and the formatting its sources share."""

from __future__ import annotations

from collections.abc import Callable
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


def sparkline(values: list[float | None], width: int = 20) -> str:
    """The last ``width`` values as bars scaled to their own maximum; a failed probe is ``×``."""
    tail = values[-width:]
    top = max((v for v in tail if v is not None), default=0.0)
    out = []
    for v in tail:
        if v is None:
            out.append("×")
        else:
            out.append(_BARS[min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1))) if top > 0 else 0])
    return "".join(out)


def failed(r: Unreachable | Unreadable) -> PanelData:
    """A source that did not answer is down; one whose reporter did not is an error."""
    return PanelData("down" if isinstance(r, Unreachable) else "error", (r.error,))


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
