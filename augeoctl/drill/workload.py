"""The drill's live write workload: a PostgreSQL writer and a Redis writer.

Each writer commits a steady stream of numbered writes and keeps its own log of the
writes the server acknowledged, with the time of acknowledgement. After recovery the
log is compared with what the recovered system holds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DRILL_SCHEMA = "augeo_drill"
DRILL_TABLE = f"{DRILL_SCHEMA}.writes"
REDIS_PREFIX = "augeo:drill:"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WriterLog:
    attempted: int = 0
    acks: dict[int, datetime] = field(default_factory=dict)  # seq -> acknowledged at
    errors: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    stopped_at: datetime | None = None

    @property
    def acknowledged(self) -> int:
        return len(self.acks)

    def summary(self) -> dict[str, object]:
        secs = (
            (self.stopped_at - self.started_at).total_seconds()
            if self.started_at and self.stopped_at
            else 0.0
        )
        return {
            "attempted": self.attempted,
            "acknowledged": self.acknowledged,
            "rate_per_second": round(self.acknowledged / secs, 1) if secs else 0.0,
            "errors": self.errors[:3],
        }


class _Writer(threading.Thread):
    def __init__(self, rate: float) -> None:
        super().__init__(daemon=True)
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.log = WriterLog()
        self._halt = threading.Event()

    def write(self, seq: int) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def open(self) -> None:  # pragma: no cover - overridden
        pass

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def run(self) -> None:
        self.log.started_at = _now()
        try:
            self.open()
        except Exception as exc:  # the server may already be gone
            self.log.errors.append(str(exc).strip())
            self.log.stopped_at = _now()
            return
        seq = 0
        next_at = time.monotonic()
        try:
            while not self._halt.is_set():
                seq += 1
                self.log.attempted = seq
                try:
                    self.write(seq)
                except Exception as exc:  # a disaster makes writes fail: stop writing
                    self.log.errors.append(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
                    break
                self.log.acks[seq] = _now()
                next_at += self.interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._halt.wait(delay)
                else:
                    next_at = time.monotonic()
        finally:
            self.log.stopped_at = _now()
            try:
                self.close()
            except Exception:
                pass

    def stop(self, timeout: float = 10) -> WriterLog:
        self._halt.set()
        self.join(timeout)
        return self.log


class PostgresWriter(_Writer):
    """One INSERT per transaction into the drill table; acknowledged when COMMIT returns."""

    def __init__(self, dsn: str, drill_id: str, rate: float) -> None:
        super().__init__(rate)
        self.dsn = dsn
        self.drill_id = drill_id
        self.conn: Any = None

    def open(self) -> None:
        import psycopg

        self.conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)

    def write(self, seq: int) -> None:
        assert self.conn is not None
        self.conn.execute(
            f"INSERT INTO {DRILL_TABLE} (drill_id, seq) VALUES (%s, %s)", (self.drill_id, seq)
        )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class RedisWriter(_Writer):
    """SET of a numbered key and the newest number in one MULTI/EXEC."""

    def __init__(self, url: str, drill_id: str, rate: float) -> None:
        super().__init__(rate)
        self.url = url
        self.drill_id = drill_id
        self.client: Any = None

    def open(self) -> None:
        import redis

        self.client = redis.Redis.from_url(self.url, socket_timeout=3, socket_connect_timeout=3)
        self.client.ping()

    def write(self, seq: int) -> None:
        assert self.client is not None
        pipe = self.client.pipeline(transaction=True)
        pipe.set(f"{REDIS_PREFIX}{self.drill_id}:seq:{seq}", _now().isoformat())
        pipe.set(f"{REDIS_PREFIX}{self.drill_id}:last", seq)
        pipe.execute()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


@dataclass(frozen=True)
class WriteTarget:
    """Where the workload writes: a PostgreSQL primary and a Redis."""

    pg_dsn: str
    redis_url: str


class Workload:
    """A PostgreSQL writer and a Redis writer, started and stopped together."""

    def __init__(self, target: WriteTarget, drill_id: str, rate: float) -> None:
        self.postgres = PostgresWriter(target.pg_dsn, drill_id, rate)
        self.redis = RedisWriter(target.redis_url, drill_id, rate)

    def start(self) -> None:
        self.postgres.start()
        self.redis.start()

    def stop(self) -> None:
        """Stop both writers (again is harmless); their logs are then final."""
        for writer in (self.postgres, self.redis):
            if writer.ident is not None:  # started
                writer.stop()

    @property
    def errors(self) -> list[str]:
        return self.postgres.log.errors + self.redis.log.errors

    def summary(self) -> dict[str, object]:
        return {"postgres": self.postgres.log.summary(), "redis": self.redis.log.summary()}


def prepare_table(dsn: str) -> None:
    """Create the drill table (no unique key, so a duplicated replay would show)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {DRILL_SCHEMA}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {DRILL_TABLE} ("
            " drill_id text NOT NULL, seq bigint NOT NULL,"
            " written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        conn.execute(f"CREATE INDEX IF NOT EXISTS writes_drill_seq ON {DRILL_TABLE} (drill_id, seq)")
