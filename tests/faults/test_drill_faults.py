"""Drills must never cost the source its data: faults injected at exact phase boundaries.

Each drill runs as `augeoctl dr-drill` in a subprocess with the documented test hook
``AUGEO_DRILL_STOP_AT=after:PHASE``: the drill stops at that boundary and writes
``AUGEO_HOME/drills/stopped-at.json``; the test then signals or kills it, or lets it go on
by removing the file. No sleeps decide when a fault lands.

The source is snapshotted by row identity (every application row, keyed by id) before
each drill and compared afterwards. The cases marked ``faults`` complete the matrix
(every boundary after the disaster, both signals, every scenario); they run in
``nox -s faults``, the representative ones in ``nox -s tests``.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from augeoctl.drill import journal
from augeoctl.drill.orchestrator import STOP_FILE
from augeoctl.local import procs
from tests.conftest import SandboxHandle, run_cli
from tests.faults.commands import Command

pytestmark = pytest.mark.integration

APP_TABLES = ("app.organizations", "app.users", "app.events")
DRILL_ARGS = ("--duration", "1s", "--rate", "20", "--yes", "-o", "json")
BOUNDARIES = ("after:disaster", "after:recovery", "after:verification", "after:service_check")
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


# -- helpers -----------------------------------------------------------------------------


def snapshot(sb: SandboxHandle) -> dict[str, dict[int, str]]:
    """Every application row by table and id, its content as text: row identity."""
    return {t: {int(i): row for i, row in sb.sql(f"SELECT id, t::text FROM {t} t")} for t in APP_TABLES}


def redis_marks(sb: SandboxHandle, n: int = 50) -> dict[str, str]:
    """Keys written to the sandbox's Redis just before a drill: they must all survive it."""
    client = redis.Redis.from_url(sb.sandbox.redis_url(), decode_responses=True)
    marks = {f"augeo:test:mark:{i}": os.urandom(8).hex() for i in range(n)}
    client.mset(marks)
    return marks


def redis_holds(sb: SandboxHandle, marks: dict[str, str]) -> bool:
    client = redis.Redis.from_url(sb.sandbox.redis_url(), decode_responses=True)
    return dict(zip(marks, client.mget(list(marks)), strict=True)) == marks


def start_drill(home: Path, scenario: str, stop_at: str | None, out: Path) -> Command:
    """`augeoctl dr-drill` in a subprocess that stops at a phase boundary (``paused()``)."""
    hook = ("AUGEO_DRILL_STOP_AT", stop_at, home / "drills" / STOP_FILE) if stop_at else None
    return Command(home, ["dr-drill", "--scenario", scenario, *DRILL_ARGS], out, hook=hook)


@pytest.fixture(autouse=True)
def repaired_afterwards(sandbox: SandboxHandle) -> Iterator[None]:
    """A test that fails half-way must not leave the next one a damaged sandbox."""
    yield
    (sandbox.home / "drills" / STOP_FILE).unlink(missing_ok=True)
    if journal.path(sandbox.home).exists():
        run_cli("sandbox", "repair", home=sandbox.home)


def assert_whole(sb: SandboxHandle, before: dict[str, dict[int, str]]) -> None:
    after = snapshot(sb)
    for table in APP_TABLES:
        lost = sorted(set(before[table]) - set(after[table]))
        changed = sorted(i for i in before[table] if i in after[table] and after[table][i] != before[table][i])
        assert not lost and not changed, f"{table}: ids lost {lost[:10]}, changed {changed[:10]}"
    assert not journal.path(sb.home).exists()
    status = run_cli("sandbox", "status", "-o", "json", home=sb.home)
    assert status.returncode == 0, status
    assert status.json()["running"] and status.json()["unfinished_drill"] is None
    assert not [t for t in sb.sandbox.targets_dir.iterdir()]  # the drill's targets are gone


def drill_services(home: Path, drill_id: str) -> list[int]:
    pid_file = home / "drills" / f"{drill_id}-service" / "service.pid"
    pid = procs.read_pid(pid_file)
    return [pid] if pid else []


# -- 1. accidental delete with the application writing on --------------------------------


def test_accidental_delete_merges_the_rows_back_under_a_concurrent_writer(sandbox: SandboxHandle, tmp_path) -> None:
    before = snapshot(sandbox)
    drill = start_drill(sandbox.home, "accidental-delete", "after:disaster", tmp_path)
    drill.paused()
    assert sandbox.sql("SELECT count(*) FROM app.events")[0][0] == 0  # the DELETE happened
    written: list[int] = []
    halt = threading.Event()
    failures: list[BaseException] = []

    def insert(conn: psycopg.Connection[Any]) -> None:
        row = conn.execute("INSERT INTO app.events (user_id, kind, payload) VALUES (1, 'concurrent', "
                           "jsonb_build_object('n', %s)) RETURNING id", (len(written),)).fetchone()
        assert row is not None
        written.append(int(row[0]))

    def writer() -> None:
        try:
            with sandbox.connect() as conn:
                while not halt.is_set():
                    insert(conn)
                    halt.wait(0.02)
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)

    with sandbox.connect() as conn:
        insert(conn)  # at least one row after the DELETE, for certain
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    drill.go_on()  # the writer keeps writing through recovery, verification and the merge
    rc = drill.wait()
    halt.set()
    thread.join(30)
    assert not failures, failures
    assert rc == 0, drill.output()
    data = drill.json()
    assert data["verdict"] == "PASS", data["reasons"]
    cleanup = data["phases"][-1]
    assert cleanup["name"] == "cleanup" and cleanup["ok"] and "put back" in cleanup["detail"]
    assert_whole(sandbox, before)  # every deleted row is back, by id and content
    ids = {int(r[0]) for r in sandbox.sql("SELECT id FROM app.events")}
    assert set(written) <= ids and len(written) > 1  # the concurrent rows stayed
    new_id = sandbox.sql("INSERT INTO app.events (user_id, kind) VALUES (1, 'after') RETURNING id")[0][0]
    assert new_id > max(ids)  # the sequence is past every id


def test_a_repair_that_cannot_be_verified_fails_the_drill_and_keeps_the_recovered_copy(
        sandbox: SandboxHandle, tmp_path) -> None:
    before = snapshot(sandbox)
    drill = start_drill(sandbox.home, "accidental-delete", "before:cleanup", tmp_path)
    drill_id = drill.paused()["drill_id"]
    # Something in the source silently refuses the rows the merge puts back.
    sandbox.sql("CREATE FUNCTION public.augeo_test_refuse() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RETURN NULL; END $$")
    sandbox.sql("CREATE TRIGGER augeo_test_refuse BEFORE INSERT ON app.events"
                " FOR EACH ROW EXECUTE FUNCTION public.augeo_test_refuse()")
    try:
        drill.go_on()
        assert drill.wait() == 4, drill.output()
        data = drill.json()
        target = sandbox.sandbox.targets_dir / f"dr-{drill_id.split('-', 1)[1].lower()}"
        cleanup = data["phases"][-1]
        assert cleanup["name"] == "cleanup" and not cleanup["ok"]
        assert "still missing from app.events" in cleanup["detail"] and str(target) in cleanup["detail"]
        assert any(r.startswith("phase cleanup failed: the sandbox was NOT repaired") for r in data["reasons"])
        assert str(target) in drill.stderr.read_text()  # said where the recovered copy is
        assert target.is_dir()  # and kept it
        status = run_cli("sandbox", "status", home=sandbox.home)
        assert status.returncode == 4 and f"an unfinished drill {drill_id}" in status.stderr
    finally:
        sandbox.sql("DROP TRIGGER augeo_test_refuse ON app.events")
        sandbox.sql("DROP FUNCTION public.augeo_test_refuse()")
    repaired = run_cli("sandbox", "repair", "-o", "json", home=sandbox.home)
    assert repaired.returncode == 0, repaired
    assert any(f"from {target.name}" in n for n in repaired.json()["notes"])  # the kept copy
    assert_whole(sandbox, before)


# -- 2. SIGINT / SIGTERM at each boundary after the disaster -----------------------------


def _matrix() -> list[Any]:
    representative = {("accidental-delete", "SIGTERM", "after:disaster"),
                      ("server-loss", "SIGINT", "after:recovery"),
                      ("redis-loss", "SIGTERM", "after:verification"),
                      ("bad-migration", "SIGINT", "after:recovery")}
    out = []
    for scenario in ("accidental-delete", "server-loss", "redis-loss", "bad-migration", "bad-deploy"):
        for name in SIGNALS:
            for boundary in BOUNDARIES:
                case = (scenario, name, boundary)
                marks = () if case in representative else (pytest.mark.faults,)
                out.append(pytest.param(*case, marks=marks, id="-".join(case)))
    return out


@pytest.mark.parametrize(("scenario", "sig", "boundary"), _matrix())
def test_a_signal_after_the_disaster_repairs_and_exits_130(
        sandbox: SandboxHandle, tmp_path, scenario: str, sig: str, boundary: str) -> None:
    before = snapshot(sandbox)
    marks = redis_marks(sandbox)
    drill = start_drill(sandbox.home, scenario, boundary, tmp_path)
    stopped = drill.paused()
    drill.proc.send_signal(SIGNALS[sig])
    rc = drill.wait()
    assert rc == 130, drill.output()
    stderr = drill.stderr.read_text()
    assert f"drill {stopped['drill_id']} interrupted ({sig} {boundary.replace(':', ' the ')} phase)" in stderr
    assert "the sandbox was repaired" in stderr
    assert_whole(sandbox, before)
    assert redis_holds(sandbox, marks)
    kept = json.loads((sandbox.home / "drills" / f"{stopped['drill_id']}.json").read_text())
    assert kept["schema_version"] == 2 and kept["interrupted"].startswith(sig)
    assert kept["phases"][-1]["name"] == "cleanup" and kept["phases"][-1]["ok"], kept["phases"][-1]
    assert not drill_services(sandbox.home, stopped["drill_id"])


# -- 3. SIGKILL: the journal, the refusals, `sandbox repair` ------------------------------


@pytest.mark.parametrize(("scenario", "boundary"), [
    ("server-loss", "after:recovery"),
    ("redis-loss", "after:disaster"),
    pytest.param("server-loss", "after:disaster", marks=pytest.mark.faults),
    pytest.param("redis-loss", "after:recovery", marks=pytest.mark.faults),
    pytest.param("accidental-delete", "after:disaster", marks=pytest.mark.faults),
    pytest.param("accidental-delete", "after:recovery", marks=pytest.mark.faults),
    ("bad-migration", "after:disaster"),
    pytest.param("bad-migration", "after:recovery", marks=pytest.mark.faults),
    ("bad-deploy", "after:disaster"),
])
def test_a_killed_drill_is_refused_over_and_repaired_from_its_journal(
        sandbox: SandboxHandle, tmp_path, scenario: str, boundary: str) -> None:
    before = snapshot(sandbox)
    marks = redis_marks(sandbox)
    drill = start_drill(sandbox.home, scenario, boundary, tmp_path)
    drill_id = drill.paused()["drill_id"]
    services = drill_services(sandbox.home, drill_id)
    drill.proc.send_signal(signal.SIGKILL)
    assert drill.wait() == -signal.SIGKILL
    drill.go_on()  # the stop marker of the dead drill

    command = "run `augeoctl sandbox repair`"
    status = run_cli("sandbox", "status", home=sandbox.home)
    assert status.returncode == 4, status
    assert f"an unfinished drill {drill_id} left the sandbox damaged: {command}" in status.stderr
    assert drill_id in status.stdout
    for args in (["sandbox", "up"], ["dr-drill", "--scenario", scenario, "--yes"],
                 ["restore", "--latest", "--dry-run"]):
        refused = run_cli(*args, home=sandbox.home)
        assert refused.returncode == 4, (args, refused)
        assert f"an unfinished drill {drill_id} left the sandbox damaged: {command}" in refused.stderr
    sb = sandbox.sandbox
    if scenario == "server-loss":  # nothing fresh was created over the moved data folder
        assert not sb.pg_data.exists() and list(sb.pg_data.parent.glob(f"data.lost-{drill_id}"))
    if scenario == "redis-loss":
        assert not (sb.redis_dir / "dump.rdb").exists() and sb.redis_pid() is None

    repaired = run_cli("sandbox", "repair", "-o", "json", home=sandbox.home)
    assert repaired.returncode == 0, repaired
    assert repaired.json()["repaired"] == drill_id
    assert_whole(sandbox, before)
    assert redis_holds(sandbox, marks)
    assert not any(procs.alive(pid) for pid in services)
    assert not drill_services(sandbox.home, drill_id)
    again = run_cli("sandbox", "repair", "-o", "json", home=sandbox.home)
    assert again.returncode == 0 and again.json()["repaired"] is None


def test_a_drill_killed_while_its_migration_runs_is_repaired(sandbox: SandboxHandle, tmp_path) -> None:
    # Killed once the pre-migration point is journaled, before Alembic commits anything:
    # the repair finds the schema unchanged and has nothing to put back.
    before = snapshot(sandbox)
    drill = Command(sandbox.home, ["dr-drill", "--scenario", "bad-migration", *DRILL_ARGS], tmp_path,
                    pause_at="alembic upgrade")
    drill.paused()
    migration = journal.Journal.load(sandbox.home).get("migration")  # type: ignore[union-attr]
    assert migration["state"] == "migrating" and migration["point"]
    drill.proc.send_signal(signal.SIGKILL)
    assert drill.wait() == -signal.SIGKILL
    drill.go_on()
    repaired = run_cli("sandbox", "repair", "-o", "json", home=sandbox.home)
    assert repaired.returncode == 0, repaired
    assert any("never committed" in n for n in repaired.json()["notes"]), repaired.json()
    assert sandbox.sql("SELECT version_num FROM alembic_version")[0][0] == "0002"
    assert_whole(sandbox, before)


# -- 4. lost writes are lost writes ---------------------------------------------------------


def test_archive_only_server_loss_reports_the_writes_after_the_recovery_point_as_lost(
        sandbox: SandboxHandle, tmp_path) -> None:
    before = snapshot(sandbox)
    drill = start_drill(sandbox.home, "server-loss", None, tmp_path)
    assert drill.wait() == 0, drill.output()
    data = drill.json()
    assert data["wal_mode"] == "archive" and data["verdict"] == "PASS", data["reasons"]
    integ = data["integrity"][0]
    # Acknowledged after the newest archived commit, before the disaster, not recovered.
    assert integ["after_recovery_point"] > 0
    assert 0 < data["lost_writes"] == integ["lost_writes"] <= integ["after_recovery_point"]
    assert data["missing_before_recovery_point"] == 0
    history = run_cli("dr-drill", "history", "-o", "json", home=sandbox.home).json()["drills"]
    assert history[0]["id"] == data["id"] and history[0]["lost_writes"] == data["lost_writes"]
    assert_whole(sandbox, before)
