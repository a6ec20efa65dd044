"""The dashboard screen: one panel per source, polled in worker threads."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from textual.app import App, ComposeResult
from textual.timer import Timer
from textual.widgets import Static

from augeoctl.dashboard.sources import PanelData, Source

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class Panel(Static):
    """A source's panel: its state, its lines and when it was last updated."""

    def __init__(self, title: str, source: Source) -> None:
        super().__init__(f"{title}\nwaiting for the first answer", classes="waiting", markup=False)
        self.title_text = title
        self.source = source
        self.state = "waiting"
        self.updated: datetime | None = None
        self.busy = False

    def show(self, data: PanelData) -> None:
        self.state = data.state
        self.updated = data.at
        for cls in ("waiting", "ok", "degraded", "down", "error"):
            self.remove_class(cls)
        self.add_class(data.state)
        stamp = data.at.astimezone(UTC).strftime("%H:%M:%S")
        self.update(f"{self.title_text}  [{data.state.upper()}]  {stamp}\n" + "\n".join(data.lines))


class Dashboard(App[None]):
    CSS_PATH = "dashboard.tcss"
    TITLE = "augeoctl dashboard"
    BINDINGS = [("q", "quit", "quit"), ("p", "pause", "pause"), ("r", "refresh", "refresh now"),
                ("plus,equals_sign", "faster", "faster"), ("minus", "slower", "slower")]

    def __init__(self, sources: dict[str, Source], interval: float = 2.0, source_timeout: float = 5.0) -> None:
        super().__init__()
        self.sources = sources
        self.interval = interval
        self.source_timeout = source_timeout
        self.paused = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        for name, source in self.sources.items():
            yield Panel(name, source)
        yield Static(self._help(), id="help")

    def _help(self) -> str:
        state = "paused" if self.paused else f"every {self.interval:g} s"
        return f"q quit  p pause  r refresh  +/- interval ({state})"

    def on_mount(self) -> None:
        self._timer = self.set_interval(self.interval, self.action_refresh)
        self.action_refresh()

    def action_refresh(self) -> None:
        if self.paused:
            return
        for panel in self.query(Panel):
            if not panel.busy:  # a slow source keeps its own pace and never piles up
                panel.busy = True
                self.run_worker(lambda p=panel: self._fetch(p), thread=True, group=panel.title_text)

    def _fetch(self, panel: Panel) -> None:
        start = time.monotonic()
        try:
            data = panel.source()
            if time.monotonic() - start > self.source_timeout:
                data = PanelData("degraded", (*data.lines, f"(slow: {time.monotonic() - start:.1f} s)"))
        except Exception as exc:  # a failing source shows its error; the screen goes on
            data = PanelData("error", (f"{type(exc).__name__}: {exc}",))
        self.call_from_thread(self._show, panel, data)

    def _show(self, panel: Panel, data: PanelData) -> None:
        panel.busy = False
        panel.show(data)

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(self.interval, self.action_refresh)
        self.query_one("#help", Static).update(self._help())

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.query_one("#help", Static).update(self._help())

    def action_faster(self) -> None:
        smaller = [i for i in INTERVALS if i < self.interval]
        self.interval = smaller[-1] if smaller else self.interval
        self._reschedule()

    def action_slower(self) -> None:
        larger = [i for i in INTERVALS if i > self.interval]
        self.interval = larger[0] if larger else self.interval
        self._reschedule()
