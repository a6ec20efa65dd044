"""`backup expire` and the configured retention on the real sandbox: what goes, what stays,
the restorable window that follows, and no loss when it is refused, raced or killed.

The base backups and archived WAL are real (pg_basebackup, the archive command); a command
is stopped at an exact point with the documented hook ``AUGEO_PAUSE_AT=STEP``.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from augeoctl.cli.common import PAUSE_FILE
from augeoctl.local import wal
from tests.conftest import SandboxHandle, run_cli
from tests.faults.commands import Command, flat

pytestmark = pytest.mark.integration


def _backup(sandbox: SandboxHandle) -> str:
    sandbox.sql("CREATE TABLE IF NOT EXISTS app.expire_marks (n int)")
    sandbox.sql("INSERT INTO app.expire_marks SELECT generate_series(1, 50)")
    sandbox.switch_wal_and_wait()
    r = run_cli("backup", "create", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    sandbox.switch_wal_and_wait()
    return r.json()["backups"][0]["id"]


def _ids(sandbox: SandboxHandle) -> list[str]:
    r = run_cli("backup", "list", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    return [b["id"] for b in r.json()["backups"] if b["kind"] == "postgres"]


def _archive(sandbox: SandboxHandle) -> list[str]:
    return sorted(p.name for p in sandbox.sandbox.wal_archive.iterdir() if p.is_file())


@pytest.fixture()
def three(sandbox: SandboxHandle) -> list[str]:
    """Three more backups, WAL between them; the ids, oldest first."""
    return [_backup(sandbox) for _ in range(3)]


def test_a_dry_run_and_an_unconfirmed_expiry_change_nothing(sandbox: SandboxHandle, three: list[str]) -> None:
    before_ids, before_wal = _ids(sandbox), _archive(sandbox)
    dry = run_cli("backup", "expire", "--retention-full", "2", "--dry-run", "-o", "json", home=sandbox.home)
    assert dry.returncode == 0, dry
    plan = dry.json()
    assert plan["dry_run"] is True
    assert [b["id"] for b in plan["kept"]] == three[1:]
    assert {b["id"] for b in plan["expired"]} == set(before_ids) - set(three[1:])
    assert plan["wal"]["segments"] > 0
    refused = run_cli("backup", "expire", "--retention-full", "2", home=sandbox.home)
    assert refused.returncode == 2 and "--yes" in refused.stderr and "Traceback" not in refused.stderr
    for bad, fragment in ((["--retention-full", "0"], "must be 1 or more"), (["--window", "soon"], "not a duration"),
                          (["--retention-full", "2", "--window", "7d"], "choose one"), ([], "no retention policy")):
        r = run_cli("backup", "expire", *bad, "--yes", home=sandbox.home)
        assert r.returncode == 2 and fragment in flat(r.stderr), (bad, r)
    assert _ids(sandbox) == before_ids and _archive(sandbox) == before_wal


def test_expiry_removes_old_backups_and_their_wal_and_restores_refuse_the_lost_time(
        sandbox: SandboxHandle, three: list[str]) -> None:
    window_before = run_cli("backup", "list", "-o", "json", home=sandbox.home).json()["window"]
    wal_before = _archive(sandbox)
    dry = run_cli("backup", "expire", "--retention-full", "2", "--dry-run", "-o", "json", home=sandbox.home)
    r = run_cli("backup", "expire", "--retention-full", "2", "--yes", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    done = r.json()
    assert _ids(sandbox) == three[1:]
    kept_start = run_cli("backup", "show", three[1], "-o", "json", home=sandbox.home).json()["backup"]
    first_needed = wal.segment_name(kept_start["timeline"], wal.segment_number(wal.parse_lsn(kept_start["start_lsn"])))
    left = [s for s in _archive(sandbox) if wal.is_segment(s)]
    assert left and min(left) == first_needed == done["wal"]["before"]
    removed = set(wal_before) - set(_archive(sandbox))
    assert len([s for s in removed if wal.is_segment(s)]) == done["wal"]["segments"] > 0
    assert not any((sandbox.sandbox.wal_archive / wal.INDEX_DIR / s).exists() for s in removed)
    # the window starts later now, and a time before it is refused with the new window
    after = run_cli("backup", "list", "-o", "json", home=sandbox.home).json()["window"]
    assert after["earliest"] > window_before["earliest"] and after["latest"] == window_before["latest"]
    # the dry run said which window the expiry would leave, and the expiry which it left
    assert dry.json()["window"]["earliest"] == done["window"]["earliest"] == after["earliest"]
    lost = run_cli("restore", "--to-time", window_before["earliest"], "--dry-run", home=sandbox.home)
    assert lost.returncode == 2 and after["earliest"] in flat(lost.stderr), lost
    # what remains restores, through the WAL that was kept
    ok = run_cli("restore", "--latest", "--target", "after-expiry", "--verify", "quick", "-o", "json",
                 home=sandbox.home)
    assert ok.returncode == 0 and ok.json()["verified"], ok
    assert run_cli("targets", "drop", "after-expiry", "--yes", home=sandbox.home).returncode == 0


def test_the_newest_verified_backup_outlives_the_policy(sandbox: SandboxHandle, three: list[str]) -> None:
    assert run_cli("backup", "verify", three[0], home=sandbox.home).returncode == 0
    r = run_cli("backup", "expire", "--retention-full", "1", "--yes", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    kept = {b["id"]: b["reason"] for b in r.json()["kept"]}
    assert kept == {three[0]: "the newest verified backup (always kept)", three[2]: "one of the newest 1"}
    assert _ids(sandbox) == [three[0], three[2]]


def test_backup_create_applies_the_configured_retention(sandbox: SandboxHandle, tmp_path: Path) -> None:
    cfg = tmp_path / "envs.toml"
    cfg.write_text("[environments.local]\nbackup_retention_full = 1\n")
    r = run_cli("--config", str(cfg), "backup", "create", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    made = r.json()
    newest = made["backups"][0]["id"]
    assert made["expiry"]["policy"]["retention_full"] == 1
    left = _ids(sandbox)
    assert newest in left and len(left) <= 2  # and the newest verified one, if older
    bad = tmp_path / "bad.toml"
    bad.write_text('[environments.local]\nbackup_retention_window = "soon"\n')
    refused = run_cli("--config", str(bad), "backup", "create", home=sandbox.home)
    assert refused.returncode == 2 and "not a duration" in flat(refused.stderr), refused
    assert _ids(sandbox) == left


def test_an_expiry_waits_for_a_running_restore_and_removes_nothing_under_it(
        sandbox: SandboxHandle, three: list[str], started: list[Command], tmp_path: Path) -> None:
    before_ids, before_wal = _ids(sandbox), _archive(sandbox)
    restore = Command(sandbox.home, ["restore", "--latest", "--target", "held", "-o", "json"], tmp_path / "r",
                      pause_at="replay")
    started.append(restore)
    restore.paused()
    r = run_cli("backup", "expire", "--retention-full", "1", "--yes", home=sandbox.home)
    assert r.returncode == 3 and f"pid {restore.proc.pid}" in flat(r.stderr), r
    assert _ids(sandbox) == before_ids and _archive(sandbox) == before_wal
    restore.go_on()
    assert restore.wait() == 0, restore.output()
    assert run_cli("targets", "drop", "held", "--yes", home=sandbox.home).returncode == 0


def test_an_expiry_killed_between_backups_and_wal_leaves_a_consistent_store(
        sandbox: SandboxHandle, three: list[str], started: list[Command], tmp_path: Path) -> None:
    assert run_cli("backup", "verify", three[1], home=sandbox.home).returncode == 0  # the newest verified now
    killed = Command(sandbox.home, ["backup", "expire", "--retention-full", "1", "--yes"], tmp_path / "k",
                     pause_at="expire WAL")
    started.append(killed)
    killed.paused()
    killed.proc.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    (sandbox.home / PAUSE_FILE).unlink()
    # the old backups are gone whole; every kept backup still has its WAL
    assert _ids(sandbox) == three[1:]
    assert not list(sandbox.sandbox.base_dir.glob(".*.expiring"))
    for kept in three[1:]:
        v = run_cli("backup", "verify", kept, "-o", "json", home=sandbox.home)
        assert v.returncode == 0, v
    again = run_cli("backup", "expire", "--retention-full", "1", "--yes", "-o", "json", home=sandbox.home)
    assert again.returncode == 0 and again.json()["wal"]["segments"] > 0, again
