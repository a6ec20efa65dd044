"""Drill verdicts and integrity rules as pure functions over built states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from augeoctl.drill import model
from augeoctl.drill.context import DrillConfig
from augeoctl.drill.integrity import pg_integrity, redis_integrity
from augeoctl.drill.model import Check, DrillPhase, DrillReport, Integrity, judge
from augeoctl.errors import UsageError

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def acks(n: int, step: float = 0.1) -> dict[int, datetime]:
    return {s: at(s * step) for s in range(1, n + 1)}


def report(**changes) -> DrillReport:
    base = dict(
        id="drill-20261124T120000Z", scenario="server-loss", environment="local",
        started_at=T0, finished_at=at(100), disaster_at=at(10), service_ready_at=at(40),
        recovery_point=at(9.5), rto_target=4 * 3600.0, rpo_target=900.0,
        phases=(DrillPhase("preflight", T0, at(1)), DrillPhase("recovery", at(10), at(30),
                                                               parts=(("copy", 5.0), ("wal_replay", 10.0)))),
        integrity=(Integrity("postgres", 10, 9, 9, 0, 0, 0, 1),),
        checks=(Check("pg_amcheck", True, "clean"),),
    )
    base.update(changes)
    return DrillReport(**base)  # type: ignore[arg-type]


def test_a_clean_drill_passes_with_measured_rto_and_rpo() -> None:
    r = report()
    assert judge(r) == ("PASS", [])
    assert r.rto_seconds == 30.0
    assert r.rpo_seconds == 0.5


def test_rto_and_rpo_objectives_fail_separately() -> None:
    verdict, reasons = judge(report(rto_target=1.0))
    assert verdict == "FAIL" and len(reasons) == 1 and reasons[0].startswith("RTO 30.0 s exceeds")
    verdict, reasons = judge(report(recovery_point=at(10 - 901)))
    assert verdict == "FAIL" and reasons[0].startswith("RPO 15 min 01 s exceeds")


def test_integrity_failures_are_each_reported() -> None:
    # Schema 2: a write missing before the recovery point is a recovery defect
    # (missing_before_recovery_point, what version 1 called lost_writes).
    bad = Integrity("postgres", 10, 9, 7, missing_before_recovery_point=2, extra=1, duplicates=3,
                    after_recovery_point=1, lost_writes=3, missing_sample=(4, 5))
    verdict, reasons = judge(report(integrity=(bad,)))
    assert verdict == "FAIL"
    assert any("2 acknowledged write(s)" in r and "seq 4, 5" in r for r in reasons)
    assert any("1 row(s) present that were committed after" in r for r in reasons)
    assert any("3 duplicate" in r for r in reasons)


def test_unmeasured_rto_failed_phase_and_failed_check_fail() -> None:
    verdict, reasons = judge(report(service_ready_at=None))
    assert verdict == "FAIL" and "RTO not measured" in reasons[0]
    verdict, reasons = judge(report(phases=(DrillPhase("recovery", at(10), at(11), False, "boom"),)))
    assert verdict == "FAIL" and reasons == ["phase recovery failed: boom"]
    verdict, reasons = judge(report(checks=(Check("service-ready", False, "503"),)))
    assert reasons == ["service-ready: 503"]


def test_aborted_drill_fails_with_the_preflight_reason_only() -> None:
    verdict, reasons = judge(report(aborted="WAL gap at X", disaster_at=None))
    assert verdict == "FAIL" and reasons == ["preflight: WAL gap at X"]


def test_pg_integrity_counts_missing_extra_duplicates_and_rpo_loss() -> None:
    a = acks(10)  # seq s acknowledged at s*0.1 s
    point = at(0.55)  # seqs 1..5 acknowledged by then
    rows = [(s, at(s * 0.1 - 0.01)) for s in (1, 2, 4, 5, 5, 6)]
    i = pg_integrity(a, rows, point, newest_allowed=point, attempted=10)
    assert i.expected_present == 5
    assert i.missing_before_recovery_point == 1 and i.missing_sample == (3,)
    assert i.lost_writes == 5  # 3 and 7..10: acknowledged (no disaster time: all count) and absent
    assert i.duplicates == 1
    assert i.extra == 1  # seq 6 committed after the recovery target
    assert i.after_recovery_point == 5
    assert not i.ok
    clean = pg_integrity(a, [(s, at(s * 0.1 - 0.01)) for s in range(1, 6)], point, point, 10)
    assert clean.ok and clean.present == 5


def test_pg_integrity_flags_rows_never_written() -> None:
    i = pg_integrity(acks(3), [(1, at(0)), (99, at(0))], at(1), None, attempted=3)
    assert i.extra == 1 and i.missing_before_recovery_point == 2 and i.lost_writes == 2


def test_redis_integrity_is_judged_against_the_snapshots_newest_write() -> None:
    a = acks(10)
    assert redis_integrity(a, [1, 2, 3, 4], last=4, attempted=10).ok
    gap = redis_integrity(a, [1, 2, 4], last=4, attempted=10)
    assert gap.missing_before_recovery_point == 1 and gap.missing_sample == (3,)
    over = redis_integrity(a, [1, 2, 3, 4, 7], last=4, attempted=10)
    assert over.extra == 1
    empty = redis_integrity(a, [], last=None, attempted=10)
    assert empty.ok and empty.after_recovery_point == 10


def test_json_report_matches_its_schema_and_text_has_a_timeline() -> None:
    data = model.to_json(report())
    jsonschema.validate(data, model.schema())
    assert data["schema_version"] == 2 and data["verdict"] == "PASS"
    text = model.render_text(data)
    assert "recovery" in text and "█" in text and "copy:" in text
    md = model.render_markdown(data)
    assert "**Verdict: PASS**" in md and "| recovery |" in md
    gantt = md.split("```mermaid\n", 1)[1].split("```", 1)[0].splitlines()
    assert gantt[0] == "gantt" and "    dateFormat YYYY-MM-DDTHH:mm:ss.SSS" in gantt
    bars = [ln.strip().split(" :", 1)[0] for ln in gantt if " :" in ln]
    names = [p["name"] for p in data["phases"] if p["name"] in model.RTO_PHASES]
    assert "recovery" in names and [b for b in bars if b in names] == names  # the RTO's phases, in order
    assert bars[:3] == [b for b in bars[:3] if b.startswith(("lost", "recovery point", "disaster"))]
    if data["recovery_point"] and data["recovery_point"] < data["disaster_at"]:
        assert "lost: after the recovery point (RPO)" in bars
    broken = dict(data, verdict="MAYBE")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, model.schema())


def test_timeline_bars_are_proportional() -> None:
    lines = model.timeline([
        {"name": "a", "seconds": 10.0, "ok": True},
        {"name": "b", "seconds": 5.0, "ok": True},
    ], width=20)
    assert lines[0].count("█") == 20 and lines[1].count("█") == 10


@pytest.mark.parametrize("kwargs", [
    {"scenario": "meteor"}, {"scenario": "server-loss", "duration": 0.1},
    {"scenario": "server-loss", "rate": 0}, {"scenario": "server-loss", "rto": 0},
])
def test_drill_config_refuses_bad_values(kwargs) -> None:
    with pytest.raises(UsageError):
        DrillConfig(**kwargs)


def test_lost_writes_count_acknowledged_before_the_disaster_and_fail_nothing_alone() -> None:
    a = acks(10)  # seq s acknowledged at s*0.1 s
    # Archiving only: the recovery reached 0.35 s (seqs 1..3), the disaster was at 0.75 s
    # (seqs 1..7 acknowledged by then); 8..10 came after it.
    i = pg_integrity(a, [(s, at(s * 0.1 - 0.01)) for s in (1, 2, 3)], at(0.35), at(0.35), 10,
                     disaster_at=at(0.75))
    assert (i.lost_writes, i.missing_before_recovery_point, i.after_recovery_point) == (4, 0, 7)
    assert i.ok
    r = report(integrity=(i,), recovery_point=at(0.35), disaster_at=at(0.75))
    assert r.lost_writes == 4 and r.missing_before_recovery_point == 0
    assert judge(r) == ("PASS", [])  # RPO 0.4 s is within the objective
    redis = redis_integrity(a, [1, 2, 3], last=3, attempted=10, disaster_at=at(0.75))
    assert (redis.lost_writes, redis.missing_before_recovery_point) == (4, 0)


def test_a_missing_write_fails_whatever_the_rpo() -> None:
    i = pg_integrity(acks(4), [(1, at(0)), (3, at(0))], at(0.45), at(0.45), 4, disaster_at=at(0.45))
    assert i.missing_before_recovery_point == 2 and i.lost_writes == 2
    verdict, reasons = judge(report(integrity=(i,)))
    assert verdict == "FAIL"
    assert reasons == ["postgres: 2 acknowledged write(s) before the recovery point are missing (e.g. seq 2, 4)"]


def test_the_text_shows_lost_writes_beside_the_rpo_and_an_interruption() -> None:
    lossy = Integrity("postgres", 10, 3, 3, 0, 0, 0, 7, lost_writes=4)
    data = model.to_json(report(integrity=(lossy,), rpo_bound="archiving only",
                                interrupted="SIGTERM after the disaster phase"))
    jsonschema.validate(data, model.schema())
    assert data["lost_writes"] == 4 and data["missing_before_recovery_point"] == 0
    assert data["verdict"] == "FAIL" and data["reasons"] == ["interrupted: SIGTERM after the disaster phase"]
    rpo_line = next(line for line in model.render_text(data).splitlines() if line.startswith("RPO"))
    assert "lost writes 4" in rpo_line and "archiving only" in rpo_line
    md = model.render_markdown(data)
    assert "Lost writes (acknowledged before the disaster, not recovered): 4" in md
    assert "- Interrupted: SIGTERM after the disaster phase" in md


def test_history_reads_a_version_1_report_in_version_2_terms(tmp_path) -> None:
    import json

    from augeoctl.drill import history

    folder = history.folder(tmp_path)
    folder.mkdir(parents=True)
    old = dict(model.to_json(report()), schema_version=1, lost_writes=3)
    del old["missing_before_recovery_point"], old["interrupted"]
    (folder / "drill-20261124T120000Z.json").write_text(json.dumps(old))
    [kept] = history.load(tmp_path)
    assert kept["missing_before_recovery_point"] == 3 and kept["lost_writes"] is None
