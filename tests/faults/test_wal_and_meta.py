"""Backups and WAL: content is verified, names are not trusted (real sandbox).

A damaged archived WAL segment is found by reading it, and the restorable window, the
restores and `backup verify` say so; a --to-time restore at the window's end never
recovers past the requested time while WAL keeps arriving; a backup with damaged
metadata is listed as such and skipped, never an internal error.

The tests share one sandbox and run in file order: the damaged segment comes last,
because it cuts every window that covers it. They wait for events (a WAL segment
archived, the writer's rows, the restore's pause marker), never for a fixed time.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from augeoctl.timeparse import format_time
from tests.conftest import SandboxHandle, run_cli
from tests.faults.commands import Command
from tests.pitr_helpers import Writer, backup, commits, parse_time, target_rows, writing

pytestmark = pytest.mark.integration


def _no_internal_error(r) -> None:
    out = r.stdout + r.stderr
    assert "internal error" not in out and "Traceback" not in out, r


@pytest.fixture(scope="module")
def backups(sandbox: SandboxHandle) -> dict:
    """Two base backups with rows committed (and archived) after each."""
    sandbox.sql("CREATE TABLE pitr_rows (seq int PRIMARY KEY, pad text)")
    writer = Writer(sandbox.dsn)
    writer.start()
    try:
        writer.advance(20)
        b1 = backup(sandbox.home)
        writer.advance(20)
        b2 = backup(sandbox.home)
        writer.advance(20)
    finally:
        writer.stop()
    sandbox.switch_wal_and_wait()
    return {"b1": b1, "b2": b2}


# -- damaged metadata ------------------------------------------------------------------


def _truncate(meta: dict) -> str:
    return json.dumps(meta)[:40]


def _without_finished_at(meta: dict) -> str:
    return json.dumps({k: v for k, v in meta.items() if k != "finished_at"})


def _bad_finished_at(meta: dict) -> str:
    return json.dumps({**meta, "finished_at": "yesterday-ish"})


DAMAGE = {
    "truncated": (_truncate, "not valid JSON"),
    "no-finished_at": (_without_finished_at, "has no finished_at"),
    "bad-finished_at": (_bad_finished_at, "bad finished_at"),
}


@pytest.fixture
def meta_files(sandbox: SandboxHandle, backups: dict) -> Iterator[dict[str, Path]]:
    """The two backups' meta.json files, put back as they were after the test."""
    files = {k: sandbox.sandbox.base_dir / backups[k]["id"] / "meta.json" for k in ("b1", "b2")}
    saved = {k: p.read_bytes() for k, p in files.items()}
    yield files
    for k, p in files.items():
        p.write_bytes(saved[k])


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_meta_is_listed_and_skipped(sandbox, backups, meta_files, damage) -> None:
    make, reason = DAMAGE[damage]
    meta = json.loads(meta_files["b2"].read_text())
    meta_files["b2"].write_text(make(meta))
    b1, b2 = backups["b1"]["id"], backups["b2"]["id"]

    listed = run_cli("backup", "list", "-o", "json", home=sandbox.home)
    assert listed.returncode == 0, listed
    _no_internal_error(listed)
    by_id = {b["id"]: b for b in listed.json()["backups"] if b["kind"] == "postgres"}
    assert reason in by_id[b2]["damaged"]
    assert by_id[b1]["damaged"] is None
    assert [w["backup_id"] for w in listed.json()["window"]["windows"]] == [b1]
    text = run_cli("backup", "list", home=sandbox.home)
    assert text.returncode == 0 and "DAMAGED" in text.stdout and reason in " ".join(text.stdout.split())

    plan = run_cli("restore", "--latest", "--dry-run", "-o", "json", home=sandbox.home)
    assert plan.returncode == 0, plan
    _no_internal_error(plan)
    assert plan.json()["plan"]["backup"]["id"] == b1
    assert [s["id"] for s in plan.json()["plan"]["skipped_damaged"]] == [b2]

    verify = run_cli("backup", "verify", b2, "-o", "json", home=sandbox.home)
    assert verify.returncode == 4, verify
    _no_internal_error(verify)
    (check,) = verify.json()["results"][0]["checks"]
    assert check["name"] == "metadata" and not check["ok"] and reason in check["detail"]


def test_verify_without_id_takes_the_newest_usable_backup(sandbox, backups, meta_files) -> None:
    meta_files["b2"].write_text(_truncate(json.loads(meta_files["b2"].read_text())))
    r = run_cli("backup", "verify", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    assert r.json()["results"][0]["backup_id"] == backups["b1"]["id"]


def test_no_usable_backup_is_a_refusal(sandbox, backups, meta_files) -> None:
    meta_files["b1"].write_text(_without_finished_at(json.loads(meta_files["b1"].read_text())))
    meta_files["b2"].write_text(_bad_finished_at(json.loads(meta_files["b2"].read_text())))
    listed = run_cli("backup", "list", "-o", "json", home=sandbox.home)
    assert listed.returncode == 0, listed
    assert all(b["damaged"] for b in listed.json()["backups"] if b["kind"] == "postgres")
    for args in (["--latest"], ["--to-time", "now"]):
        r = run_cli("restore", *args, "--dry-run", home=sandbox.home)
        assert r.returncode == 2, r
        _no_internal_error(r)
        assert "no usable base backup" in r.stderr and backups["b2"]["id"] in r.stderr
    verify = run_cli("backup", "verify", home=sandbox.home)
    assert verify.returncode == 4, verify
    _no_internal_error(verify)


# -- --to-time at the window's end ---------------------------------------------------------


def _window_latest(home: Path):
    r = run_cli("backup", "list", "-o", "json", home=home)
    assert r.returncode == 0, r
    return parse_time(r.json()["window"]["latest"])


def test_to_time_at_the_window_end_stops_there_while_wal_keeps_arriving(sandbox, backups, started, tmp_path) -> None:
    with writing(sandbox) as writer:
        requested = _window_latest(sandbox.home)
        restore = Command(sandbox.home, ["restore", "--to-time", format_time(requested), "--target",
                                         "at-window-end", "-o", "json"], tmp_path, pause_at="copy base backup")
        started.append(restore)
        restore.paused()
        # While the restore waits, commits after the requested time reach the archive.
        writer.advance(30)
        sandbox.switch_wal_and_wait()
        writer.advance(10)
        sandbox.switch_wal_and_wait()
        restore.go_on()
        rc = restore.wait()
    assert rc == 0, restore.output()
    result = restore.json()
    assert result["mode"] == "time" and result["partial"] is False and result["verified"] is True
    reached = parse_time(result["recovery_point"])
    assert reached <= requested
    history = commits(sandbox)
    assert any(ts > requested for _, ts in history)  # there was WAL to overshoot into
    assert target_rows(result["dsn"]) == {seq for seq, ts in history if ts <= requested}
    run_cli("targets", "drop", "at-window-end", "--yes", home=sandbox.home)


def test_to_time_at_the_newest_archived_commit_promotes_exactly_there(sandbox, backups) -> None:
    # The writer's newest commits stay in the current (unarchived) segment: nothing
    # archived is later than the requested time, so recovery cannot pass it by reading
    # a later commit, and must still promote exactly there.
    with writing(sandbox) as writer:
        requested = _window_latest(sandbox.home)
        writer.advance(10)
        r = run_cli("restore", "--to-time", format_time(requested), "--target", "at-newest",
                    "-o", "json", home=sandbox.home)
        writer.advance(10)
    assert r.returncode == 0, r
    result = r.json()
    assert result["partial"] is False and result["verified"] is True
    assert parse_time(result["recovery_point"]) == requested
    history = commits(sandbox)
    assert target_rows(result["dsn"]) == {seq for seq, ts in history if ts <= requested}
    run_cli("targets", "drop", "at-newest", "--yes", home=sandbox.home)


# -- a damaged archived segment (last: it cuts every window across it) ----------------------


@pytest.fixture(scope="module")
def damaged(sandbox: SandboxHandle, backups: dict) -> dict:
    """A backup, then WAL with 16 bytes flipped in the middle of a full archived segment,
    then 30 committed rows archived after it."""
    sb = sandbox
    made = backup(sb.home)
    sb.sql("CREATE TABLE before_damage AS SELECT 1 AS n")
    before = sb.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")[0][0]
    sb.sql("CREATE TABLE bulk_damage AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 150000) g")
    after = sb.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")[0][0]
    sb.sql("CREATE TABLE after_damage (n int)")
    for i in range(30):
        sb.sql("INSERT INTO after_damage VALUES (%s)", (i,))
    sb.switch_wal_and_wait()
    full = [n for n in sorted(os.listdir(sb.sandbox.wal_archive)) if len(n) == 24 and before < n < after]
    assert full, (before, after)
    victim = full[len(full) // 2]
    path = sb.sandbox.wal_archive / victim
    with open(path, "r+b") as fh:  # mid-page, not a page header: a record's CRC breaks
        fh.seek(8 * 2**20 + 3000)
        data = fh.read(16)
        assert any(data), "the middle of the segment should hold WAL"
        fh.seek(8 * 2**20 + 3000)
        fh.write(bytes(b ^ 0xFF for b in data))
    after_times = [r[0] for r in sb.sql(
        "SELECT pg_xact_commit_timestamp(xmin) FROM after_damage ORDER BY 1")]
    return {"backup": made, "segment": victim, "first_after": after_times[0],
            "last_after": after_times[-1]}


def test_verify_names_the_damaged_segment(sandbox, damaged) -> None:
    r = run_cli("backup", "verify", damaged["backup"]["id"], "-o", "json", home=sandbox.home)
    assert r.returncode == 4, r
    checks = {c["name"]: c for c in r.json()["results"][0]["checks"]}
    assert checks["wal-continuity"]["ok"] and checks["pg_verifybackup"]["ok"]
    assert not checks["wal-content"]["ok"]
    assert damaged["segment"] in checks["wal-content"]["detail"]
    assert "record" in checks["wal-content"]["detail"]  # pg_waldump's own words
    text = run_cli("backup", "verify", damaged["backup"]["id"], home=sandbox.home)
    assert text.returncode == 4 and damaged["segment"] in text.stdout


def test_window_ends_before_the_damaged_segment(sandbox, damaged) -> None:
    r = run_cli("backup", "list", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    window = r.json()["window"]
    assert window["damaged_segments"] == [damaged["segment"]]
    assert parse_time(window["latest"]) < damaged["first_after"]
    mine = next(w for w in window["windows"] if w["backup_id"] == damaged["backup"]["id"])
    assert mine["ends_at_damaged"] == [damaged["segment"]]
    assert parse_time(mine["archive_end"]) >= damaged["last_after"]
    text = run_cli("backup", "list", home=sandbox.home)
    assert f"window ends before the damaged segment {damaged['segment']}" in text.stdout

    past = run_cli("restore", "--to-time", format_time(damaged["last_after"]), "--dry-run",
                   home=sandbox.home)
    assert past.returncode == 2, past
    assert damaged["segment"] in past.stderr


def test_latest_restore_that_stops_at_the_damage_fails_naming_both_points(sandbox, damaged) -> None:
    r = run_cli("restore", "--latest", "--target", "short", "-o", "json", home=sandbox.home)
    assert r.returncode == 1, r
    _no_internal_error(r)
    error = r.json()["error"]
    assert error["type"] == "RestoreError" and "--allow-partial" in error["hint"]
    stopped = re.search(r"replay stopped at (\S+),", error["message"])
    holds = re.search(r"the end of the archive: it holds transactions up to (\S+?)[ ;(]", error["message"])
    assert stopped and holds, error
    assert parse_time(stopped.group(1)) < damaged["first_after"]
    assert parse_time(holds.group(1)) >= damaged["last_after"]
    targets = {t["name"]: t for t in run_cli("targets", "list", "-o", "json",
                                             home=sandbox.home).json()["targets"]}
    assert targets["short"]["status"] == "failed"
    assert "replay stopped at" in targets["short"]["detail"]


def test_allow_partial_keeps_the_target_with_a_warning(sandbox, damaged) -> None:
    r = run_cli("restore", "--latest", "--allow-partial", "--target", "partial", "-o", "json",
                home=sandbox.home)
    assert r.returncode == 0, r
    assert "PARTIAL RESTORE" in r.stderr
    result = r.json()
    assert result["partial"] is True and result["verified"] is False
    reached, end = parse_time(result["recovery_point"]), parse_time(result["archive_end"])
    assert reached < damaged["first_after"] <= end
    assert result["cleaned_up"] == ["short"]  # the failed one, as any restore does
    with psycopg.connect(result["dsn"]) as conn:
        assert conn.execute("SELECT to_regclass('after_damage')").fetchone()[0] is None
    run_cli("targets", "drop", "partial", "--yes", home=sandbox.home)
