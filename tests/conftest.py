"""Shared fixtures: real servers on loopback, started and stopped by the tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests interrupt the commands they start (Ctrl-C, SIGTERM). A run started as a background
# job inherits SIGINT ignored, and every child would keep ignoring it; a Python handler here
# is reset to the default in each child the tests start.
signal.signal(signal.SIGINT, signal.default_int_handler)


# Every home a test makes; the ones a test did not discard are swept when the run ends.
HOMES: list[Path] = []


def make_home(prefix: str = "augeo-test-") -> Path:
    """A sandbox home the unprivileged PostgreSQL user can reach (we may be root).

    Prefer the ``home`` fixture, which discards the home after the test."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(home, 0o755)
    HOMES.append(home)
    return home


def processes_under(folder: Path) -> list[int]:
    """Pids (other than ours) whose command line names ``folder`` or a path in it."""
    from augeoctl.local import procs

    marks = (f"{folder}/", f"{folder} ")
    return [int(d.name) for d in Path("/proc").iterdir()
            if d.name.isdigit() and int(d.name) != os.getpid()
            and any(m in procs.command_line(int(d.name)) + " " for m in marks)]


def discard_home(home: Path) -> None:
    """Stop every server a home still runs, then remove it.

    The sandbox's own ``down`` stops its servers and restored targets; any process left
    whose command line names the home (a target a killed drill left, a WAL receiver) is
    killed after it. A sandbox of a few hundred megabytes per test would otherwise fill
    the disk over a few runs."""
    from augeoctl.local import procs
    from augeoctl.local.sandbox import Sandbox

    if not home.exists():
        return
    if (home / "sandbox").exists():
        try:
            Sandbox(home).down()
        except Exception as exc:  # still remove what can be removed
            print(f"warning: stopping the sandbox in {home}: {exc}", file=sys.stderr)
    left = processes_under(home)
    if left:
        procs.kill_all(left, 60)
    shutil.rmtree(home, ignore_errors=True)


# No test touches the machine's own AUGEO_HOME (/var/lib/augeoctl for root): a command a
# test runs without naming a home gets one of this run, so runs beside each other (and a
# user's sandbox) never share a lock or a sandbox.
RUN_HOME = make_home("augeo-tests-run-")
os.environ["AUGEO_HOME"] = str(RUN_HOME)


def wait_gone(pid: int, timeout: float = 60.0) -> None:
    """Wait until process ``pid`` has exited (gone, or a zombie awaiting its parent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still runs after {timeout} s")


def wait_for(predicate, timeout: float = 60.0, what: str = "the expected state"):
    """Poll ``predicate`` until it returns something true; that value is returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


class RunResult:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<rc={self.returncode} stdout={self.stdout[-2000:]!r} stderr={self.stderr[-2000:]!r}>"


def run_cli(*args: str, home: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600, input: str | None = None) -> RunResult:
    """Run the installed ``augeoctl`` as a user would, in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
    full_env["AUGEO_HOME"] = str(home if home is not None else RUN_HOME)
    full_env.update(env or {})
    exe = shutil.which("augeoctl") or ""
    cmd = [exe, *args] if exe else [sys.executable, "-m", "augeoctl", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout,
                          input=input)
    return RunResult(proc)


class SandboxHandle:
    """A running sandbox with helpers for tests."""

    def __init__(self, home: Path) -> None:
        from augeoctl.local.sandbox import Sandbox

        self.home = home
        self.sandbox = Sandbox(home)

    def up(self) -> None:
        self.sandbox.up()

    def down(self) -> None:
        self.sandbox.down()

    @property
    def dsn(self) -> str:
        return self.sandbox.dsn()

    def connect(self, dsn: str | None = None):
        import psycopg

        return psycopg.connect(dsn or self.dsn, autocommit=True)

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with self.connect() as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def switch_wal_and_wait(self, timeout: float = 60) -> str:
        """Close the current WAL segment and wait until the archive has it."""
        with self.connect() as conn:
            conn.execute("SELECT txid_current()")  # make sure the segment is not empty
            lsn = conn.execute("SELECT pg_switch_wal()").fetchone()[0]
            seg = conn.execute("SELECT pg_walfile_name(%s)", (lsn,)).fetchone()[0]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
                if last is not None and last >= seg:
                    return seg
                time.sleep(0.05)
        raise AssertionError(f"segment {seg} was not archived within {timeout} s")


@pytest.fixture()
def home() -> Iterator[Path]:
    """A fresh, empty home for one test; its servers are stopped and it is removed after."""
    path = make_home()
    try:
        yield path
    finally:
        discard_home(path)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    """A fresh sandbox for a test module, torn down and removed afterwards."""
    path = make_home()
    handle = SandboxHandle(path)
    try:
        handle.up()
        yield handle
    finally:
        discard_home(path)


def pytest_sessionfinish(session, exitstatus) -> None:
    """Sweep the homes no test discarded, and the run's own home."""
    for path in [*HOMES, RUN_HOME]:
        discard_home(path)


@pytest.fixture()
def credential():
    """The fake ARM's test credential for in-process Azure SDK calls (augeoctl's credential
    factory), reset afterwards."""
    from augeoctl import azure
    from tests.fakearm.server import TestCredential

    cred = TestCredential()
    azure.set_credential_factory(lambda env: cred)
    yield cred
    azure.set_credential_factory(None)
