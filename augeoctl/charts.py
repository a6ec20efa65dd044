"""Small charts: an SVG line chart (no plotting library; any browser or Markdown viewer shows
it) and the same chart drawn in the terminal with plotext.

A chart is one or more series of points against a numeric x axis, optional horizontal
reference lines (objectives), and optionally a logarithmic y axis, for values that span
milliseconds to hours (an RPO of 40 ms beside an RTO objective of 4 h).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f")


@dataclass
class Chart:
    title: str
    x_label: str
    y_label: str
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    lines: dict[str, float] = field(default_factory=dict)  # name -> y of a horizontal line
    log_y: bool = False
    x_ticks: Sequence[tuple[float, str]] = ()  # labelled x positions; default: 6 numbers
    colors: dict[str, str] = field(default_factory=dict)  # series or line name -> colour (else the palette)

    def _values(self) -> list[float]:
        ys = [y for pts in self.series.values() for _, y in pts] + list(self.lines.values())
        return [y for y in ys if not self.log_y or y > 0]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.3g}"


def svg(chart: Chart, width: int = 720, height: int = 400) -> str:
    """The chart as an SVG document."""
    left, right, top, bottom = 70, 200, 36, 50
    xs = [x for pts in chart.series.values() for x, _ in pts] or [0.0, 1.0]
    xmin, xmax = min(xs), max(xs)
    if xmax == xmin:
        xmin, xmax = xmin - 1, xmax + 1
    ys = chart._values() or [1.0]
    if chart.log_y:
        lo, hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
        hi = hi if hi > lo else lo + 1

        def ty(y: float) -> float:
            v = math.log10(max(y, 10.0 ** lo))
            return top + (hi - v) / (hi - lo) * (height - top - bottom)

        ticks = [10.0 ** e for e in range(lo, hi + 1)]
    else:
        ymax = max(ys) * 1.1 or 1.0

        def ty(y: float) -> float:
            return top + (ymax - y) / ymax * (height - top - bottom)

        ticks = [ymax / 5 * i for i in range(6)]

    def tx(x: float) -> float:
        return left + (x - xmin) / (xmax - xmin) * (width - left - right)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="20" font-size="14">{escape(chart.title)}</text>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
           f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">'
           f'{escape(chart.x_label)}</text>',
           f'<text x="16" y="{(top + height - bottom) / 2}" text-anchor="middle" '
           f'transform="rotate(-90 16 {(top + height - bottom) / 2})">{escape(chart.y_label)}</text>']
    for y in ticks:
        out.append(f'<line x1="{left}" y1="{ty(y):.1f}" x2="{width - right}" y2="{ty(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{ty(y) + 4:.1f}" text-anchor="end">{_fmt(y)}</text>')
    xt = chart.x_ticks or [(xmin + (xmax - xmin) / 5 * i, _fmt(xmin + (xmax - xmin) / 5 * i)) for i in range(6)]
    for x, label in xt:
        out.append(f'<text x="{tx(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{escape(label)}</text>')
    legend = 0
    for n, (name, y) in enumerate(chart.lines.items()):
        color = chart.colors.get(name, PALETTE[(len(chart.series) + n) % len(PALETTE)])
        out.append(f'<line x1="{left}" y1="{ty(y):.1f}" x2="{width - right}" y2="{ty(y):.1f}" stroke="{color}" '
                   'stroke-dasharray="6 4"/>')
        out.append(_legend(width - right, top, legend, color, name, dashed=True))
        legend += 1
    for n, (name, pts) in enumerate(chart.series.items()):
        color = chart.colors.get(name, PALETTE[n % len(PALETTE)])
        pts = sorted(pts)
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                       + " ".join(f"{tx(x):.1f},{ty(y):.1f}" for x, y in pts) + '"/>')
        out += [f'<circle cx="{tx(x):.1f}" cy="{ty(y):.1f}" r="3" fill="{color}"/>' for x, y in pts]
        out.append(_legend(width - right, top, legend, color, name))
        legend += 1
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _legend(x0: float, top: float, row: int, color: str, name: str, dashed: bool = False) -> str:
    y = top + 10 + 20 * row
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return (f'<line x1="{x0 + 10}" y1="{y}" x2="{x0 + 30}" y2="{y}" stroke="{color}" stroke-width="2"{dash}/>'
            f'<text x="{x0 + 35}" y="{y + 4}">{escape(name)}</text>')


def terminal(chart: Chart, width: int = 78, height: int = 18) -> str:
    """The chart drawn with plotext, as text (no colours, so it pipes and diffs)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.title(chart.title)
    plt.xlabel(chart.x_label)
    plt.ylabel(chart.y_label)
    if chart.log_y:
        plt.yscale("log")
    for name, pts in chart.series.items():
        pts = sorted(pts)
        ys = [max(y, 1e-3) if chart.log_y else y for _, y in pts]
        plt.plot([x for x, _ in pts], ys, label=name, marker="dot")
    for y in chart.lines.values():
        plt.hline(y)
    if chart.x_ticks:
        plt.xticks([x for x, _ in chart.x_ticks], [label for _, label in chart.x_ticks])
    text = plt.uncolorize(plt.build())
    plt.clear_figure()
    lines = "; ".join(f"{name} at {_fmt(y)}" for name, y in chart.lines.items())
    return str(text).rstrip() + (f"\nhorizontal lines: {lines}\n" if lines else "\n")


@dataclass
class Lane:
    """One row of a timeline: spans (start, end) drawn as bars, marks as points."""

    label: str
    spans: list[tuple[float, float]] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)  # (time, name)
    color: str = PALETTE[0]


def timeline_text(lanes: list[Lane], start: float, end: float, labels: tuple[str, str], width: int = 60) -> str:
    """Lanes on one time axis, in characters: ``█`` covered, ``·`` not, ``▲`` a mark."""
    span = max(end - start, 1e-9)

    def col(t: float) -> int:
        return min(width - 1, max(0, int((t - start) / span * width)))

    name_w = max(len(lane.label) for lane in lanes) + 2
    out = [" " * name_w + labels[0] + labels[1].rjust(width - len(labels[0]))]
    for lane in lanes:
        cells = ["·"] * width
        for a, b in lane.spans:
            for c in range(col(a), col(b) + 1):
                cells[c] = "█"
        for t, _ in lane.marks:
            cells[col(t)] = "▲"
        out.append(lane.label.ljust(name_w) + "".join(cells))
    return "\n".join(out) + "\n"


def timeline_svg(title: str, lanes: list[Lane], start: float, end: float, ticks: list[tuple[float, str]],
                 now: float | None = None, width: int = 760) -> str:
    """Lanes on one time axis as an SVG: bars for spans, triangles for marks, a now line."""
    left, right, top, lane_h = 120, 20, 40, 34
    height = top + lane_h * len(lanes) + 40
    span = max(end - start, 1e-9)

    def tx(t: float) -> float:
        return left + (t - start) / span * (width - left - right)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="20" font-size="14">{escape(title)}</text>']
    for i, lane in enumerate(lanes):
        y = top + i * lane_h
        out.append(f'<text x="{left - 8}" y="{y + 20}" text-anchor="end">{escape(lane.label)}</text>')
        out.append(f'<line x1="{left}" y1="{y + 16}" x2="{width - right}" y2="{y + 16}" stroke="#eee"/>')
        for a, b in lane.spans:
            out.append(f'<rect x="{tx(a):.1f}" y="{y + 8}" width="{max(tx(b) - tx(a), 2):.1f}" height="16" '
                       f'fill="{lane.color}"><title>{escape(lane.label)}</title></rect>')
        for t, name in lane.marks:
            x = tx(t)
            out.append(f'<path d="M{x:.1f},{y + 6} l-6,18 h12 z" fill="{lane.color}"><title>{escape(name)}</title>'
                       '</path>')
    axis = top + lane_h * len(lanes) + 4
    out.append(f'<line x1="{left}" y1="{axis}" x2="{width - right}" y2="{axis}" stroke="black"/>')
    for t, label in ticks:
        out.append(f'<text x="{tx(t):.1f}" y="{axis + 16}" text-anchor="middle">{escape(label)}</text>')
    if now is not None:
        out.append(f'<line x1="{tx(now):.1f}" y1="{top}" x2="{tx(now):.1f}" y2="{axis}" stroke="black" '
                   'stroke-dasharray="3 3"/>')
        out.append(f'<text x="{tx(now):.1f}" y="{top - 4}" text-anchor="end">now</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
