"""``wal search`` finds the damage in the archived WAL, and ``restore --before-xid`` /
``restore --to-time RESTORE-POINT`` undo it, on a real sandbox with small data."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import SandboxHandle, run_cli

pytestmark = pytest.mark.integration


def _xact(sandbox: SandboxHandle, *statements: str) -> str:
    with sandbox.connect() as conn, conn.transaction():
        xid = conn.execute("SELECT txid_current()").fetchone()[0]
        for sql in statements:
            conn.execute(sql)
    return str(xid)


@pytest.fixture(scope="module")
def damage(sandbox: SandboxHandle) -> dict:
    sandbox.sql("CREATE TABLE app.doomed AS SELECT g AS id FROM generate_series(1, 30) g")
    sandbox.sql("CREATE TABLE app.scratch AS SELECT g AS id FROM generate_series(1, 40) g")
    sandbox.sql("CREATE SCHEMA junk")
    sandbox.sql("CREATE TABLE junk.t1 AS SELECT g AS id FROM generate_series(1, 10) g")
    # The backup remembers the catalog: the names of tables dropped later.
    assert run_cli("backup", "create", home=sandbox.home).returncode == 0
    events = [r[0] for r in sandbox.sql("SELECT id FROM app.events ORDER BY id")]
    small = _xact(sandbox, "DELETE FROM app.events WHERE id IN (1, 2, 3)")
    delete = _xact(sandbox, "DELETE FROM app.events WHERE id <= 500")
    update = _xact(sandbox, "UPDATE app.users SET email = email || '.old' WHERE id <= 150")
    truncate = _xact(sandbox, "TRUNCATE app.scratch")
    drop = _xact(sandbox, "DROP TABLE app.doomed")
    rewrite = _xact(sandbox, "ALTER TABLE app.organizations ALTER COLUMN name TYPE varchar(50)")
    schema = _xact(sandbox, "DROP SCHEMA junk CASCADE")
    return {"events": events, "small": small, "delete": delete, "update": update, "truncate": truncate,
            "drop": drop, "rewrite": rewrite, "schema": schema}


def _search(sandbox: SandboxHandle, *args: str) -> dict[str, dict]:
    r = run_cli("wal", "search", "--since", "-10m", *args, "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    return {t["xid"]: t for t in r.json()["transactions"]}


def test_search_lists_delete_update_truncate_and_drop_with_names(sandbox: SandboxHandle, damage: dict) -> None:
    found = _search(sandbox, "--min-rows", "100")
    ops = {xid: [(o["op"], o["relation"], o["rows"]) for o in t["operations"]] for xid, t in found.items()}
    assert ops[damage["delete"]] == [("DELETE", "app.events", 497)]
    assert ops[damage["update"]] == [("UPDATE", "app.users", 150)]
    assert ops[damage["truncate"]] == [("TRUNCATE", "app.scratch", None)]
    assert ops[damage["drop"]] == [("DROP TABLE", "app.doomed", None)]
    # A dropped schema is named with the tables that went with it.
    assert ops[damage["schema"]][0][:2] == ("DROP SCHEMA", "junk (with junk.t1)")
    # Below --min-rows, and a rewrite that keeps every row, are not damage.
    assert damage["small"] not in found and damage["rewrite"] not in found
    assert list(found) == sorted(found, key=lambda x: found[x]["committed_at"])
    for t in found.values():
        assert t["restore_point"] < t["committed_at"]


def test_min_rows_lowers_the_bar(sandbox: SandboxHandle, damage: dict) -> None:
    found = _search(sandbox, "--min-rows", "3")
    assert found[damage["small"]]["summary"] == "DELETE 3 row(s) of app.events"


def test_restore_before_the_xid_gives_the_rows_back(sandbox: SandboxHandle, damage: dict) -> None:
    r = run_cli("restore", "--before-xid", damage["delete"], "--target", "before-delete", "-o", "json",
                home=sandbox.home)
    assert r.returncode == 0, r
    result = r.json()
    assert result["before_xid"] == damage["delete"]
    assert {c["name"]: c["ok"] for c in result["verification"]}["recovery-point"]
    with psycopg.connect(result["dsn"]) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM app.events ORDER BY id")]
        doomed = conn.execute("SELECT count(*) FROM app.doomed").fetchone()[0]
    # Row identity: exactly the rows before the DELETE (the small one before it stays done).
    assert ids == [i for i in damage["events"] if i not in (1, 2, 3)]
    assert doomed == 30
    assert run_cli("targets", "drop", "before-delete", "--yes", home=sandbox.home).returncode == 0


def test_restore_to_the_printed_point_undoes_the_drop_only(sandbox: SandboxHandle, damage: dict) -> None:
    point = _search(sandbox)[damage["drop"]]["restore_point"]
    r = run_cli("restore", "--to-time", point, "--target", "before-drop", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    with psycopg.connect(r.json()["dsn"]) as conn:
        assert conn.execute("SELECT count(*) FROM app.doomed").fetchone()[0] == 30
        assert conn.execute("SELECT count(*) FROM app.scratch").fetchone()[0] == 0  # truncated before
        assert conn.execute("SELECT count(*) FROM app.events").fetchone()[0] == len(damage["events"]) - 500
    assert run_cli("targets", "drop", "before-drop", "--yes", home=sandbox.home).returncode == 0


@pytest.mark.parametrize("args, message", [
    (["--before-xid", "12x"], "is not a transaction id"),
    (["--before-xid", "5", "--latest"], "give it without --to-time, --latest or --geo"),
    (["--before-xid", "999999999"], "no commit of transaction 999999999 in the archived WAL"),
])
def test_bad_before_xid_is_refused_before_anything(sandbox: SandboxHandle, damage: dict, args: list[str],
                                                    message: str) -> None:
    r = run_cli("restore", *args, "--target", "never-made", home=sandbox.home)
    assert r.returncode == 2 and message in r.stderr, r
    assert not (sandbox.sandbox.targets_dir / "never-made").exists()


def test_search_refuses_bad_input(sandbox: SandboxHandle) -> None:
    r = run_cli("wal", "search", "--min-rows", "0", home=sandbox.home)
    assert r.returncode == 2 and "--min-rows" in r.stderr
    r = run_cli("wal", "search", "--since", "-1m", "--until", "-2m", home=sandbox.home)
    assert r.returncode == 2 and "--until is before --since" in r.stderr
