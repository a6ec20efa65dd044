"""The runbooks are executable documentation: every command parses, every runbook has the
required sections and is in the index, and the local ones run end to end."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest

from augeoctl.runbook import model
from tests.cli_lines import resolve, sh_commands
from tests.conftest import REPO, SandboxHandle, run_cli

RUNBOOKS = sorted((REPO / "runbooks").glob("*.md"))
BOOKS = [p for p in RUNBOOKS if p.name != "README.md"]


def commands(path: Path) -> list[list[str]]:
    return sh_commands(path.read_text())


def book(path: Path) -> model.Runbook:
    return model.parse(path.read_text(), path.stem, path)


def test_there_are_runbooks() -> None:
    assert len(BOOKS) >= 3
    for path in BOOKS:
        assert commands(path), f"{path.name} has no augeoctl commands"
        assert book(path).steps, f"{path.name} has no tagged steps"


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.name)
def test_every_runbook_command_parses(path: Path) -> None:
    for args in commands(path):
        resolve(args)


def test_a_wrong_command_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        resolve(["restore", "--to-tim", "now"])


def test_tagged_steps_are_read_as_commands_too() -> None:
    text = "# T\n\n```sh {env=local destructive}\naugeoctl targets drop x --yes\n```\n"
    assert sh_commands(text) == [["targets", "drop", "x", "--yes"]]


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.name)
def test_every_runbook_has_the_required_sections_in_order(path: Path) -> None:
    rb = book(path)
    assert rb.missing_sections() == [], f"{path.name} lacks {rb.missing_sections()}"
    order = [next(i for i, h in enumerate(rb.sections) if h.lower().startswith(s.lower()))
             for s in model.REQUIRED_SECTIONS]
    assert order == sorted(order), f"{path.name}: sections out of order: {rb.sections}"


def test_a_missing_section_is_noticed() -> None:
    text = (REPO / "runbooks" / "dr-drill.md").read_text().replace("## Escalation", "## Who to call")
    assert model.parse(text, "x", Path("x.md")).missing_sections() == ["Escalation"]


def test_the_index_lists_every_runbook_and_documents_the_convention() -> None:
    index = (REPO / "runbooks" / "README.md").read_text()
    table = index[index.index("## Index"):index.index("## The convention")]
    linked = re.findall(r"^\| \[([a-z0-9-]+\.md)\]\(([a-z0-9-]+\.md)\) \|", table, re.M)
    assert all(a == b for a, b in linked)
    assert sorted(a for a, _ in linked) == sorted(p.name for p in BOOKS)
    for section in model.REQUIRED_SECTIONS:
        assert f"`## {section}`" in index
    for word in ("# capture:", "# if this fails:", "destructive", "--from-step", "runbook-runs"):
        assert word in index


def test_the_packaged_runbooks_are_these() -> None:
    assert model.runbooks_dir().resolve() == (REPO / "runbooks").resolve()
    assert [r.name for r in model.all_runbooks()] == [p.stem for p in BOOKS]


def _damage(sandbox: SandboxHandle) -> str:
    """An accidental DELETE for the data-damaged runbook to find and undo; its xid."""
    with sandbox.connect() as conn, conn.transaction():
        xid = conn.execute("SELECT txid_current()").fetchone()[0]
        conn.execute("DELETE FROM app.events WHERE id <= 400")
    return str(xid)


def _incident(name: str, home: Path, handle: SandboxHandle) -> None:
    """What the runbook answers: a release in production to roll back, a migration that
    failed half-way (each revision commits on its own)."""
    if name == "failed-deployment":
        assert run_cli("release", "deploy", "1.1.0", home=home).returncode == 0
        promoted = run_cli("release", "promote", "--yes", "--watch", "1s", home=home)
        assert promoted.returncode == 0, promoted
    if name in ("server-loss", "redis-loss"):
        from augeoctl.platform.local import LocalPlatform

        disasters = LocalPlatform.for_sandbox(handle.sandbox).disasters
        if name == "server-loss":
            # A commit after the backup, archived: the newest restorable point the runbook reads.
            with handle.connect() as conn:
                conn.execute("INSERT INTO app.events (user_id, kind, payload) VALUES (1, 'view', '{}')")
            handle.switch_wal_and_wait()
            disasters.kill_postgres()
            disasters.hide_pg_data("runbook")  # the data folder is gone (moved out of reach)
        else:
            disasters.kill_redis()
            (handle.sandbox.redis_dir / "dump.rdb").unlink()  # and its persistence file
    if name == "failed-migration":
        from augeoctl.schema import shipped_ini

        project = shipped_ini().parent
        ini = home / "alembic.ini"
        ini.write_text("[alembic]\n"
                       f"script_location = {project}\n"
                       f"version_locations = {project / 'versions'}{os.pathsep}"
                       f"{REPO / 'tests' / 'migrations' / 'fixtures' / 'halfway'}\n"
                       "path_separator = os\n")
        failed = run_cli("migrate", "--alembic-ini", str(ini), "--yes", home=home)
        assert failed.returncode == 1 and "augeoctl restore --to-time" in failed.stderr, failed
        assert handle.sql("SELECT version_num FROM alembic_version")[0][0] != "0002"  # half-migrated


def _sessions(handle: SandboxHandle):
    import redis

    return redis.Redis.from_url(handle.sandbox.redis_url(), socket_timeout=10)


@pytest.mark.integration
@pytest.mark.parametrize("path", [p for p in BOOKS if "local" in book(p).environments], ids=lambda p: p.name)
def test_local_runbooks_run_on_a_fresh_sandbox(path: Path, home: Path) -> None:
    handle = SandboxHandle(home)
    try:
        assert run_cli("sandbox", "up", home=home).returncode == 0
        if path.stem == "redis-loss":
            _sessions(handle).set("session:kept", "alice", ex=3600)  # the snapshot holds these
            _sessions(handle).set("counter:forever", 7)
        assert run_cli("backup", "create", "--kind", "all", home=home).returncode == 0
        xid = _damage(handle) if path.stem == "point-in-time-restore" else None
        _incident(path.stem, home, handle)
        r = run_cli("runbook", "run", path.stem, "--env", "local", "--yes", "-o", "json", home=home)
        assert r.returncode == 0, r
        record = r.json()
        assert record["result"] == "passed"
        local_steps = [s.number for s in book(path).steps if s.runs_on("local")]
        assert [s["number"] for s in record["steps"]] == local_steps
        assert all(s["status"] == "ok" and s["exit_code"] == 0 for s in record["steps"])
        assert Path(record["report"]).read_text().startswith(f"# Runbook run: {book(path).title}")
        if xid is not None:
            # The search found the DELETE; the restore stopped right before it: all rows back.
            assert record["captured"]["XID"] == xid
            restored = next(s for s in record["steps"] if "TARGET" in s["captured"])
            assert '"app.events": 2000' in restored["output"], restored["output"]
            assert handle.sql("SELECT count(*) FROM app.events")[0][0] == 2000 - 400
        if path.stem == "server-loss":
            # The lost server's last archived commit is in the new server.
            restored = next(s for s in record["steps"] if "TARGET" in s["captured"])
            assert '"app.events": 2001' in restored["output"], restored["output"]
            assert record["captured"]["LATEST"]
        if path.stem == "redis-loss":
            assert record["captured"]["SNAPSHOT"].startswith("redis-")
            # The snapshot's keys are back in the live cache, with their time to live.
            live = _sessions(handle)
            assert live.get("session:kept") == b"alice" and 0 < live.ttl("session:kept") <= 3600
            assert live.get("counter:forever") == b"7" and live.ttl("counter:forever") == -1
            assert int(record["captured"]["COPIED"]) >= 2
            assert not run_cli("targets", "list", "-o", "json", home=home).json()["targets"]  # dropped
        listed = run_cli("runbook", "list", "-o", "json", home=home).json()["runbooks"]
        assert next(i for i in listed if i["name"] == path.stem)["last_run"]["result"] == "passed"
    finally:
        run_cli("sandbox", "down", home=home)


def test_full_system_recovery_budgets_add_up_to_at_most_the_4_hour_rto() -> None:
    text = (REPO / "runbooks" / "full-system-recovery.md").read_text()
    rows = re.findall(r"^\| (?!\*\*sum)([^|]+?) \| (\d+) min \|$", text, re.M)
    assert len(rows) >= 8, rows  # every step has its budget
    stated = re.search(r"^\| \*\*sum\*\* \| \*\*(\d+) min", text, re.M)
    assert stated and sum(int(m) for _, m in rows) == int(stated.group(1))
    assert int(stated.group(1)) <= 240
