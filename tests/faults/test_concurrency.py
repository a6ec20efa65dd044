"""One writer at a time: the command lock of AUGEO_HOME, on the real sandbox.

A command is made to hold the lock at an exact point with the documented test hook
``AUGEO_PAUSE_AT=STEP``: it pauses when it begins that progress step, writes
``AUGEO_HOME/paused-at.json`` and waits until the file is removed. The tests wait for
events (that file, a line on stderr, a process's exit), never for a fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from augeoctl.cli.common import PAUSE_FILE
from augeoctl.errors import Busy
from augeoctl.local import procs
from augeoctl.local.lock import RECORD_FILE, CommandLock
from augeoctl.platform.local import LocalPlatform
from augeoctl.progress import NullReporter
from tests.conftest import SandboxHandle, run_cli
from tests.faults.commands import Command, flat

pytestmark = pytest.mark.integration


def partials(sandbox: SandboxHandle) -> list[Path]:
    return sorted(sandbox.sandbox.base_dir.glob(".*.partial"))


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_second_backup_is_refused_naming_the_holder_and_waits_for_it_with_wait(
        sandbox: SandboxHandle, started: list[Command], tmp_path) -> None:
    before = {b.name for b in sandbox.sandbox.base_dir.iterdir()}
    first = Command(sandbox.home, ["backup", "create", "-o", "json"], tmp_path / "first", pause_at="base backup")
    started.append(first)
    assert first.paused()["pid"] == first.proc.pid  # it holds the lock, and pauses there
    record = json.loads((sandbox.home / RECORD_FILE).read_text())
    assert record["pid"] == first.proc.pid and record["command"] == "augeoctl backup create -o json"

    second = run_cli("backup", "create", home=sandbox.home)
    assert second.returncode == 3, second
    assert f"pid {first.proc.pid} (`augeoctl backup create -o json`, since {record['started_at']})" in second.stderr
    assert "another augeoctl command holds the lock" in second.stderr and "--wait" in second.stderr
    assert "internal error" not in second.stderr

    waiting = Command(sandbox.home, ["backup", "create", "--wait", "5m", "-o", "json"], tmp_path / "waiting")
    started.append(waiting)
    waiting.said(f"waiting up to 5 min 00 s for the lock of {sandbox.home}, held by pid {first.proc.pid}")
    assert waiting.proc.poll() is None
    first.go_on()
    assert first.wait() == 0, first.output()
    assert waiting.wait() == 0, waiting.output()
    made = {first.json()["backups"][0]["id"], waiting.json()["backups"][0]["id"]}
    assert len(made) == 2
    assert made <= {b.name for b in sandbox.sandbox.base_dir.iterdir()} - before
    assert not partials(sandbox)
    assert not (sandbox.home / RECORD_FILE).exists()  # released


def test_a_killed_backup_leaves_a_lock_and_a_partial_folder_the_next_backup_takes_over_and_removes(
        sandbox: SandboxHandle, started: list[Command], tmp_path) -> None:
    killed = Command(sandbox.home, ["backup", "create"], tmp_path / "killed", pause_at="base backup")
    started.append(killed)
    killed.paused()
    (leftover,) = partials(sandbox)
    (leftover / "data").mkdir(exist_ok=True)
    (leftover / "data" / "base.tar").write_bytes(os.urandom(2 * 2**20))  # as if half copied
    killed.proc.kill()
    assert killed.wait() == -signal.SIGKILL
    (sandbox.home / PAUSE_FILE).unlink()
    record = json.loads((sandbox.home / RECORD_FILE).read_text())
    assert record["pid"] == killed.proc.pid and not procs.alive(killed.proc.pid)  # stale

    r = run_cli("backup", "create", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    said = flat(r.stderr)
    assert (f"took over the lock of {sandbox.home} left by pid {killed.proc.pid} "
            "(`augeoctl backup create`, since ") in said
    assert "which is no longer running" in said
    assert f"removed {leftover} (2.0 MiB), left by a backup that did not finish" in said
    assert not partials(sandbox)
    assert r.json()["backups"][0]["id"] in {b.name for b in sandbox.sandbox.base_dir.iterdir()}
    assert not (sandbox.home / RECORD_FILE).exists()


def test_a_record_naming_a_dead_pid_is_taken_over_and_said(sandbox: SandboxHandle) -> None:
    gone = dead_pid()
    (sandbox.home / RECORD_FILE).write_text(json.dumps(
        {"pid": gone, "command": "augeoctl sandbox down", "started_at": "2026-11-24T18:05:00.000000Z"}))
    r = run_cli("sandbox", "up", home=sandbox.home)
    assert r.returncode == 0, r
    assert (f"took over the lock of {sandbox.home} left by pid {gone} (`augeoctl sandbox down`, "
            "since 2026-11-24T18:05:00.000000Z), which is no longer running") in flat(r.stderr)
    assert not (sandbox.home / RECORD_FILE).exists()


def test_a_holder_in_this_process_is_named_and_read_only_commands_do_not_wait(
        sandbox: SandboxHandle) -> None:
    assert run_cli("backup", "create", home=sandbox.home).returncode == 0  # for the dry run
    lock = CommandLock(sandbox.home)
    with lock.hold("augeoctl test holder") as me:
        assert me.pid == os.getpid()
        for args in (["sandbox", "down"], ["targets", "drop", "nothing", "--yes"],
                     ["restore", "--latest"], ["dr-drill", "--yes"]):
            r = run_cli(*args, home=sandbox.home)
            assert r.returncode == 3, (args, r)
            assert f"pid {os.getpid()} (`augeoctl test holder`, since " in r.stderr
        for args in (["sandbox", "status"], ["backup", "list"], ["targets", "list"],
                     ["restore", "--latest", "--dry-run"], ["dr-drill", "history"]):
            r = run_cli(*args, home=sandbox.home)
            assert r.returncode == 0, (args, r)
    assert sandbox.sql("SELECT 1")[0][0] == 1  # `sandbox down` changed nothing


def test_dropping_a_target_whose_restore_runs_is_refused_and_the_restore_then_succeeds(
        sandbox: SandboxHandle, started: list[Command], tmp_path) -> None:
    assert run_cli("backup", "create", home=sandbox.home).returncode == 0
    sandbox.switch_wal_and_wait()
    restore = Command(sandbox.home, ["restore", "--latest", "--target", "busy-one", "-o", "json"],
                      tmp_path / "restore", pause_at="replay WAL")
    started.append(restore)
    restore.paused()
    state = json.loads((sandbox.sandbox.targets_dir / "busy-one" / "target.json").read_text())
    assert state["status"] == "in-progress" and state["owner_pid"] == restore.proc.pid

    # Through the lock the restore holds ...
    r = run_cli("targets", "drop", "busy-one", "--yes", home=sandbox.home)
    assert r.returncode == 3, r
    assert f"pid {restore.proc.pid} (`augeoctl restore --latest --target busy-one -o json`" in r.stderr
    # ... and by the target's own state, for a caller that does not take the lock.
    pg = LocalPlatform.for_sandbox(sandbox.sandbox).postgres()
    with pytest.raises(Busy, match=f'target "busy-one" is still being restored by pid {restore.proc.pid}'):
        pg.drop_target("busy-one", NullReporter())
    assert (sandbox.sandbox.targets_dir / "busy-one").is_dir()

    restore.go_on()
    assert restore.wait() == 0, restore.output()
    assert restore.json()["target"] == "busy-one"
    listed = run_cli("targets", "list", "-o", "json", home=sandbox.home).json()["targets"]
    assert {t["name"]: t["status"] for t in listed}["busy-one"] == "ready"
    dropped = run_cli("targets", "drop", "busy-one", "--yes", home=sandbox.home)
    assert dropped.returncode == 0, dropped
    assert not (sandbox.sandbox.targets_dir / "busy-one").exists()
