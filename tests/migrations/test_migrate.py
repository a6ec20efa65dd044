"""Schema migrations on a real sandbox: the schema comes from Alembic, `augeoctl migrate`
takes a backup and a pre-migration point first, and a migration that fails halfway
leaves a database that the printed restore command brings back as it was (proved by
restoring and comparing rows by identity). The `bad-migration` drill runs last.

The fixtures (``fixtures/halfway``) are a version location on top of the shipped head:
m001 adds and backfills a column, m002 indexes it, m003 fails halfway (a constraint
the seed data violates, after creating a table).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from pathlib import Path

import jsonschema
import psycopg
import pytest

from augeoctl.drill import model
from augeoctl.schema import AlembicProject, shipped_ini
from tests.conftest import SandboxHandle, run_cli
from tests.faults.commands import Command, flat

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures"
APP_TABLES = ("app.organizations", "app.users", "app.events")

# The DDL the sandbox ran before its schema came from migrations (the former seed.sql).
FORMER_SEED_DDL = """
CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE IF NOT EXISTS app.organizations (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS app.users (
    id bigserial PRIMARY KEY,
    org_id bigint NOT NULL REFERENCES app.organizations(id),
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS app.events (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app.users(id),
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_user_idx ON app.events(user_id);
"""


@pytest.fixture(scope="module")
def ini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An alembic.ini of the shipped project with the fixtures as a second version location."""
    project = shipped_ini().parent
    path = tmp_path_factory.mktemp("alembic") / "alembic.ini"
    path.write_text(
        "[alembic]\n"
        f"script_location = {project}\n"
        f"version_locations = {project / 'versions'}{os.pathsep}{FIXTURES / 'halfway'}\n"
        "path_separator = os\n"
    )
    return path


def revision(dsn: str) -> str | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def backup_ids(sb: SandboxHandle) -> list[str]:
    r = run_cli("backup", "list", "-o", "json", home=sb.home)
    assert r.returncode == 0, r
    return [b["id"] for b in r.json()["backups"] if b["kind"] == "postgres"]


def snapshot(dsn: str) -> dict[str, dict[int, str]]:
    """Every application row by table and id, its content as text: row identity."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {t: {int(i): row for i, row in conn.execute(f"SELECT id, t::text FROM {t} t").fetchall()}
                for t in APP_TABLES}


def catalog(dsn: str) -> list[tuple]:
    """The app schema as the catalog describes it: columns, constraints, indexes."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cols = conn.execute(
            # The columns' order (a dropped column keeps its attnum: rank, not position).
            "SELECT table_name, rank() OVER (PARTITION BY table_name ORDER BY ordinal_position),"
            " column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = 'app' ORDER BY 1, 2").fetchall()
        cons = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE connamespace = 'app'::regnamespace ORDER BY 1, 2").fetchall()
        idx = conn.execute("SELECT tablename, indexname, indexdef FROM pg_indexes"
                           " WHERE schemaname = 'app' ORDER BY 1, 2").fetchall()
        seqs = conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'app'"
                            " ORDER BY 1").fetchall()
    return [*cols, *cons, *idx, *seqs]


def migrate(sb: SandboxHandle, *args: str, input: str | None = None):
    return run_cli("migrate", *args, home=sb.home, input=input)


def records(sb: SandboxHandle) -> list[Path]:
    return sorted((sb.home / "migrations").glob("*.json"))


def test_the_sandbox_schema_comes_from_migrations(sandbox: SandboxHandle) -> None:
    assert revision(sandbox.dsn) == AlembicProject.shipped().heads()[0] == "0002"
    # The same schema the former seed.sql made: columns, keys, constraints, indexes.
    with sandbox.connect(sandbox.sandbox.dsn("postgres")) as conn:
        conn.execute("DROP DATABASE IF EXISTS former_seed")
        conn.execute("CREATE DATABASE former_seed")
    former = sandbox.sandbox.dsn("former_seed")
    with psycopg.connect(former, autocommit=True) as conn:
        conn.execute(FORMER_SEED_DDL)
    try:
        assert catalog(sandbox.dsn) == catalog(former)
        assert len(catalog(former)) > 20
    finally:
        with sandbox.connect(sandbox.sandbox.dsn("postgres")) as conn:
            conn.execute("DROP DATABASE former_seed")


def test_a_sandbox_made_before_migrations_is_stamped_at_its_revision(sandbox: SandboxHandle) -> None:
    # Its schema came from the former seed.sql and it has no alembic_version.
    counts = sandbox.sql("SELECT (SELECT count(*) FROM app.users), (SELECT count(*) FROM app.events)")
    sandbox.sql("DROP TABLE alembic_version")
    assert run_cli("sandbox", "down", home=sandbox.home).returncode == 0
    up = run_cli("sandbox", "up", home=sandbox.home)
    assert up.returncode == 0, up
    assert revision(sandbox.dsn) == "0002"
    assert sandbox.sql("SELECT (SELECT count(*) FROM app.users), (SELECT count(*) FROM app.events)") == counts


def test_bad_input_is_refused_and_changes_nothing(sandbox: SandboxHandle, ini: Path, tmp_path: Path) -> None:
    before = backup_ids(sandbox)
    r = migrate(sandbox, "--alembic-ini", str(tmp_path / "missing.ini"), "--yes", "-o", "json")
    assert r.returncode == 2, r
    assert "missing.ini" in r.stderr and r.json()["error"]["exit_code"] == 2
    r = migrate(sandbox, "--alembic-ini", str(ini), "--revision", "nosuch", "--yes")
    assert r.returncode == 2, r
    assert '--revision "nosuch"' in r.stderr and "m003" in r.stderr  # names the fix
    r = migrate(sandbox, "--alembic-ini", str(ini), "--revision", "m001", input="")
    assert r.returncode == 2 and "--yes" in r.stderr  # no terminal to confirm on
    assert backup_ids(sandbox) == before
    assert revision(sandbox.dsn) == "0002"
    assert records(sandbox) == []


def test_dry_run_prints_the_sql_and_changes_nothing(sandbox: SandboxHandle, ini: Path) -> None:
    before = backup_ids(sandbox)
    r = migrate(sandbox, "--alembic-ini", str(ini), "--revision", "m002", "--dry-run")
    assert r.returncode == 0, r
    assert "ALTER TABLE app.users ADD COLUMN domain text;" in r.stdout
    assert "CREATE INDEX users_domain_idx" in r.stdout and "m003" not in r.stdout
    data = migrate(sandbox, "--alembic-ini", str(ini), "--dry-run", "-o", "json").json()
    assert data["dry_run"] and data["from_revision"] == "0002" and data["to_revision"] == ["m003"]
    assert [p["id"] for p in data["pending"]] == ["m001", "m002", "m003"]
    assert "events_kind_check" in data["sql"]
    assert "127.0.0.1" not in r.stdout + r.stderr + data["sql"]  # no DSN shown
    assert backup_ids(sandbox) == before
    assert revision(sandbox.dsn) == "0002"
    assert records(sandbox) == []


def test_a_migration_takes_a_backup_and_records_the_point_first(sandbox: SandboxHandle, ini: Path) -> None:
    before = backup_ids(sandbox)
    r = migrate(sandbox, "--alembic-ini", str(ini), "--revision", "m001", "--yes", "-o", "json")
    assert r.returncode == 0, r
    data = r.json()
    assert data["state"] == "succeeded" and data["applied"] == ["m001"]
    point = data["pre_migration_point"]
    assert point["kind"] == "base-backup" and point["lsn"] and point["restore_point"]
    assert point["backup_id"] not in before and point["backup_id"] in backup_ids(sandbox)
    assert data["restore_command"] == f"augeoctl restore --to-time {point['time']}"
    (record,) = records(sandbox)
    kept = json.loads(record.read_text())
    assert kept["id"] == data["id"] and kept["pre_migration_point"] == point and kept["state"] == "succeeded"
    assert revision(sandbox.dsn) == "m001"
    assert sandbox.sql("SELECT count(*) FROM app.users WHERE domain = 'example.test'")[0][0] == 200
    # Nothing left to do: no backup, no record.
    r = migrate(sandbox, "--alembic-ini", str(ini), "--revision", "m001", "--yes", "-o", "json")
    assert r.returncode == 0 and r.json()["migrated"] is False
    assert len(records(sandbox)) == 1


def test_a_failing_migration_is_restorable_to_the_pre_migration_point(sandbox: SandboxHandle, ini: Path) -> None:
    assert revision(sandbox.dsn) == "m001"
    before_rows = snapshot(sandbox.dsn)
    before_schema = catalog(sandbox.dsn)
    r = migrate(sandbox, "--alembic-ini", str(ini), "--yes", "-o", "json")
    assert r.returncode == 1, r
    error = r.json()["error"]
    result = error["result"]
    # Which revisions were applied before the failure, and where the database is.
    assert result["state"] == "failed" and result["applied"] == ["m002"]
    assert result["failed_revision"] == "m003" and result["revision_after"] == "m002"
    assert "events_kind_check" in result["error"]
    assert revision(sandbox.dsn) == "m002"  # m002 committed on its own
    point = result["pre_migration_point"]
    assert point["backup_id"] in error["message"] and point["time"] in error["message"]
    command = result["restore_command"]
    assert f"`{command}`" in r.stderr  # the message names the exact command
    # The printed command works: restore into a new target and compare.
    args = shlex.split(command)
    assert args[:2] == ["augeoctl", "restore"]
    restored = run_cli(*args[1:], "--target", "premigration", "-o", "json", home=sandbox.home)
    assert restored.returncode == 0, restored
    dsn = restored.json()["dsn"]
    try:
        assert revision(dsn) == "m001"
        assert catalog(dsn) == before_schema  # no users_domain_idx, no app.event_kinds
        assert snapshot(dsn) == before_rows
    finally:
        assert run_cli("targets", "drop", "premigration", "--yes", home=sandbox.home).returncode == 0
    # Back to the shipped head for what follows.
    AlembicProject(ini, sandbox.dsn).downgrade("0002")
    assert revision(sandbox.dsn) == "0002"


def test_an_interrupted_migration_names_the_way_back(sandbox: SandboxHandle, ini: Path, tmp_path: Path) -> None:
    # Ctrl-C once the point is marked, before Alembic starts: exit 130, the record says
    # so, and the message names the restore command.
    cmd = Command(sandbox.home, ["migrate", "--alembic-ini", str(ini), "--revision", "m001", "--yes"],
                  tmp_path, pause_at="alembic upgrade")
    cmd.paused()
    cmd.proc.send_signal(signal.SIGINT)
    assert cmd.wait() == 130, cmd.output()
    stderr = flat(cmd.stderr.read_text())
    record = json.loads(records(sandbox)[-1].read_text())
    assert record["state"] == "interrupted" and record["applied"] == []
    assert f"`{record['restore_command']}`" in stderr
    assert revision(sandbox.dsn) == "0002"


def test_the_bad_migration_drill_passes_and_puts_the_column_back(sandbox: SandboxHandle) -> None:
    before = snapshot(sandbox.dsn)
    schema_before = catalog(sandbox.dsn)
    r = run_cli("dr-drill", "--scenario", "bad-migration", "--duration", "2s", "--rate", "40", "--yes",
                "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    data = r.json()
    jsonschema.validate(data, model.schema())
    assert data["verdict"] == "PASS", data["reasons"]
    checks = {c["name"]: c["ok"] for c in data["checks"]}
    assert checks["pre-migration-schema"] and checks["application-data"] and checks["recovery-point"]
    integ = data["integrity"][0]
    assert integ["acknowledged"] > 10 and integ["ok"] and data["missing_before_recovery_point"] == 0
    # Recovered to the pre-migration point: what the writer had acknowledged by then is
    # there; what it acknowledged later (while the migration ran) is the RPO's price.
    assert integ["expected_present"] + integ["after_recovery_point"] == integ["acknowledged"]
    assert data["lost_writes"] <= integ["after_recovery_point"]
    disaster = next(p for p in data["phases"] if p["name"] == "disaster")
    assert "augeoctl restore --to-time" in disaster["detail"]
    # The column's data is back by row identity, the schema as it was.
    assert snapshot(sandbox.dsn) == before
    assert catalog(sandbox.dsn) == schema_before
    assert revision(sandbox.dsn) == "0002"
    assert not list(sandbox.sandbox.targets_dir.iterdir())
    history = run_cli("dr-drill", "history", "-o", "json", home=sandbox.home).json()["drills"]
    assert history[0]["id"] == data["id"] and history[0]["scenario"] == "bad-migration"
    assert history[0]["verdict"] == "PASS"
