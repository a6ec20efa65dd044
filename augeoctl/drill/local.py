"""DR drill scenarios on the local sandbox.

The drill damages the sandbox for real (a DELETE of application data, SIGKILL of the
primary with its data folder made unusable, SIGKILL of Redis with its data removed),
recovers with the same code as ``augeoctl restore`` into a new target, verifies, checks
the reference service against the recovered data, and then repairs the sandbox: the
data folder and RDB are put back and restarted, deleted rows are merged back from the
recovered target (by primary key, never over a newer row) and checked by id. Each
damaging step is noted in the drill journal before it is taken, and each repair works
from the journal, so ``augeoctl sandbox repair`` finishes it after a killed drill. What
the three share is in ``drill.local_base``.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from augeoctl import drivers
from augeoctl.backends.base import RestoreResult
from augeoctl.drill import model
from augeoctl.drill.context import DrillContext, Target
from augeoctl.drill.integrity import pg_integrity, redis_integrity
from augeoctl.drill.local_base import SandboxScenario, app_counts
from augeoctl.drill.model import Check
from augeoctl.drill.scenario import Outcome
from augeoctl.drill.workload import DRILL_TABLE, REDIS_PREFIX
from augeoctl.errors import OperationFailed, PreflightFailed, RepairFailed
from augeoctl.local import procs
from augeoctl.platform.local import RedisTarget

ONE_MICROSECOND = timedelta(microseconds=1)
EVENTS = "app.events"  # what the accidental delete empties; its primary key is ``id``


def put_back_rows(recovered_dsn: str, source_dsn: str) -> tuple[int, int]:
    """Merge app.events of a recovered copy into the source: every row the copy has and
    the source lacks goes back, matched by primary key, and a row the source has is never
    overwritten (the application kept writing). The id sequence is moved past the largest
    id only when it is behind. Verified by identity: every id of the recovered copy must be
    in the source afterwards (``RepairFailed`` names the ones that are not). Returns the
    rows put back and the ids verified."""
    import psycopg
    from psycopg import sql

    table = sql.SQL(EVENTS)
    with drivers.translated("putting the deleted rows back"), \
            psycopg.connect(recovered_dsn, autocommit=True) as src, \
            psycopg.connect(source_dsn, autocommit=True) as dst:
        columns = [r[0] for r in src.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped ORDER BY attnum", (EVENTS,)).fetchall()]
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        with dst.transaction():
            dst.execute(sql.SQL("CREATE TEMP TABLE drill_recovered (LIKE {}) ON COMMIT DROP").format(table))
            with src.cursor().copy(sql.SQL("COPY {} ({}) TO STDOUT").format(table, cols)) as out, \
                    dst.cursor().copy(sql.SQL("COPY drill_recovered ({}) FROM STDIN").format(cols)) as into:
                for chunk in out:
                    into.write(chunk)
            put = dst.execute(sql.SQL(
                "INSERT INTO {} ({}) SELECT {} FROM drill_recovered ORDER BY id ON CONFLICT (id) DO NOTHING"
            ).format(table, cols, cols)).rowcount
            dst.execute(
                "SELECT setval(s.seq, m.top) FROM"
                " (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) s,"
                f" (SELECT max(id) AS top FROM {EVENTS}) m"
                " WHERE s.seq IS NOT NULL AND m.top > COALESCE(pg_sequence_last_value(s.seq), 0)",
                (EVENTS,),
            )
        ids = {int(r[0]) for r in src.execute(f"SELECT id FROM {EVENTS}").fetchall()}
        have = {int(r[0]) for r in dst.execute(f"SELECT id FROM {EVENTS} WHERE id = ANY(%s)",
                                                 (sorted(ids),)).fetchall()}
    missing = sorted(ids - have)
    if missing:
        raise RepairFailed(f"{len(missing)} row(s) of the recovered copy are still missing from {EVENTS} "
                           f"after the merge (e.g. id {', '.join(str(i) for i in missing[:5])})")
    return max(put, 0), len(ids)


class PostgresScenario(SandboxScenario):
    """A PostgreSQL disaster, recovered by a point-in-time restore into a new target."""

    @abstractmethod
    def recovery_target(self, ctx: DrillContext) -> datetime | None:
        """The time to recover to (None: the newest archived transaction)."""

    def recover(self, ctx: DrillContext) -> Outcome:
        to_time = self.recovery_target(ctx)
        pg = self.platform.postgres()
        # A restore that stops short of the archive is kept: the drill's verification
        # counts what it lost, and its failed recovery-point check fails the drill.
        plan = replace(pg.plan_restore(to_time, ctx.target_name("dr")), allow_partial=True, verify="full")
        ctx.add_target(Target("postgres", plan.target))
        # The application is repointed at the new server while it recovers, so it is
        # serving as soon as the data is there: start the reference service now.
        self.start_service(ctx, self.platform.planned_dsn(plan), self.platform.redis_url())
        result = pg.restore(plan, self.reporter)
        ctx.journal.note("recovered", {"target": result.target, "dsn": result.dsn})
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
                                          newest_allowed, log.attempted, ctx.disaster_at))
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

    def recovered_copy(self, ctx: DrillContext, expected: datetime, what: str) -> tuple[str, str]:
        """The DSN and name of a copy recovered to ``expected``: the drill's target when it
        is up, else a restore made for the repair (a drill target too, journaled first)."""
        import psycopg

        pg = self.platform.postgres()
        ready = {t.name: t.dsn for t in pg.list_targets() if t.status == "ready" and t.dsn}
        repair_name = ctx.target_name("repair")
        recovered = str((ctx.journal.get("recovered") or {}).get("target") or "")
        for name in (recovered, repair_name):
            dsn = ready.get(name)
            if dsn is None:
                continue
            try:
                with psycopg.connect(dsn, connect_timeout=5):
                    return dsn, name
            except psycopg.Error:
                continue
        self.reporter.info(f"no recovered copy of {what} to repair from: restoring one ({repair_name})")
        ctx.add_target(Target("postgres", repair_name))
        self.platform.archive_current_wal()
        result = pg.restore(pg.plan_restore(expected, repair_name), self.reporter)
        return result.dsn, repair_name

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
            # Noted before the DELETE: a repair asks PostgreSQL whether this one committed.
            ctx.journal.note("delete", {"table": EVENTS, "xid": str(xid), "state": "deleting"})
            deleted = conn.execute(f"DELETE FROM {EVENTS}").rowcount
            conn.commit()
            conn.autocommit = True
            committed = conn.execute(
                "SELECT pg_xact_commit_timestamp(%s::text::xid)", (str(xid),)
            ).fetchone()[0]  # type: ignore[index]
        ctx.disaster_at = committed
        ctx.expected_point = committed - ONE_MICROSECOND
        ctx.journal.note("delete", {"table": EVENTS, "xid": str(xid), "state": "deleted", "rows": deleted,
                                    "expected_point": model.format_time(ctx.expected_point)})
        return Outcome(f"DELETE FROM app.events removed {deleted} rows (xid {xid})")

    def recovery_target(self, ctx: DrillContext) -> datetime | None:
        # First response: make the archive hold the WAL up to the disaster.
        self.platform.archive_current_wal()
        return ctx.expected_point

    def verify(self, ctx: DrillContext) -> None:
        super().verify(ctx)
        ctx.checks.append(self._found_by_wal_search(ctx))

    def _found_by_wal_search(self, ctx: DrillContext) -> Check:
        """The runbook finds the moment with `augeoctl wal search`: it must list this DELETE,
        with its table, row count and the point the drill recovered to."""
        delete = ctx.journal.get("delete") or {}
        xid, rows = str(delete.get("xid")), delete.get("rows")
        since = ctx.disaster_at - timedelta(seconds=1) if ctx.disaster_at else None
        found = self.platform.wal_search(since, None, 1, self.reporter).found
        match = [d for d in found if str(d.xid) == xid and any(
            o.op == "DELETE" and o.relation == EVENTS and o.rows == rows for o in d.operations)]
        if not match:
            listed = "; ".join(f"xid {d.xid}: {d.to_dict()['summary']}" for d in found) or "nothing"
            return Check("wal-search", False, f"`wal search` did not list the DELETE of {rows} rows of "
                         f"{EVENTS} (xid {xid}); it listed {listed}")
        point = match[0].restore_point
        return Check("wal-search", point == ctx.expected_point,
                     f"`wal search` lists xid {xid}: DELETE {rows} row(s) of {EVENTS}, restore point "
                     f"{model.format_time(point)}"
                     + ("" if point == ctx.expected_point else
                        f", not the drill's {model.format_time(ctx.expected_point)}"))

    def repair(self, ctx: DrillContext) -> list[str]:
        """The runbook's last step after an accidental delete: merge the rows back from a
        copy recovered to just before the DELETE (the drill's target, or a new restore
        when the drill stopped before it had one), and check them by id."""
        delete = ctx.journal.get("delete")
        if not delete:
            return []  # stopped before the disaster
        self.platform.ensure_up(self.reporter)
        expected = self._expected_point(ctx, delete)
        if expected is None:
            return [f"the drill's DELETE (xid {delete['xid']}) never committed: nothing to put back"]
        dsn, name = self.recovered_copy(ctx, expected, EVENTS)
        put, verified = put_back_rows(dsn, self.platform.pg_dsn())
        return [f"{put} deleted row(s) put back into {EVENTS} from {name}, checked by id: all {verified} "
                "rows of the recovered copy are in the sandbox again"]

    def _expected_point(self, ctx: DrillContext, delete: dict[str, Any]) -> datetime | None:
        """Just before the DELETE's commit; None when it did not commit."""
        if delete.get("expected_point"):
            return datetime.fromisoformat(delete["expected_point"])
        import psycopg

        # The drill was stopped between the DELETE and its note: ask PostgreSQL.
        xid = str(delete["xid"])
        with drivers.translated("asking whether the drill's DELETE committed"), \
                psycopg.connect(self.platform.pg_dsn(), autocommit=True) as conn:

            def status() -> str | None:
                row = conn.execute("SELECT txid_status(%s::bigint)", (xid,)).fetchone()
                return row[0] if row else None

            # A killed client's transaction ends once its server process notices.
            if not procs.wait_until(lambda: status() != "in progress", 60):
                raise RepairFailed(f"the drill's DELETE (xid {xid}) is still in progress",
                                   hint="end it with pg_terminate_backend, then repair again")
            if status() != "committed":
                return None
            committed = conn.execute("SELECT pg_xact_commit_timestamp(%s::text::xid)",
                                     (xid,)).fetchone()[0]  # type: ignore[index]
        expected: datetime = committed - ONE_MICROSECOND
        ctx.journal.note("delete", {**delete, "state": "deleted",
                                    "expected_point": model.format_time(expected)})
        return expected

class ServerLoss(PostgresScenario):
    name = "server-loss"
    damage = "SIGKILL the sandbox's PostgreSQL and move its data folder away"

    def disaster(self, ctx: DrillContext) -> Outcome:
        # Synchronous streaming: every commit acknowledged until the server was gone,
        # including one acknowledged while the kill was under way, must survive.
        # Otherwise: what the archive held at the disaster.
        synchronous = self.platform.wal_protection().synchronous
        expected = None if synchronous else self.platform.postgres().window().latest
        disasters = self.platform.disasters
        ctx.journal.note("pg_data", {"from": str(self.platform.sandbox.pg_data),
                                     "to": str(disasters.pg_hideout(ctx.drill_id))})
        killed = disasters.kill_postgres()
        ctx.disaster_at = killed.at
        ctx.expected_point = datetime.now(UTC) if expected is None else expected
        hidden = disasters.hide_pg_data(ctx.drill_id)
        return Outcome(f"postmaster {killed.pid} and {killed.children} child process(es) killed with "
                       f"SIGKILL; data folder moved to {hidden.name}")

    def recovery_target(self, ctx: DrillContext) -> datetime | None:
        return None

    def repair(self, ctx: DrillContext) -> list[str]:
        moved = ctx.journal.get("pg_data")
        if not moved:
            return []  # stopped before the disaster
        return self.platform.disasters.put_back_pg_data(Path(moved["to"]), self.reporter)


class RedisLoss(SandboxScenario):
    name = "redis-loss"
    damage = "SIGKILL the sandbox's Redis and remove its RDB"

    backup_id: str | None = None  # the scheduled RDB snapshot taken during the workload
    target: RedisTarget | None = None

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
        disasters = self.platform.disasters
        ctx.journal.note("rdb", {"from": str(self.platform.sandbox.redis_dir / "dump.rdb"),
                                 "to": str(disasters.rdb_hideout(ctx.drill_id))})
        # The RDB moved aside is what the repair gives back to the sandbox: saved first, so
        # the sandbox keeps every write. The recovery uses the scheduled snapshot only.
        disasters.save_redis()
        killed = disasters.kill_redis()
        ctx.disaster_at = killed.at
        disasters.hide_rdb(ctx.drill_id)
        return Outcome(f"redis-server {killed.pid} killed with SIGKILL; its RDB removed")

    def recover(self, ctx: DrillContext) -> Outcome:
        name = ctx.target_name("dr")
        ctx.add_target(Target("redis", name))
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
        ctx.integrity.append(redis_integrity(log.acks, present, last, log.attempted, ctx.disaster_at))
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
        moved = ctx.journal.get("rdb")
        if not moved:
            return []  # stopped before the disaster
        return self.platform.disasters.put_back_rdb(Path(moved["to"]), self.reporter)


SCENARIOS: tuple[type[SandboxScenario], ...] = (AccidentalDelete, ServerLoss, RedisLoss)
