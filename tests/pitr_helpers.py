"""Helpers for point-in-time restore tests on a real sandbox: a writer, commits, backups.

Shared by ``tests/local/test_pitr.py`` and ``tests/faults/test_wal_and_meta.py``. The
writer commits into ``pitr_rows (seq int PRIMARY KEY, pad text)``, which the test makes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import psycopg

from tests.conftest import SandboxHandle, run_cli


class Writer(threading.Thread):
    """Commits one row per transaction until stopped."""

    def __init__(self, dsn: str, rate: float = 150.0) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.interval = 1.0 / rate
        self.stop_event = threading.Event()
        self.seq = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                while not self.stop_event.is_set():
                    self.seq += 1
                    conn.execute("INSERT INTO pitr_rows(seq) VALUES (%s)", (self.seq,))
                    time.sleep(self.interval)
        except BaseException as exc:  # pragma: no cover - reported by the test
            self.error = exc

    def advance(self, rows: int, timeout: float = 120.0) -> None:
        """Wait until the writer has committed ``rows`` more rows (not a fixed sleep)."""
        goal = self.seq + rows
        deadline = time.monotonic() + timeout
        while self.seq < goal:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"the writer committed {self.seq} of {goal} rows"
            time.sleep(0.01)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(10)
        assert self.error is None, self.error


@contextmanager
def writing(sb: SandboxHandle, first: int = 30) -> Iterator[Writer]:
    """A writer continuing the source's ``pitr_rows``, once ``first`` rows of it are
    archived; stopped (and checked) on the way out."""
    writer = Writer(sb.dsn)
    writer.seq = max(seq for seq, _ in commits(sb))
    writer.start()
    try:
        writer.advance(first)
        sb.switch_wal_and_wait()
        yield writer
    finally:
        writer.stop()


def commits(sb: SandboxHandle) -> list[tuple[int, datetime]]:
    """(seq, commit time) of every row of ``pitr_rows`` on the source, by seq."""
    return [
        (int(seq), ts)
        for seq, ts in sb.sql(
            "SELECT seq, pg_xact_commit_timestamp(xmin) FROM pitr_rows ORDER BY seq"
        )
    ]


def backup(home: Path) -> dict:
    """`augeoctl backup create`; the new backup as JSON."""
    r = run_cli("backup", "create", "--output", "json", home=home)
    assert r.returncode == 0, r
    return r.json()["backups"][0]


def target_rows(dsn: str) -> set[int]:
    with psycopg.connect(dsn) as conn:
        return {int(r[0]) for r in conn.execute("SELECT seq FROM pitr_rows").fetchall()}


def parse_time(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))
