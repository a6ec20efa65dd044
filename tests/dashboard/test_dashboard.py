"""The dashboard under Textual's pilot: fixed sources, a failing one, keys, and real servers."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from augeoctl.dashboard.app import Dashboard, Panel
from augeoctl.dashboard.panel import GAP, HISTORY, History, mib, rate
from augeoctl.dashboard.sources import PanelData, local_sources
from tests.conftest import SandboxHandle, wait_gone


def fixed(state: str, *lines: str):
    return lambda: PanelData(state, lines)


def boom() -> PanelData:
    raise ConnectionError("source unreachable")


async def settle(pilot, app: Dashboard, until, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if until():
            return
    raise AssertionError("the dashboard did not reach the expected state")


def panels(app: Dashboard) -> dict[str, Panel]:
    return {p.title_text: p for p in app.query(Panel)}


def bars(panel: Panel, label: str) -> str:
    """The sparkline of a panel's trend, its oldest point first (empty until it is drawn)."""
    lines = [line for line in str(panel.render()).splitlines() if line.startswith(f"{label:<12}")]
    return lines[0][12:12 + HISTORY].strip("\xa0 ") if lines else ""


def test_panels_show_their_sources_and_a_failing_source_only_marks_its_panel() -> None:
    async def run() -> None:
        app = Dashboard({"Service": fixed("ok", "HTTP 200"), "Redis": boom,
                         "Traffic": fixed("degraded", "alerts: cpu FIRING")}, interval=0.5)
        async with app.run_test() as pilot:
            await settle(pilot, app, lambda: all(p.state != "waiting" for p in panels(app).values()))
            ps = panels(app)
            assert ps["Service"].state == "ok" and ps["Service"].has_class("ok")
            assert ps["Redis"].state == "error" and "source unreachable" in str(ps["Redis"].render())
            assert ps["Traffic"].state == "degraded"
            first = ps["Service"].updated
            await settle(pilot, app, lambda: panels(app)["Service"].updated != first)  # keeps refreshing
            await pilot.press("p")
            assert app.paused
            await pilot.press("minus")
            assert app.interval == 1.0
            await pilot.press("plus")
            assert app.interval == 0.5
            await pilot.press("q")
    asyncio.run(run())


@pytest.mark.integration
def test_redis_panel_goes_down_and_comes_back_while_others_keep_updating(home: Path) -> None:
    handle = SandboxHandle(home)
    handle.up()

    async def run() -> None:
        app = Dashboard(local_sources(handle.sandbox), interval=0.5)
        async with app.run_test() as pilot:
            await settle(pilot, app, lambda: panels(app)["Redis"].state == "ok"
                         and panels(app)["PostgreSQL"].state == "ok")
            # the sandbox's servers, sampled from /proc (degraded only if one is over 80 %)
            await settle(pilot, app, lambda: panels(app)["Compute"].state in ("ok", "degraded"))
            assert "CPU" in str(panels(app)["Compute"].render())
            await settle(pilot, app, lambda: len(bars(panels(app)["Redis"], "ops/s")) >= 2)
            os.kill(handle.sandbox.status().redis.pid, signal.SIGKILL)
            await settle(pilot, app, lambda: panels(app)["Redis"].state == "down")
            assert bars(panels(app)["Redis"], "ops/s").endswith("×")  # the outage, not a made-up value
            pg_before = panels(app)["PostgreSQL"].updated
            await settle(pilot, app, lambda: panels(app)["PostgreSQL"].updated != pg_before)
            assert panels(app)["PostgreSQL"].state == "ok"
            handle.up()  # Redis restarts on its port
            await settle(pilot, app, lambda: panels(app)["Redis"].state == "ok")
            ops = bars(panels(app)["Redis"], "ops/s")
            assert "×" in ops and not ops.endswith("×")  # the history outlived the outage
            assert set(bars(panels(app)["PostgreSQL"], "tx/s")) - {"×", " "}  # drawn from real readings
            await pilot.press("q")

    try:
        asyncio.run(run())
    finally:
        handle.down()


def test_traffic_on_azure_runs_the_workbook_kql_through_the_real_logs_client(tmp_path) -> None:
    from augeoctl.config import Environment
    from augeoctl.dashboard.sources import app_insights_traffic_source
    from augeoctl.health.azure import kql
    from tests.fakearm.monitor import FakeMonitor
    from tests.fakearm.server import FakeArm, TestCredential

    arm = FakeArm(tmp_path).start()
    logs = FakeMonitor(arm)
    logs.logs_rows = [[1200, 30, 140.0, 80.0, 420.0, 900.0, 4.0, 0.025]]
    env = Environment("staging", "azure", {"log_analytics_workspace_id": "00000000-0000-0000-0000-00000000beef",
                                           "logs_endpoint": arm.url, "ca_bundle": str(arm.ca)})
    try:
        fetch = app_insights_traffic_source(env, credential=TestCredential())
        data = fetch()
        assert data.state == "ok"
        assert "rate 4.0/s" in data.lines[0] and "p95 420 ms" in data.lines[1]
        assert logs.queries[0]["query"] == kql("traffic")  # the workbook table's own KQL
        logs.logs_rows = [[1200, 90, 3200.0, 80.0, 4000.0, 9000.0, 4.0, 0.075]]
        hot = fetch()
        assert hot.state == "degraded" and "error-rate" in hot.lines[2] and "response-time" in hot.lines[2]
        bad = app_insights_traffic_source(env, credential=TestCredential("wrong-token"))()
        assert bad.state == "error" and "refused" in bad.lines[0]
    finally:
        arm.stop()


SNAPSHOT = Path(__file__).parent / "snapshots" / "dashboard.svg"
AT = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def fixed_at(state: str, *lines: str):
    return lambda: PanelData(state, lines, at=AT)


def trend(label: str, unit, values) -> History:
    """A trend after these readings: a number, ``GAP`` (no value) or ``None`` (failed)."""
    t = History(label, unit)
    for v in values:
        if v is None:
            t.fail()
        else:
            t.add(None if v is GAP else v)
    return t


async def _screenshot() -> str:
    from dataclasses import replace

    from augeoctl.dashboard import panels_local
    from augeoctl.dashboard.panel import failed
    from augeoctl.health import PostgresReading, Unreachable

    tps = trend("tx/s", rate, [GAP, *(10.0 + (i * 7) % 23 for i in range(29))])
    lag = trend("archive lag", mib, [(i % 10) * 1.5 * 2**20 for i in range(30)])
    pg = PostgresReading(connections={"active": 1, "idle": 3}, archiver_failing=False,
                         last_archived_wal="00000001000000000000002A", cache_hit_percent=99.8)
    ops = trend("ops/s", rate, [120.0 + (i * 13) % 60 for i in range(20)] + [None])
    app = Dashboard({
        "Service": fixed_at("ok", "/health        ▁▂▁▃▂▁▁▂ HTTP 200      3 ms",
                            "/health/ready  ▂▃▂█▃▂▂▃ HTTP 200      5 ms"),
        "Traffic": fixed_at("ok", "rate 12.0/s   errors 0.0%", "p50 3 ms  p95 40 ms  p99 90 ms"),
        "Alerts": fixed_at("degraded", "FIRING cpu: service CPU 91% (alert above 80%)"),
        "PostgreSQL": lambda: replace(panels_local.postgres(pg, None, tps, lag), at=AT),
        "Redis": lambda: replace(failed(Unreachable("Connection refused"), ops), at=AT),
    }, interval=30)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app, lambda: all(p.state != "waiting" for p in panels(app).values()))
        await pilot.pause(0.1)
        return app.export_screenshot()


def test_screen_matches_its_snapshot() -> None:
    """Set AUGEO_UPDATE_SNAPSHOTS=1 to record the snapshot after an intended change."""
    svg = asyncio.run(_screenshot())
    if os.environ.get("AUGEO_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(svg)
        if os.environ.get("AUGEO_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"no snapshot yet: recorded {SNAPSHOT}; check it and commit it")
    assert svg == SNAPSHOT.read_text(), "the screen changed; AUGEO_UPDATE_SNAPSHOTS=1 records it"


def test_one_tab_per_environment_and_t_switches() -> None:
    from textual.widgets import TabbedContent

    async def run() -> None:
        app = Dashboard(tabs={"local": {"Service": fixed("ok", "a")}, "staging": {"API": fixed("down", "b")}},
                        interval=0.5)
        async with app.run_test() as pilot:
            await settle(pilot, app, lambda: all(p.state != "waiting" for p in app.query(Panel)))
            tc = app.query_one(TabbedContent)
            assert tc.active == "env-local"
            await pilot.press("t")
            assert tc.active == "env-staging"
            await pilot.press("t")
            assert tc.active == "env-local"
            assert {p.title_text: p.state for p in app.query(Panel)} == {"Service": "ok", "API": "down"}
    asyncio.run(run())


def test_sparkline_scales_to_its_maximum_and_marks_failures() -> None:
    from augeoctl.dashboard.panel import sparkline

    assert sparkline([1.0, 2.0, 4.0, 8.0]) == "▁▂▄█"
    assert sparkline([5.0, None, 5.0]) == "█×█"
    assert sparkline([0.0, 0.0]) == "▁▁"
    assert len(sparkline([float(i) for i in range(50)], width=20)) == 20
    assert sparkline([GAP, 2.0, None, 4.0]) == " ▄×█"  # no value is a gap, not a zero
    assert sparkline([-3.0, 4.0]) == "▁█"


def test_a_trend_keeps_one_point_per_reading_up_to_its_size() -> None:
    trend = History("tx/s", rate, size=4)
    assert trend.line() == "tx/s        " + " " * 4 + " -" and not trend.seen
    trend.add(None)  # a rate's first reading
    assert not trend.seen
    for v in (1.0, 2.0, 4.0):
        trend.add(v)
    assert trend.seen and trend.line() == "tx/s         ▂▄█ 4.0/s"
    trend.fail()
    assert len(trend.points) == 4 and trend.line() == "tx/s        ▂▄█× failed"
    for _ in range(10):
        trend.add(8.0)
    assert list(trend.points) == [8.0] * 4
    assert History("archive lag", mib).line().startswith("archive lag ")


def test_service_panel_keeps_a_latency_history_per_endpoint(tmp_path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from augeoctl.dashboard.sources import service_source

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path != "/health/ready" else 503)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        fetch = service_source(url, history=5)
        for _ in range(7):
            data = fetch()
        assert data.state == "degraded"
        line = data.lines[0].split()
        assert line[0] == "/health" and len(line[1]) == 5 and set(line[1]) <= set("▁▂▃▄▅▆▇█")
        assert "HTTP 503" in data.lines[2]
    finally:
        server.shutdown()
        server.server_close()
    gone = fetch()
    assert gone.state == "down" and gone.lines[0].split()[1].endswith("×")


@pytest.mark.integration
def test_trends_keep_a_bounded_history_of_real_readings_and_mark_failed_ones(home: Path) -> None:
    """tx/s, archive lag and Redis ops/s, each reading driven by hand: one point per
    reading, the oldest dropped past the size, and an outage a failed point."""
    from augeoctl.dashboard.sources import postgres_source, redis_source
    from augeoctl.health.local import LocalHealth

    handle = SandboxHandle(home)
    handle.up()
    try:
        feeds = LocalHealth(handle.sandbox).feeds()
        assert feeds.redis is not None
        tps, lag, ops = History("tx/s", rate, 5), History("archive lag", mib, 5), History("ops/s", rate, 5)
        pg, rd = postgres_source(feeds.postgres, tps=tps, lag=lag), redis_source(feeds.redis, ops=ops)
        handle.sql("CREATE TABLE trend (n int)")

        def transaction(n: int) -> None:
            with handle.connect() as conn:
                conn.execute("INSERT INTO trend VALUES (%s)", (n,))
                conn.execute("SELECT pg_stat_force_next_flush()")  # counted before the next reading

        for n in range(7):
            transaction(n)
            assert pg().state == "ok" and rd().state == "ok"
        assert len(tps.points) == len(ops.points) == 5  # the first reading's gap has scrolled out
        assert all(v is not None and v > 0 for v in tps.points)
        assert all(v is not None and v >= 0 for v in ops.points)

        handle.switch_wal_and_wait()
        pg()
        archived = lag.points[-1]
        assert archived is not None and archived < 2**20  # just past the newest archived segment

        def lsn(conn) -> int:
            return int(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')").fetchone()[0])

        with handle.connect() as conn:
            before = lsn(conn)
            conn.execute("INSERT INTO trend SELECT g FROM generate_series(1, 30000) g")
            written = lsn(conn) - before
        data = pg()
        assert written > 2**20 and lag.points[-1] is not None and lag.points[-1] - archived >= written
        assert data.lines[-1].startswith("archive lag ") and data.lines[-1].endswith(" MiB")

        handle.sandbox.stop_postgres(handle.sandbox.postgres.data)
        redis_pid = handle.sandbox.status().redis.pid
        os.kill(redis_pid, signal.SIGKILL)
        wait_gone(redis_pid)
        down_pg, down_rd = pg(), rd()
        assert down_pg.state == "down" and down_rd.state == "down"
        assert tps.points[-1] is None and lag.points[-1] is None and ops.points[-1] is None
        assert [line.split()[-1] for line in down_pg.lines[1:]] == ["failed", "failed"]
        assert "×" in down_rd.lines[-1]
        handle.up()
        assert pg().state == "ok" and rd().state == "ok"
        assert tps.points[-2] is None and ops.points[-2] is None and len(tps.points) == 5
        assert ops.points[-1] is not None
    finally:
        handle.down()
