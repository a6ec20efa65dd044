"""DR drill scenarios on the local sandbox.

The drill damages the sandbox for real (a DELETE of application data, SIGKILL of the
primary with its data folder made unusable, SIGKILL of Redis with its data removed),
recovers with the same code as ``augeoctl restore`` into a new target, verifies, checks
the reference service against the recovered data, and then repairs the sandbox: the
data folder and RDB are put back and restarted, deleted rows are copied back from the
recovered target. What the three share is in ``drill.local_base``.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime, timedelta
from pathlib import Path

from augeoctl import drivers
from augeoctl.backends.base import RestoreResult
from augeoctl.drill import model
from augeoctl.drill.context import DrillContext, Target
from augeoctl.drill.integrity import pg_integrity, redis_integrity
from augeoctl.drill.local_base import SandboxScenario, app_counts
from augeoctl.drill.model import Check
from augeoctl.drill.scenario import Outcome
from augeoctl.drill.workload import DRILL_TABLE, REDIS_PREFIX
from augeoctl.errors import OperationFailed, PreflightFailed
from augeoctl.platform.local import RedisTarget

ONE_MICROSECOND = timedelta(microseconds=1)


class PostgresScenario(SandboxScenario):
    """A PostgreSQL disaster, recovered by a point-in-time restore into a new target."""

    @abstractmethod
    def recovery_target(self, ctx: DrillContext) -> datetime | None:
        """The time to recover to (None: the newest archived transaction)."""

    def recover(self, ctx: DrillContext) -> Outcome:
        to_time = self.recovery_target(ctx)
        pg = self.platform.postgres()
        plan = pg.plan_restore(to_time, ctx.target_name("dr"))
        ctx.targets.append(Target("postgres", plan.target))
        # The application is repointed at the new server while it recovers, so it is
        # serving as soon as the data is there: start the reference service now.
        self.start_service(ctx, self.platform.planned_dsn(plan), self.platform.redis_url())
        result = pg.restore(plan, self.reporter)
        ctx.restore = result
        ctx.recovery_point = result.reached
        ctx.recovery = {
            "target": result.target, "dsn": result.dsn, "backup_id": result.backup_id,
            "requested": model.format_time(result.requested),
            "recovery_point": model.format_time(result.reached),
            "wal_segments_replayed": result.wal_segments_replayed,
            "phases": [p.to_dict() for p in result.phases],
        }
        ctx.checks.extend(result.verification)
        return Outcome(f"target {result.target} from backup {result.backup_id}",
                       tuple((p.name, p.seconds) for p in result.phases))

    def _restored(self, ctx: DrillContext) -> RestoreResult:
        if ctx.restore is None:
            raise OperationFailed("no recovered PostgreSQL: the recovery did not finish")
        return ctx.restore

    def verify(self, ctx: DrillContext) -> None:
        import psycopg

        restored = self._restored(ctx)
        with drivers.translated("reading the recovered target"), \
                psycopg.connect(restored.dsn, autocommit=True) as conn:
            rows = conn.execute(
                f"SELECT seq, pg_xact_commit_timestamp(xmin) FROM {DRILL_TABLE} WHERE drill_id = %s",
                (ctx.drill_id,),
            ).fetchall()
        newest_allowed = restored.requested or restored.reached
        log = ctx.pg_log
        ctx.integrity.append(pg_integrity(log.acks, [(int(s), t) for s, t in rows], ctx.expected_point,
                                          newest_allowed, log.attempted))
        counts = app_counts(restored.dsn)
        ref = ctx.reference
        diff = {t: (ref.get(t), counts.get(t)) for t in set(ref) | set(counts) if ref.get(t) != counts.get(t)}
        ctx.checks.append(Check(
            "application-data", not diff,
            f"row counts match the reference taken before the disaster ({sum(ref.values())} rows in {len(ref)} tables)"
            if not diff else "differ from the reference: " + ", ".join(f"{t} {a}→{b}" for t, (a, b) in sorted(diff.items())),
        ))

    def recovered_endpoints(self, ctx: DrillContext) -> tuple[str, str]:
        return self._restored(ctx).dsn, self.platform.redis_url()

    def drop(self, target: Target) -> None:
        pg = self.platform.postgres()
        if pg.has_target(target.name):
            pg.drop_target(target.name, self.reporter)


class AccidentalDelete(PostgresScenario):
    name = "accidental-delete"
    damage = "DELETE every row of app.events in the local sandbox"

    def disaster(self, ctx: DrillContext) -> Outcome:
        import psycopg

        with drivers.translated("deleting app.events"), \
                psycopg.connect(self.platform.pg_dsn(), autocommit=False) as conn:
            xid = conn.execute("SELECT txid_current()").fetchone()[0]  # type: ignore[index]
            deleted = conn.execute("DELETE FROM app.events").rowcount
            conn.commit()
            conn.autocommit = True
            committed = conn.execute(
                "SELECT pg_xact_commit_timestamp(%s::text::xid)", (str(xid),)
            ).fetchone()[0]  # type: ignore[index]
        ctx.disaster_at = committed
        ctx.expected_point = committed - ONE_MICROSECOND
        return Outcome(f"DELETE FROM app.events removed {deleted} rows (xid {xid})")

    def recovery_target(self, ctx: DrillContext) -> datetime | None:
        # First response: make the archive hold the WAL up to the disaster.
        self.platform.archive_current_wal()
        return ctx.expected_point

    def repair(self, ctx: DrillContext) -> list[str]:
        copied = self._copy_back_events(ctx.restore.dsn) if ctx.restore else None
        return [f"{copied} deleted rows copied back from the recovered target"
                if copied is not None else "deleted rows could not be copied back"]

    def _copy_back_events(self, source_dsn: str) -> int | None:
        """The runbook's last step after an accidental delete: put the rows back."""
        import psycopg

        try:
            with psycopg.connect(source_dsn) as src, psycopg.connect(self.platform.pg_dsn()) as dst:
                with dst.transaction():
                    have = dst.execute("SELECT count(*) FROM app.events").fetchone()[0]  # type: ignore[index]
                    if have:
                        return 0
                    with src.cursor().copy("COPY app.events TO STDOUT") as out, \
                            dst.cursor().copy("COPY app.events FROM STDIN") as into:
                        for chunk in out:
                            into.write(chunk)
                    n = dst.execute("SELECT count(*) FROM app.events").fetchone()[0]  # type: ignore[index]
                    dst.execute("SELECT setval(pg_get_serial_sequence('app.events', 'id'),"
                                " (SELECT max(id) FROM app.events))")
            return int(n)
        except psycopg.Error:
            return None


class ServerLoss(PostgresScenario):
    name = "server-loss"
    damage = "SIGKILL the sandbox's PostgreSQL and move its data folder away"

    hidden: Path | None = None  # the data folder, moved aside by the disaster

    def disaster(self, ctx: DrillContext) -> Outcome:
        # Synchronous streaming: every commit acknowledged until the server was gone,
        # including one acknowledged while the kill was under way, must survive.
        # Otherwise: what the archive held at the disaster.
        synchronous = self.platform.wal_protection().synchronous
        expected = None if synchronous else self.platform.postgres().window().latest
        killed = self.platform.disasters.kill_postgres()
        ctx.disaster_at = killed.at
        ctx.expected_point = datetime.now(UTC) if expected is None else expected
        self.hidden = self.platform.disasters.hide_pg_data(ctx.drill_id)
        return Outcome(f"postmaster {killed.pid} and {killed.children} child process(es) killed with "
                       f"SIGKILL; data folder moved to {self.hidden.name}")

    def recovery_target(self, ctx: DrillContext) -> datetime | None:
        return None

    def repair(self, ctx: DrillContext) -> list[str]:
        if self.hidden is None:
            return []
        self.platform.disasters.put_back_pg_data(self.hidden, self.reporter)
        return ["sandbox PostgreSQL restarted from its original data folder"]


class RedisLoss(SandboxScenario):
    name = "redis-loss"
    damage = "SIGKILL the sandbox's Redis and remove its RDB"

    backup_id: str | None = None  # the scheduled RDB snapshot taken during the workload
    target: RedisTarget | None = None
    hidden: Path | None = None  # the RDB, moved aside by the disaster

    def preflight(self, ctx: DrillContext) -> None:
        super().preflight(ctx)
        redis = self.platform.redis()
        if not redis.list_backups():
            redis.create_backup(self.reporter)
        verified = redis.verify_backup(None, self.reporter)
        if not verified.ok:
            raise PreflightFailed(f"Redis backup {verified.backup_id} failed verification")

    def at_workload_midpoint(self, ctx: DrillContext) -> None:
        # The scheduled RDB snapshot the recovery will use.
        redis = self.platform.redis()
        made = redis.create_backup(self.reporter)
        verified = redis.verify_backup(made.id, self.reporter)
        self.backup_id = made.id
        ctx.checks.append(Check("redis-backup", verified.ok, f"scheduled RDB {made.id} "
                                + ("verified" if verified.ok else "failed verification")))

    def disaster(self, ctx: DrillContext) -> Outcome:
        killed = self.platform.disasters.kill_redis()
        ctx.disaster_at = killed.at
        self.hidden = self.platform.disasters.hide_rdb(ctx.drill_id)
        return Outcome(f"redis-server {killed.pid} killed with SIGKILL; its RDB removed")

    def recover(self, ctx: DrillContext) -> Outcome:
        name = ctx.target_name("dr")
        ctx.targets.append(Target("redis", name))
        made = self.target = self.platform.restore_redis_target(self.backup_id, name)
        ctx.recovery = {"target": name, "url": made.url, "backup_id": made.backup_id,
                        "requested": None, "keys": made.keys}
        return Outcome(f"redis-server from RDB {made.backup_id} on {made.url}")

    def _recovered(self) -> RedisTarget:
        if self.target is None:
            raise OperationFailed("no recovered Redis: the recovery did not finish")
        return self.target

    def verify(self, ctx: DrillContext) -> None:
        import redis

        target = self._recovered()
        prefix = f"{REDIS_PREFIX}{ctx.drill_id}:"
        with drivers.translated("reading the recovered Redis"):
            client = redis.Redis.from_url(target.url)
            last_raw = client.get(prefix + "last")
            present = [int(k.decode().rsplit(":", 1)[1]) for k in client.scan_iter(prefix + "seq:*", count=1000)]
            count = client.dbsize()
        last = int(last_raw) if last_raw is not None else None
        log = ctx.redis_log
        ctx.integrity.append(redis_integrity(log.acks, present, last, log.attempted))
        backup = self.platform.redis().get_backup(target.backup_id)
        ctx.recovery_point = (log.acks.get(last) if last else None) or backup.started_at
        recorded = backup.extra.get("key_count")
        ctx.checks.append(Check("redis-keys", count == recorded,
                                f"{count} keys, the RDB snapshot recorded {recorded}"))

    def recovered_endpoints(self, ctx: DrillContext) -> tuple[str, str]:
        return self.platform.pg_dsn(), self._recovered().url

    def drop(self, target: Target) -> None:
        self.platform.drop_redis_target(target.name)

    def repair(self, ctx: DrillContext) -> list[str]:
        self.platform.disasters.put_back_rdb(self.hidden, self.reporter)
        return ["sandbox Redis restarted from its RDB"]


SCENARIOS: tuple[type[SandboxScenario], ...] = (AccidentalDelete, ServerLoss, RedisLoss)
