"""DR drills end to end on real servers, with a small workload and short timings."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import psycopg
import pytest

from augeoctl.drill import model
from augeoctl.drill.context import DrillConfig, DrillContext
from augeoctl.drill.orchestrator import Drill, DrillHooks
from augeoctl.local import wal
from augeoctl.local.sandbox import Sandbox
from augeoctl.platform.local import LocalPlatform
from augeoctl.timeparse import format_duration
from tests.conftest import SandboxHandle, discard_home, make_home, run_cli

pytestmark = pytest.mark.integration


def _drill(home, *args: str, env: dict[str, str] | None = None):
    return run_cli("dr-drill", "--duration", "2s", "--rate", "40", "--yes", "-o", "json", *args,
                   home=home, env=env)


@pytest.mark.parametrize("scenario", model.SCENARIOS)
def test_each_scenario_passes_end_to_end(sandbox: SandboxHandle, scenario: str) -> None:
    events_before = sandbox.sql("SELECT count(*) FROM app.events")[0][0]
    r = _drill(sandbox.home, "--scenario", scenario)
    assert r.returncode == 0, r
    data = r.json()
    jsonschema.validate(data, model.schema())
    assert data["verdict"] == "PASS", data["reasons"]
    assert data["scenario"] == scenario
    assert [p["name"] for p in data["phases"]] == [
        "preflight", "workload", "disaster", "recovery", "verification", "service_check", "cleanup"]
    # No recovery defect. Lost writes (schema 2) are the RPO's price: none for a recovery
    # to just before the DELETE; with archiving only, a server or Redis loss loses the
    # writes after the newest archived segment or RDB snapshot, and the verdict judges
    # that by the RPO objective.
    assert data["missing_before_recovery_point"] == 0
    assert data["lost_writes"] == sum(i["lost_writes"] for i in data["integrity"])
    if scenario in ("accidental-delete", "bad-deploy"):
        assert data["lost_writes"] == 0
    assert 0 < data["rto_seconds"] < 4 * 3600
    if scenario == "bad-deploy":
        # Detected from live traffic by the gate's watch, rolled back, judged against 5 min.
        assert data["objectives"]["rto_seconds"] == 300
        rec = data["recovery"]
        assert 0 < rec["detection_seconds"] <= data["rto_seconds"]
        assert rec["rollback"]["verdict"] == "PASS" and rec["to"] == "1.0.0"
        assert rec["failed_requests"] > 0 and rec["client_requests"] >= rec["failed_requests"]
        assert {c["name"]: c["ok"] for c in data["checks"]}["staging-gate"]
    assert data["rpo_seconds"] is not None and data["rpo_seconds"] < 900
    integ = data["integrity"][0]
    assert integ["ok"] and integ["acknowledged"] > 10
    if scenario == "accidental-delete":
        # Recovered to just before the DELETE: every write acknowledged before it is back;
        # writes acknowledged after it are the accepted loss of a point-in-time recovery.
        assert integ["expected_present"] > 0
        assert integ["expected_present"] + integ["after_recovery_point"] == integ["acknowledged"]
        assert {c["name"]: c["ok"] for c in data["checks"]}["application-data"]
        # The runbook's way to find the moment: `wal search` lists the drill's DELETE.
        search = next(c for c in data["checks"] if c["name"] == "wal-search")
        assert search["ok"] and "DELETE" in search["detail"] and "app.events" in search["detail"], search
    if scenario == "redis-loss":
        assert integ["store"] == "redis" and integ["present"] > 0
    assert data["service"]["ready"] is True
    assert data["service"]["body"]
    # The report is kept and the sandbox repaired.
    md = open(data["report_path"]).read()
    assert "**Verdict: PASS**" in md
    assert sandbox.sql("SELECT count(*) FROM app.events")[0][0] == events_before
    status = run_cli("sandbox", "status", "-o", "json", home=sandbox.home).json()
    assert status["running"]
    assert not list(sandbox.sandbox.targets_dir.iterdir())  # drill targets removed


def test_impossible_rto_fails_while_integrity_passes(sandbox: SandboxHandle) -> None:
    r = _drill(sandbox.home, "--scenario", "accidental-delete", "--rto", "1ms")
    assert r.returncode == 4, r
    data = r.json()
    assert data["verdict"] == "FAIL"
    assert len(data["reasons"]) == 1 and data["reasons"][0].startswith("RTO ")
    assert data["lost_writes"] == 0 and all(i["ok"] for i in data["integrity"])
    assert data["missing_before_recovery_point"] == 0
    assert "FAILED" in r.stderr


def test_history_lists_past_drills(sandbox: SandboxHandle) -> None:
    r = run_cli("dr-drill", "history", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    drills = r.json()["drills"]
    assert len(drills) >= 1
    assert {"id", "scenario", "verdict", "rto_seconds", "rpo_seconds", "lost_writes"} <= set(drills[0])
    text = run_cli("dr-drill", "history", home=sandbox.home)
    assert "VERDICT" in text.stdout and drills[0]["id"] in text.stdout


def test_history_plot_charts_rto_and_rpo_against_the_objectives(sandbox: SandboxHandle) -> None:
    import re

    drills = run_cli("dr-drill", "history", "-o", "json", home=sandbox.home).json()["drills"]
    r = run_cli("dr-drill", "history", "--plot", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    svg = Path(r.json()["plot"])
    assert svg.parent == sandbox.home / "drills" and svg.name == "history.svg"
    drawing = svg.read_text()
    measured = sum(d["rto_seconds"] is not None for d in drills) + sum(d["rpo_seconds"] is not None for d in drills)
    assert len(re.findall(r"<circle ", drawing)) == measured  # one point per drill and measure
    # the objectives are the newest drill's (a scenario may have its own RTO)
    goals = json.loads(Path(drills[0]["report_path"]).with_suffix(".json").read_text())["objectives"]
    rto, rpo = format_duration(goals["rto_seconds"]), format_duration(goals["rpo_seconds"])
    assert f"RTO objective {rto}" in drawing and f"RPO objective {rpo}" in drawing
    text = run_cli("dr-drill", "history", "--plot", home=sandbox.home)
    assert text.returncode == 0 and f"RTO objective {rto} at {goals['rto_seconds']:.0f}" in text.stdout
    assert f"svg: {svg}" in text.stdout and "\x1b[" not in text.stdout


def test_preflight_without_disk_stops_before_the_disaster(sandbox: SandboxHandle) -> None:
    before = sandbox.sql("SELECT count(*) FROM app.events")[0][0]
    r = _drill(sandbox.home, "--scenario", "accidental-delete", "--disk-reserve", "1000T")
    assert r.returncode == 4, r
    data = r.json()
    assert data["aborted"].startswith("not enough disk")
    assert data["disaster_at"] is None
    assert [p["name"] for p in data["phases"]] == ["preflight"]
    assert sandbox.sql("SELECT count(*) FROM app.events")[0][0] == before


def test_confirmation_is_required_without_yes(sandbox: SandboxHandle) -> None:
    r = run_cli("dr-drill", "--scenario", "server-loss", home=sandbox.home, input="")
    assert r.returncode == 2 and "--yes" in r.stderr
    assert sandbox.sql("SELECT 1")[0][0] == 1


@pytest.fixture()
def short_archive_sandbox():
    """A sandbox that archives a WAL segment every second under load."""
    home = make_home()
    sb = Sandbox(home, {"archive_timeout": 1})
    sb.up()
    try:
        yield sb
    finally:
        discard_home(home)


def test_preflight_wal_gap_stops_before_the_disaster(short_archive_sandbox: Sandbox) -> None:
    sb = short_archive_sandbox
    handle = SandboxHandle(sb.home)
    assert run_cli("backup", "create", home=sb.home).returncode == 0
    for _ in range(3):
        handle.sql("SELECT txid_current()")
        handle.switch_wal_and_wait()
    victim = wal.archived_segments(sb.wal_archive, 1)[-2]
    (sb.wal_archive / victim).unlink()
    r = _drill(sb.home, "--scenario", "server-loss")
    assert r.returncode == 4, r
    data = r.json()
    assert victim in data["aborted"] and data["disaster_at"] is None
    assert run_cli("sandbox", "status", home=sb.home).returncode == 0  # nothing was killed


def test_recovery_that_misses_rows_fails_with_them_counted(short_archive_sandbox: Sandbox) -> None:
    sb = short_archive_sandbox
    removed: list[str] = []

    def lose_a_segment(ctx: DrillContext) -> None:
        # After the disaster a WAL segment written during the workload disappears, so
        # recovery stops early, short of what the archive held at the disaster.
        backup = ctx.platform.home  # noqa: F841 - for readability of the hook
        segs = wal.archived_segments(sb.wal_archive, 1)
        victim = segs[-2]
        (sb.wal_archive / victim).unlink()
        removed.append(victim)

    cfg = DrillConfig(scenario="server-loss", duration=4.0, rate=40.0)
    report = Drill(LocalPlatform.for_sandbox(sb), hooks=DrillHooks(after={"disaster": lose_a_segment})).run(cfg)
    data = model.to_json(report)
    assert removed
    assert data["verdict"] == "FAIL", data
    # The recovery stopped short of the point it had to reach: a recovery defect
    # (missing_before_recovery_point, schema 1's lost_writes); those writes are lost too.
    assert data["missing_before_recovery_point"] > 0
    assert data["lost_writes"] >= data["missing_before_recovery_point"]
    assert any("acknowledged write(s) before the recovery point are missing" in r for r in data["reasons"])
    # The same counts are in the kept report.
    kept = json.loads((sb.home / "drills" / f"{data['id']}.json").read_text())
    assert kept["lost_writes"] == data["lost_writes"]
    assert kept["missing_before_recovery_point"] == data["missing_before_recovery_point"]
    with psycopg.connect(sb.dsn()) as conn:  # the sandbox was repaired
        assert conn.execute("SELECT 1").fetchone()[0] == 1


def test_server_loss_with_synchronous_streaming_loses_no_acknowledged_commit() -> None:
    home = make_home()
    sb = Sandbox(home, {"wal_streaming": "sync"})
    sb.up()
    try:
        assert sb.status().wal_receiver.state == "running"
        report = Drill(LocalPlatform.for_sandbox(sb)).run(DrillConfig(scenario="server-loss", duration=2.0, rate=50.0))
        data = model.to_json(report)
        assert data["verdict"] == "PASS", data["reasons"]
        assert data["wal_mode"] == "stream-sync"
        integ = data["integrity"][0]
        # Every write the client saw acknowledged before the crash was recovered.
        assert integ["acknowledged"] > 20
        assert integ["expected_present"] == integ["acknowledged"] <= integ["present"]
        assert data["lost_writes"] == 0 and data["missing_before_recovery_point"] == 0
        assert sb.status().running  # repaired: primary, receiver and service back
    finally:
        discard_home(home)
