"""The dashboard screen: one panel per source, polled in worker threads."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.timer import Timer
from textual.widgets import Static, TabbedContent, TabPane

from augeoctl.dashboard.panel import PanelData, Source

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
                ("plus,equals_sign", "faster", "faster"), ("minus", "slower", "slower"),
                ("t", "next_tab", "next environment")]

    def __init__(self, sources: dict[str, Source] | None = None, interval: float = 2.0,
                 source_timeout: float = 5.0, *, tabs: dict[str, dict[str, Source]] | None = None) -> None:
        """One grid of panels, or with ``tabs`` one tab of panels per environment."""
        super().__init__()
        self.tabs = tabs if tabs else {"": sources or {}}
        self.interval = interval
        self.source_timeout = source_timeout
        self.paused = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        if len(self.tabs) == 1:
            with Grid(classes="panels"):
                for name, source in next(iter(self.tabs.values())).items():
                    yield Panel(name, source)
        else:
            with TabbedContent():
                for env, sources in self.tabs.items():
                    with TabPane(env, id=f"env-{env}"), Grid(classes="panels"):
                        for name, source in sources.items():
                            yield Panel(name, source)
        yield Static(self._help(), id="help")

    def _help(self) -> str:
        state = "paused" if self.paused else f"every {self.interval:g} s"
        tabs = "  t next environment" if len(self.tabs) > 1 else ""
        return f"q quit  p pause  r refresh  +/- interval ({state}){tabs}"

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

    def action_next_tab(self) -> None:
        if len(self.tabs) < 2:
            return
        tc = self.query_one(TabbedContent)
        ids = [f"env-{e}" for e in self.tabs]
        current = ids.index(tc.active) if tc.active in ids else -1
        tc.active = ids[(current + 1) % len(ids)]

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
