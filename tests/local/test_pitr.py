"""Point-in-time restore on a real sandbox: exactness, source untouched, refusals.

A writer commits rows while base backups are taken and WAL segments are switched; each
restore to a time T must hold exactly the rows whose commit timestamp (recorded by the
source with track_commit_timestamp) is at or before T.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from augeoctl.timeparse import format_time
from tests.conftest import SandboxHandle, run_cli, wait_for
from tests.pitr_helpers import Writer
from tests.pitr_helpers import backup as _backup
from tests.pitr_helpers import commits as _commits
from tests.pitr_helpers import parse_time as _parse
from tests.pitr_helpers import target_rows as _target_rows

pytestmark = pytest.mark.integration


def _source_fingerprint(sb: SandboxHandle) -> dict:
    data = sb.sandbox.pg_data
    files = {}
    for name in ("postgresql.conf", "postgresql.auto.conf", "augeo.conf", "pg_hba.conf"):
        files[name] = hashlib.sha256((data / name).read_bytes()).hexdigest()
    archive = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(sb.sandbox.wal_archive.iterdir()) if p.is_file()  # not the index (.index/)
    }
    settings = sb.sql("SELECT name, setting FROM pg_settings ORDER BY name")
    rows = sb.sql("SELECT md5(string_agg(seq::text, ',' ORDER BY seq)) FROM pitr_rows")[0][0]
    app = sb.sql("SELECT count(*) FROM app.events")[0][0]
    ident = sb.sql("SELECT system_identifier FROM pg_control_system()")[0][0]
    pid = (data / "postmaster.pid").read_text().splitlines()[0]
    return {"files": files, "archive": archive, "settings": settings, "rows": rows,
            "app": app, "ident": ident, "pid": pid}


@pytest.fixture(scope="module")
def history(sandbox: SandboxHandle) -> dict:
    """Writes under load with two backups and several archived WAL segments."""
    sandbox.sql("CREATE TABLE pitr_rows (seq int PRIMARY KEY, pad text)")
    writer = Writer(sandbox.dsn)
    writer.start()
    writer.advance(60)
    b1 = _backup(sandbox.home)
    writer.advance(60)
    seg_a = sandbox.switch_wal_and_wait()
    writer.advance(40)
    # Push some WAL so later commits land several segments on.
    sandbox.sql("CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 60000) g")
    seg_b = sandbox.switch_wal_and_wait()
    writer.advance(50)
    b2 = _backup(sandbox.home)
    writer.advance(60)
    writer.stop()
    sandbox.switch_wal_and_wait()
    commits = _commits(sandbox)
    assert len(commits) > 100
    return {"b1": b1, "b2": b2, "seg_a": seg_a, "seg_b": seg_b, "commits": commits}


def _restore(home: Path, when: datetime | str, target: str) -> dict:
    arg = when if isinstance(when, str) else format_time(when)
    r = run_cli("restore", "--to-time", arg, "--target", target, "--output", "json", home=home)
    assert r.returncode == 0, r
    return r.json()


def test_restores_hold_exactly_the_rows_committed_by_the_target_time(sandbox, history) -> None:
    commits = history["commits"]
    b1_done = _parse(history["b1"]["finished_at"])
    b2_done = _parse(history["b2"]["finished_at"])
    after_b1 = next(ts for _, ts in commits if ts > b1_done)
    after_b2 = [ts for _, ts in commits if ts > b2_done]
    mid = commits[len(commits) // 2]
    between = mid[1] + (commits[len(commits) // 2 + 1][1] - mid[1]) / 2
    targets = {
        "just-after-b1": after_b1,
        "exact-commit": mid[1],
        "between-commits": between,
        "later-segment": after_b2[len(after_b2) // 2],
    }
    before = _source_fingerprint(sandbox)
    for name, when in targets.items():
        result = _restore(sandbox.home, when, f"exact-{name}")
        expected = {seq for seq, ts in commits if ts <= when}
        got = _target_rows(result["dsn"])
        assert got == expected, f"{name}: {len(got)} rows, {len(expected)} expected"
        assert result["verified"] is True
        reached = _parse(result["recovery_point"])
        assert reached <= when
        assert {p["name"] for p in result["phases"]} == {"copy", "wal_replay", "promote", "verify"}
        assert result["tables"]["app.events"] == 2000
        # The newest backup that finished before T is the one used.
        wanted = history["b2"]["id"] if when >= b2_done else history["b1"]["id"]
        assert result["backup_id"] == wanted, name
    after = _source_fingerprint(sandbox)
    # The source's data, configuration and process are untouched; the archive only grew
    # by what the source itself archived (nothing from the targets' new timelines).
    for key in ("files", "settings", "rows", "app", "ident", "pid"):
        assert after[key] == before[key], key
    for name, digest in before["archive"].items():
        assert after["archive"][name] == digest
    assert not [n for n in after["archive"] if n.endswith(".history") or n.startswith("00000002")]


def test_latest_restores_every_archived_commit(sandbox, history) -> None:
    r = run_cli("restore", "--latest", "--target", "latest-one", "--output", "json", home=sandbox.home)
    assert r.returncode == 0, r
    expected = {seq for seq, _ in history["commits"]}
    assert _target_rows(r.json()["dsn"]) == expected


def test_replay_settings_are_taken_back_after_promotion(sandbox, history) -> None:
    import psycopg

    r = run_cli("restore", "--latest", "--target", "settings-back", "--output", "json", home=sandbox.home)
    assert r.returncode == 0, r
    dsn = r.json()["dsn"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        shown = dict(conn.execute("SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                                  "('max_wal_size', 'checkpoint_timeout', 'archive_mode')").fetchall())
    with sandbox.connect() as conn:
        source = dict(conn.execute("SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                                   "('max_wal_size', 'checkpoint_timeout')").fetchall())
    assert shown["max_wal_size"] == source["max_wal_size"] and shown["checkpoint_timeout"] == source["checkpoint_timeout"]
    assert shown["archive_mode"] == "off"  # never archives into the source's archive
    # shared_buffers sized for replay: out of the configuration again, but only a restart
    # takes it back, and the result and PostgreSQL both say so
    made = r.json()
    replay_buffers = made["pending_restart"]["shared_buffers"]
    assert "shared_buffers" not in (Path(made["data_directory"]) / "postgresql.auto.conf").read_text()
    with psycopg.connect(dsn, autocommit=True) as conn:
        running, pending = conn.execute("SELECT current_setting('shared_buffers'), pending_restart FROM pg_settings"
                                        " WHERE name = 'shared_buffers'").fetchone()
    with sandbox.connect() as conn:
        own = conn.execute("SELECT current_setting('shared_buffers')").fetchone()[0]
    assert running == replay_buffers.replace("1024MB", "1GB")
    assert pending is (running != own)
    assert run_cli("targets", "drop", "settings-back", "--yes", home=sandbox.home).returncode == 0


def test_dry_run_prints_the_plan_and_creates_nothing(sandbox, history) -> None:
    when = history["commits"][-5][1]
    r = run_cli("restore", "--to-time", format_time(when), "--dry-run", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    plan = r.json()["plan"]
    assert plan["backup"]["id"] == history["b2"]["id"]
    assert plan["mode"] == "time"
    assert plan["wal_first"] <= plan["wal_last"]
    assert not (sandbox.sandbox.targets_dir / plan["target"]).exists()


def _targets(sb: SandboxHandle) -> list[str]:
    return sorted(os.listdir(sb.sandbox.targets_dir))


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--to-time", "2026-11-24T18:05:00"], 2, "no UTC offset"),
        (["--to-time", "last tuesday"], 2, "not an RFC 3339 time"),
        (["--to-time", "+1h"], 2, "in the future"),
        (["--to-time", "2001-01-01T00:00:00Z"], 2, "before the earliest restorable time"),
        (["--latest", "--to-time", "now"], 2, "exactly one of"),
        ([], 2, "exactly one of"),
        (["--latest", "--target", "Bad_Name"], 2, "not valid"),
        (["--latest", "--target", "latest-one"], 2, "already exists"),
        (["--latest", "--env", "nowhere"], 2, "not configured"),
    ],
)
def test_bad_input_is_refused_clearly_and_creates_nothing(sandbox, history, args, code, fragment) -> None:
    if "latest-one" in args and not (sandbox.sandbox.targets_dir / "latest-one").exists():
        run_cli("restore", "--latest", "--target", "latest-one", home=sandbox.home)
    before = _targets(sandbox)
    r = run_cli("restore", *args, home=sandbox.home)
    assert r.returncode == code, r
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.splitlines()[0].startswith("error: ")
    assert _targets(sandbox) == before


def test_after_the_newest_archived_commit_is_refused_with_the_window(sandbox, history) -> None:
    newest = history["commits"][-1][1]
    when = newest + timedelta(milliseconds=1)
    r = run_cli("restore", "--to-time", format_time(when), home=sandbox.home)
    # Either nothing newer was archived (refused) or autovacuum committed later (restorable).
    window = run_cli("backup", "list", "-o", "json", home=sandbox.home).json()["window"]
    if _parse(window["latest"]) < when:
        assert r.returncode == 2, r
        assert "newest archived transaction" in r.stderr
        assert "restorable window" in r.stderr
    else:
        assert r.returncode == 0, r


def test_json_errors_are_machine_readable(sandbox) -> None:
    r = run_cli("restore", "--to-time", "2026-11-24T18:05:00", "--output", "json", home=sandbox.home)
    assert r.returncode == 2
    err = json.loads(r.stdout)["error"]
    assert err["type"] == "TimeParseError" and err["exit_code"] == 2 and err["hint"]


def test_backup_list_and_verify(sandbox, history) -> None:
    r = run_cli("backup", "list", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    data = r.json()
    ids = [b["id"] for b in data["backups"] if b["kind"] == "postgres"]
    assert history["b1"]["id"] in ids and history["b2"]["id"] in ids
    for b in data["backups"]:
        assert b["start_lsn"] and b["stop_lsn"] and b["timeline"] == 1 and b["size_bytes"] > 0
    assert _parse(data["window"]["earliest"]) == _parse(history["b1"]["finished_at"])
    assert _parse(data["window"]["latest"]) >= history["commits"][-1][1]
    v = run_cli("backup", "verify", history["b1"]["id"], "-o", "json", home=sandbox.home)
    assert v.returncode == 0, v
    checks = {c["name"]: c["ok"] for c in v.json()["results"][0]["checks"]}
    assert checks == {"pg_verifybackup": True, "wal-continuity": True, "wal-content": True}
    missing = run_cli("backup", "verify", "pg-nope", home=sandbox.home)
    assert missing.returncode == 2 and "no PostgreSQL backup" in missing.stderr


def test_targets_list_and_drop(sandbox, history) -> None:
    r = run_cli("targets", "list", "-o", "json", home=sandbox.home)
    names = {t["name"]: t for t in r.json()["targets"]}
    assert names["latest-one"]["status"] == "ready"
    refused = run_cli("targets", "drop", "latest-one", home=sandbox.home, input="")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert (sandbox.sandbox.targets_dir / "latest-one").exists()
    ok = run_cli("targets", "drop", "latest-one", "--yes", home=sandbox.home)
    assert ok.returncode == 0, ok
    assert not (sandbox.sandbox.targets_dir / "latest-one").exists()


def test_verification_reports_a_damaged_table_of_the_restored_target(sandbox, history) -> None:
    """The restore's verification fails on a corrupted heap page, found by pg_amcheck
    (--verify full) and by the sampled heap check (--verify quick): a damaged target is
    never reported as verified."""
    from augeoctl.backends.local_recovery import Recovery, connect
    from augeoctl.backends.local_targets import TargetStore

    r = run_cli("restore", "--latest", "--target", "damaged-one", "--output", "json", home=sandbox.home)
    assert r.returncode == 0, r
    made = r.json()
    port, data = int(made["port"]), Path(made["data_directory"])
    with connect(sandbox.sandbox, port) as conn:
        relfile = conn.execute("SELECT pg_relation_filepath('app.events')").fetchone()[0]
    sandbox.sandbox.stop_postgres(data)
    with open(data / relfile, "r+b") as fh:  # line pointers of the first page: garbage
        fh.seek(24)
        fh.write(b"\xff" * 64)
    recovery = Recovery(sandbox.sandbox, TargetStore(sandbox.sandbox))
    recovery._start(data, data.parent / "postgres.log", "the damaged target did not start")

    def accepts() -> bool:
        try:
            with connect(sandbox.sandbox, port, "postgres", timeout=2):
                return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    wait_for(accepts, 60, "the damaged target accepting connections")
    try:
        full = recovery._verify(port, "full")
        quick = recovery._verify(port, "quick")
    finally:
        sandbox.sandbox.stop_postgres(data)
    amcheck = next(c for c in full[0] if c.name == "pg_amcheck")
    assert not amcheck.ok and ("app" in amcheck.detail or "events" in amcheck.detail), amcheck
    assert full[3] == "full" and quick[3] == "quick"
    # quick samples blocks, the first one always: the damaged page is among them
    sample = next(c for c in quick[0] if c.name == "heap-sample")
    assert not sample.ok and "app.events block 0" in sample.detail, sample
    assert run_cli("targets", "drop", "damaged-one", "--yes", home=sandbox.home).returncode == 0


def test_a_quick_verification_samples_the_heap_and_estimates_large_tables(sandbox, history) -> None:
    """--verify quick: sampled heap checks instead of pg_amcheck; small tables still counted,
    a large analyzed one estimated (and marked so); the depth is in the result."""
    sandbox.sql("CREATE TABLE IF NOT EXISTS app.bulk AS SELECT g AS id, repeat('b', 200) AS pad"
                " FROM generate_series(1, 60000) g")
    sandbox.sql("ANALYZE app.bulk")
    sandbox.switch_wal_and_wait()
    r = run_cli("restore", "--latest", "--verify", "quick", "--target", "quick-one", "-o", "json",
                home=sandbox.home)
    try:
        assert r.returncode == 0, r
        made = r.json()
        assert made["verify"] == "quick" and made["verified"] is True
        names = [c["name"] for c in made["verification"]]
        assert "heap-sample" in names and "pg_amcheck" not in names
        # the WAL prefetch says what it copied, and its spool went with the promotion
        assert isinstance(made["wal_prefetched"], int)
        assert not (Path(made["data_directory"]).parent / "spool").exists()
        assert "app.bulk" in made["estimated_tables"] and "app.events" not in made["estimated_tables"]
        assert abs(made["tables"]["app.bulk"] - 60000) <= 6000  # the planner's estimate
        exact = sandbox.sql("SELECT count(*) FROM app.events")[0][0]
        assert made["tables"]["app.events"] == exact  # a small table is counted
        text = run_cli("restore", "--latest", "--verify", "bogus", home=sandbox.home)
        assert text.returncode == 2 and "bogus" in text.stderr and "Traceback" not in text.stderr
    finally:
        run_cli("targets", "drop", "quick-one", "--yes", home=sandbox.home)
        sandbox.sql("DROP TABLE IF EXISTS app.bulk")


def test_a_full_count_reads_every_heap_page_and_compresses_the_hint_bit_images(sandbox) -> None:
    """Full verification counts rows by reading the heap (a sequential scan, never an index
    the planner prefers), with the page images its hint bits write compressed (lz4) for a
    superuser; a role that may not set that still gets its counts."""
    from augeoctl.backends import verification

    sandbox.sql("CREATE TABLE IF NOT EXISTS app.indexed AS SELECT g AS id, repeat('x', 400) AS pad"
               " FROM generate_series(1, 20000) g")
    sandbox.sql("CREATE INDEX IF NOT EXISTS indexed_id ON app.indexed (id)")
    sandbox.sql("VACUUM ANALYZE app.indexed")  # all-visible: the planner would count the index
    with sandbox.connect() as conn:
        assert "Index Only Scan" in str(conn.execute("EXPLAIN SELECT count(*) FROM app.indexed").fetchall())
        tables, estimated = verification.count_tables(conn, "full")
        assert tables["app.indexed"] == 20000 and estimated == []
        plan = str(conn.execute("EXPLAIN SELECT count(*) FROM app.indexed").fetchall())
        assert "Seq Scan" in plan and "Index" not in plan, plan
        assert conn.execute("SHOW wal_compression").fetchone() == ("lz4",)
    sandbox.sql("DROP ROLE IF EXISTS plain_counter")
    sandbox.sql("CREATE ROLE plain_counter LOGIN IN ROLE pg_read_all_data")
    try:
        with sandbox.connect(sandbox.dsn.replace("augeo@", "plain_counter@", 1)) as conn:
            assert verification.compress_hint_images(conn) is False
            tables, _ = verification.count_tables(conn, "full")
            assert tables["app.indexed"] == 20000
    finally:
        sandbox.sql("DROP ROLE plain_counter")
        sandbox.sql("DROP TABLE app.indexed")
