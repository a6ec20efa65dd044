"""A restore stopped at any phase boundary never touches the source or reports a target.

Each restore runs as `augeoctl restore` in a subprocess with the documented test hook
``AUGEO_PAUSE_AT=STEP``: it pauses when it begins that progress step, holding its lock.
The test then interrupts it (SIGINT, SIGTERM) or kills it (SIGKILL); no sleep decides
when the fault lands. Afterwards:

- the source's rows are compared with a snapshot taken before, by row identity;
- every file the WAL archive held before is unchanged, and no timeline of a target
  (a ``.history`` file) reached it;
- an interrupted restore exits 130 and removes its half-made target and server;
- a killed one leaves a target listed as ``interrupted``, which the next restore
  removes, saying so, before it restores and verifies.

The cases marked ``faults`` complete the matrix in ``nox -s faults``.
"""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import pytest

from tests.conftest import SandboxHandle, processes_under, run_cli, wait_for
from tests.faults.commands import Command, flat

pytestmark = pytest.mark.integration

APP_TABLES = ("app.organizations", "app.users", "app.events")
# The progress steps of a local restore, in order (augeoctl/backends/local_recovery.py).
STEPS = ("copy base backup", "replay WAL", "promote", "verify")
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
REPRESENTATIVE = {("SIGKILL", "replay WAL"), ("SIGTERM", "promote"), ("SIGINT", "verify")}


def _matrix() -> list:
    return [
        pytest.param(sig, step, marks=() if (sig, step) in REPRESENTATIVE else (pytest.mark.faults,),
                     id=f"{sig}-{step.replace(' ', '-')}")
        for step in STEPS for sig in SIGNALS
    ]


def snapshot(sb: SandboxHandle) -> dict[str, dict[int, str]]:
    """Every application row by table and id, its content as text: row identity."""
    return {t: {int(i): row for i, row in sb.sql(f"SELECT id, t::text FROM {t} t")} for t in APP_TABLES}


def archive_files(sb: SandboxHandle) -> dict[str, str]:
    """The WAL archive's files and their SHA-256."""
    folder = sb.sandbox.wal_archive
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def backed_up(sandbox: SandboxHandle) -> None:
    """A base backup, then WAL after it, so that every restore has something to replay."""
    r = run_cli("backup", "create", home=sandbox.home)
    assert r.returncode == 0, r
    sandbox.sql("INSERT INTO app.events (user_id, kind) "
                "SELECT u.id, 'restore-fault' FROM app.users u")
    sandbox.switch_wal_and_wait()


@pytest.mark.parametrize(("sig", "step"), _matrix())
def test_a_restore_stopped_at_a_phase_boundary_loses_nothing_and_reports_no_target(
        sandbox: SandboxHandle, backed_up: None, started: list[Command], tmp_path: Path,
        sig: str, step: str) -> None:
    before_rows = snapshot(sandbox)
    before_archive = archive_files(sandbox)
    name = f"fault-{sig.lower()}-{step.split()[0]}"
    target_dir = sandbox.sandbox.targets_dir / name
    restore = Command(sandbox.home, ["restore", "--latest", "--target", name, "-o", "json"],
                      tmp_path / "restore", pause_at=step)
    started.append(restore)
    restore.paused()
    restore.proc.send_signal(SIGNALS[sig])
    rc = restore.wait()

    if sig == "SIGKILL":
        assert rc == -signal.SIGKILL
        listed = run_cli("targets", "list", "-o", "json", home=sandbox.home)
        assert listed.returncode == 0, listed
        assert {t["name"]: t["status"] for t in listed.json()["targets"]}[name] == "interrupted"
    else:
        assert rc == 130, restore.output()
        err = flat(restore.stderr.read_text())
        assert f'the half-made target "{name}" was removed' in err, restore.output()
        assert "Traceback" not in err and "internal error" not in err
        assert restore.stdout.read_text().strip() == "" or '"error"' in restore.stdout.read_text()
        assert not target_dir.exists()
        assert name not in {t["name"] for t in run_cli("targets", "list", "-o", "json",
                                                       home=sandbox.home).json()["targets"]}
        wait_for(lambda: not processes_under(target_dir), 60, "the target's server to stop")

    # The source: every row as it was, the archive as it was, nothing of a target in it.
    after_rows = snapshot(sandbox)
    for table in APP_TABLES:
        lost = sorted(set(before_rows[table]) - set(after_rows[table]))
        changed = sorted(i for i in before_rows[table]
                         if i in after_rows[table] and after_rows[table][i] != before_rows[table][i])
        assert not lost and not changed, f"{table}: ids lost {lost[:10]}, changed {changed[:10]}"
    after_archive = archive_files(sandbox)
    assert {k: after_archive.get(k) for k in before_archive} == before_archive
    assert not [n for n in after_archive if n.endswith(".history") and n not in before_archive]
    status = run_cli("sandbox", "status", "-o", "json", home=sandbox.home)
    assert status.returncode == 0 and status.json()["running"], status

    if sig == "SIGKILL":
        # The next restore removes the killed one's target (and its server), says so,
        # then restores and verifies under the same name.
        rerun = run_cli("restore", "--latest", "--target", name, "-o", "json", home=sandbox.home)
        assert rerun.returncode == 0, rerun
        assert f'removing half-made target "{name}"' in flat(rerun.stderr)
        assert rerun.json()["cleaned_up"] == [name] and rerun.json()["verified"] is True
        with sandbox.connect(rerun.json()["dsn"]) as conn:
            rows = conn.execute("SELECT id, t::text FROM app.events t").fetchall()
        assert {int(i): row for i, row in rows} == after_rows["app.events"]
        dropped = run_cli("targets", "drop", name, "--yes", home=sandbox.home)
        assert dropped.returncode == 0, dropped
        wait_for(lambda: not processes_under(target_dir), 60, "the target's server to stop")
