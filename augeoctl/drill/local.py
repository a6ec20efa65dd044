"""DR drills on the local sandbox.

The drill damages the sandbox for real (a DELETE of application data, SIGKILL of the
primary with its data folder made unusable, SIGKILL of Redis with its data removed),
recovers with the same code as ``augeoctl restore`` into a new target, verifies, checks
the reference service against the recovered data, and then repairs the sandbox: the
data folder and RDB are put back and restarted, deleted rows are copied back from the
recovered target.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from augeoctl.backends.base import RestoreResult
from augeoctl.backends.local_pg import LocalPostgresBackend
from augeoctl.backends.local_redis import LocalRedisBackend
from augeoctl.drill import history, model
from augeoctl.drill.model import Check, DrillPhase, DrillReport, Integrity
from augeoctl.drill.workload import (
    DRILL_TABLE,
    REDIS_PREFIX,
    PostgresWriter,
    RedisWriter,
    WriterLog,
    prepare_table,
)
from augeoctl.errors import AugeoError, UsageError
from augeoctl.local import tools
from augeoctl.local.sandbox import APP_DB, SUPERUSER, Sandbox, stop_postgres
from augeoctl.progress import NullReporter, Reporter

ONE_MICROSECOND = timedelta(microseconds=1)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DrillConfig:
    scenario: str
    rto: float = model.DEFAULT_RTO_SECONDS
    rpo: float = model.DEFAULT_RPO_SECONDS
    duration: float = 20.0  # seconds of workload before the disaster
    rate: float = 25.0  # writes per second per writer
    keep: bool = False
    disk_reserve: int = 0  # bytes that must stay free beyond the restore's own need
    service_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.scenario not in model.SCENARIOS:
            raise UsageError(
                f'unknown scenario "{self.scenario}"', hint="choose " + ", ".join(model.SCENARIOS)
            )
        if self.duration < 0.5:
            raise UsageError("the workload must run for at least 0.5 s before the disaster")
        if not 0 < self.rate <= 2000:
            raise UsageError("--rate must be between 0 and 2000 writes per second")
        if self.rto <= 0 or self.rpo < 0:
            raise UsageError("--rto must be positive and --rpo not negative")


@dataclass
class DrillContext:
    """What a drill knows while it runs; passed to hooks."""

    drill_id: str
    sandbox: Sandbox
    config: DrillConfig
    disaster_at: datetime | None = None
    expected_point: datetime | None = None  # every write acknowledged by then must survive
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class DrillHooks:
    """Points where a caller (a test, a chaos experiment) may act during a drill."""

    after_disaster: Callable[[DrillContext], None] | None = None


class PreflightFailed(Exception):
    pass


# ---------------------------------------------------------------------------
# Pure integrity checks


def pg_integrity(
    acks: dict[int, datetime],
    rows: list[tuple[int, datetime | None]],
    expected_point: datetime | None,
    newest_allowed: datetime | None,
    attempted: int,
) -> Integrity:
    """Compare acknowledged writes with recovered rows ``(seq, commit time)``.

    Every write acknowledged at or before ``expected_point`` must be present; a row
    committed after ``newest_allowed`` (the recovery target), or one never written,
    is extra; a sequence number present twice is a duplicate.
    """
    present = [seq for seq, _ in rows]
    present_set = set(present)
    expected = {s for s, at in acks.items() if expected_point is not None and at <= expected_point}
    missing = sorted(expected - present_set)
    extra = sum(
        1
        for seq, ts in rows
        if seq > attempted or seq < 1 or (newest_allowed is not None and ts is not None and ts > newest_allowed)
    )
    after = sum(1 for at in acks.values() if expected_point is None or at > expected_point)
    return Integrity(
        store="postgres",
        acknowledged=len(acks),
        expected_present=len(expected),
        present=len(present_set),
        lost_writes=len(missing),
        extra=extra,
        duplicates=len(present) - len(present_set),
        after_recovery_point=after,
        missing_sample=tuple(missing[:10]),
    )


def redis_integrity(acks: dict[int, datetime], present: list[int], last: int | None, attempted: int) -> Integrity:
    """A Redis snapshot must hold every acknowledged write up to its newest one, and no later one."""
    present_set = set(present)
    upto = last or 0
    expected = {s for s in acks if s <= upto}
    missing = sorted(expected - present_set)
    extra = sum(1 for s in present_set if s > upto or s > attempted or s < 1)
    return Integrity(
        store="redis",
        acknowledged=len(acks),
        expected_present=len(expected),
        present=len(present_set),
        lost_writes=len(missing),
        extra=extra,
        duplicates=len(present) - len(present_set),
        after_recovery_point=sum(1 for s in acks if s > upto),
        missing_sample=tuple(missing[:10]),
    )


# ---------------------------------------------------------------------------


class LocalDrill:
    def __init__(self, sandbox: Sandbox, reporter: Reporter | None = None,
                 hooks: DrillHooks | None = None, environment: str = "local") -> None:
        self.sandbox = sandbox
        self.pg = LocalPostgresBackend(sandbox)
        self.redis = LocalRedisBackend(sandbox)
        self.reporter = reporter or NullReporter()
        self.hooks = hooks or DrillHooks()
        self.environment = environment

    # -- bookkeeping -----------------------------------------------------------

    @contextmanager
    def _phase(self, phases: list[DrillPhase], name: str, label: str) -> Iterator[dict[str, Any]]:
        info: dict[str, Any] = {"ok": True, "detail": "", "parts": ()}
        start = _now()
        try:
            with self.reporter.step(label):
                yield info
        except PreflightFailed as exc:
            phases.append(DrillPhase(name, start, _now(), False, str(exc)))
            raise
        except AugeoError as exc:
            info["ok"], info["detail"] = False, exc.message
        except Exception as exc:  # a failed phase is a drill finding, not a crash
            info["ok"], info["detail"] = False, f"{type(exc).__name__}: {exc}"
        if not any(p.name == name for p in phases):
            phases.append(DrillPhase(name, start, _now(), info["ok"], info["detail"], tuple(info["parts"])))

    def wal_mode(self) -> tuple[str, str]:
        mode = self.sandbox.wal_streaming
        if mode == "sync":
            return "stream-sync", "synchronous pg_receivewal: a commit is acknowledged only once streamed"
        if mode == "async":
            return "stream-async", "asynchronous pg_receivewal: RPO bounded by the streaming lag"
        return "archive", f"archiving only: RPO bounded by archive_timeout = {self.sandbox.archive_timeout} s"

    # -- the drill -------------------------------------------------------------

    def run(self, cfg: DrillConfig) -> DrillReport:
        drill_id = history.new_id(self.sandbox.home)
        ctx = DrillContext(drill_id, self.sandbox, cfg)
        phases: list[DrillPhase] = []
        started = _now()
        wal_mode, rpo_bound = self.wal_mode()
        state: dict[str, Any] = {"checks": [], "integrity": [], "recovery": {}, "service": {},
                                 "workload": {}, "reached": None, "ready_at": None}
        try:
            with self._phase(phases, "preflight", "preflight"):
                self._preflight(cfg, state)
        except PreflightFailed as exc:
            report = DrillReport(
                id=drill_id, scenario=cfg.scenario, environment=self.environment,
                started_at=started, finished_at=_now(), disaster_at=None, service_ready_at=None,
                recovery_point=None, rto_target=cfg.rto, rpo_target=cfg.rpo, phases=tuple(phases),
                wal_mode=wal_mode, rpo_bound=rpo_bound, aborted=str(exc),
            )
            return history.save(self.sandbox.home, report)

        pg_writer = redis_writer = None
        pg_log = redis_log = WriterLog()
        targets: list[tuple[str, str]] = []  # (kind, name) to drop at cleanup
        try:
            with self._phase(phases, "workload", f"workload ({cfg.duration:g} s at {cfg.rate:g} writes/s)") as info:
                prepare_table(self.sandbox.dsn())
                state["reference"] = self._app_counts(self.sandbox.dsn())
                # The reference state must be recoverable: have the archive hold it.
                self._switch_wal_and_wait()
                pg_writer = PostgresWriter(self.sandbox.dsn(), drill_id, cfg.rate)
                redis_writer = RedisWriter(self.sandbox.redis_url(), drill_id, cfg.rate)
                pg_writer.start()
                redis_writer.start()
                self._run_workload(cfg, state)
                if pg_writer.log.errors or redis_writer.log.errors:
                    info["ok"] = False
                    info["detail"] = "; ".join(pg_writer.log.errors + redis_writer.log.errors)

            with self._phase(phases, "disaster", f"disaster: {cfg.scenario}") as info:
                self._disaster(cfg, ctx, pg_writer, redis_writer, state)
                info["detail"] = state.get("disaster_detail", "")
            pg_log = pg_writer.stop()
            redis_log = redis_writer.stop()
            state["workload"] = {"postgres": pg_log.summary(), "redis": redis_log.summary()}
            if self.hooks.after_disaster:
                self.hooks.after_disaster(ctx)

            with self._phase(phases, "recovery", "recovery") as info:
                self._recover(cfg, ctx, state, targets)
                info["parts"] = state.get("recovery_parts", ())
                info["detail"] = state.get("recovery_detail", "")

            with self._phase(phases, "verification", "verification") as info:
                self._verify(cfg, ctx, state, pg_log, redis_log)

            with self._phase(phases, "service_check", "service check (/health/ready)") as info:
                self._service_check(cfg, ctx, state)
        finally:
            for writer in (pg_writer, redis_writer):
                if writer is not None and writer.is_alive():
                    writer.stop()
            self._stop_service(state)
            with self._phase(phases, "cleanup", "cleanup and repair of the sandbox") as info:
                info["detail"] = self._cleanup(cfg, ctx, state, targets)

        report = DrillReport(
            id=drill_id, scenario=cfg.scenario, environment=self.environment,
            started_at=started, finished_at=_now(), disaster_at=ctx.disaster_at,
            service_ready_at=state["ready_at"], recovery_point=state["reached"],
            rto_target=cfg.rto, rpo_target=cfg.rpo, phases=tuple(phases),
            integrity=tuple(state["integrity"]), checks=tuple(state["checks"]),
            wal_mode=wal_mode, rpo_bound=rpo_bound, recovery=state["recovery"],
            workload=state["workload"], service=state["service"],
        )
        return history.save(self.sandbox.home, report)

    # -- phases ----------------------------------------------------------------

    def _preflight(self, cfg: DrillConfig, state: dict[str, Any]) -> None:
        try:
            status = self.sandbox.ensure_up(self.reporter)
        except AugeoError as exc:
            raise PreflightFailed(f"the sandbox is not usable: {exc.message}") from None
        problem = self.pg.archiver_problem(int(status.postgres.port or 0))
        if problem:
            raise PreflightFailed(f"WAL archiving is failing: {problem}")
        if not self.pg.list_backups():
            self.reporter.info("preflight: no base backup yet, taking one")
            self.pg.create_backup(self.reporter)
        verified = self.pg.verify_backup(None, self.reporter)
        if not verified.ok:
            bad = "; ".join(f"{c.name}: {c.detail}" for c in verified.checks if not c.ok)
            raise PreflightFailed(f"backup {verified.backup_id} failed verification ({bad})")
        backup = self.pg.get_backup(verified.backup_id)
        assert backup.finished_at is not None
        if backup.finished_at > _now():
            raise PreflightFailed("the newest backup finishes in the future: check the clock")
        free = shutil.disk_usage(self.sandbox.targets_dir).free
        need = int((backup.size_bytes or 0) * 1.1) + 64 * 2**20 + cfg.disk_reserve
        if free < need:
            raise PreflightFailed(
                f"not enough disk for the restore: {need // 2**20} MiB needed "
                f"(backup {backup.size_bytes // 2**20 if backup.size_bytes else 0} MiB + reserve), "
                f"{free // 2**20} MiB free in {self.sandbox.targets_dir}"
            )
        state["checks"].append(Check("preflight", True,
                                     f"backup {backup.id} verified, WAL continuous, {free // 2**20} MiB free"))
        if cfg.scenario == "redis-loss":
            if not self.redis.list_backups():
                self.redis.create_backup(self.reporter)
            rv = self.redis.verify_backup(None, self.reporter)
            if not rv.ok:
                raise PreflightFailed(f"Redis backup {rv.backup_id} failed verification")

    def _run_workload(self, cfg: DrillConfig, state: dict[str, Any]) -> None:
        deadline = time.monotonic() + cfg.duration
        snapshot_at = time.monotonic() + cfg.duration / 2
        snapshot_done = cfg.scenario != "redis-loss"
        while time.monotonic() < deadline:
            if not snapshot_done and time.monotonic() >= snapshot_at:
                # The scheduled RDB snapshot the recovery will use.
                made = self.redis.create_backup(self.reporter)
                v = self.redis.verify_backup(made.id, self.reporter)
                state["redis_backup"] = made.id
                state["checks"].append(Check("redis-backup", v.ok, f"scheduled RDB {made.id} "
                                             + ("verified" if v.ok else "failed verification")))
                snapshot_done = True
            self.reporter.status(f"{max(0.0, deadline - time.monotonic()):.0f} s to the disaster")
            time.sleep(0.05)

    def _disaster(self, cfg: DrillConfig, ctx: DrillContext, pg_writer: PostgresWriter,
                  redis_writer: RedisWriter, state: dict[str, Any]) -> None:
        import psycopg

        if cfg.scenario == "accidental-delete":
            with psycopg.connect(self.sandbox.dsn(), autocommit=False) as conn:
                xid = conn.execute("SELECT txid_current()").fetchone()[0]  # type: ignore[index]
                deleted = conn.execute("DELETE FROM app.events").rowcount
                conn.commit()
                conn.autocommit = True
                committed = conn.execute(
                    "SELECT pg_xact_commit_timestamp(%s::text::xid)", (str(xid),)
                ).fetchone()[0]  # type: ignore[index]
            ctx.disaster_at = committed
            ctx.expected_point = committed - ONE_MICROSECOND
            state["disaster_detail"] = f"DELETE FROM app.events removed {deleted} rows (xid {xid})"
            pg_writer.stop()
            redis_writer.stop()
        elif cfg.scenario == "server-loss":
            if self.sandbox.wal_streaming == "sync":
                expected = None  # every acknowledged commit: fixed at the kill below
            else:
                expected = self.pg.window().latest
            pid = self.sandbox._pg_pid()
            # A lost server takes every process with it: the postmaster and its children.
            victims = ([pid] + _children(pid)) if pid else []
            ctx.disaster_at = _now()
            for victim in victims:
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 30
            while any(tools.pid_alive(v) for v in victims) and time.monotonic() < deadline:
                time.sleep(0.01)
            # Synchronous streaming: every commit acknowledged until the server was gone,
            # including one acknowledged while the kill was under way, must survive.
            ctx.expected_point = _now() if expected is None else expected
            pg_writer.stop()
            redis_writer.stop()
            # Make the data folder unusable; it is put back by the repair step.
            lost = self.sandbox.pg_data.with_name(f"data.lost-{ctx.drill_id}")
            os.rename(self.sandbox.pg_data, lost)
            state["lost_data"] = str(lost)
            state["disaster_detail"] = (
                f"postmaster {pid} and {len(victims) - 1} child process(es) killed with SIGKILL; "
                f"data folder moved to {lost.name}"
            )
        else:  # redis-loss
            pid = self.sandbox._redis_pid()
            ctx.disaster_at = _now()
            if pid:
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while tools.pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            redis_writer.stop()
            pg_writer.stop()
            rdb = self.sandbox.redis_dir / "dump.rdb"
            if rdb.exists():
                lost = rdb.with_name(f"dump.rdb.lost-{ctx.drill_id}")
                os.rename(rdb, lost)
                state["lost_rdb"] = str(lost)
            state["disaster_detail"] = f"redis-server {pid} killed with SIGKILL; its RDB removed"

    def _recover(self, cfg: DrillConfig, ctx: DrillContext, state: dict[str, Any],
                 targets: list[tuple[str, str]]) -> None:
        name = "dr-" + ctx.drill_id.split("-", 1)[1].lower()  # dr-20261124t101500z
        if cfg.scenario == "redis-loss":
            backup_id = state.get("redis_backup")
            targets.append(("redis", name))
            made = self.redis.restore_target(backup_id, name)
            state["redis_target"] = made
            state["recovery"] = {"target": name, "url": made["url"], "backup_id": made["backup_id"],
                                 "requested": None, "keys": made["keys"]}
            state["recovery_detail"] = f"redis-server from RDB {made['backup_id']} on {made['url']}"
            return
        if cfg.scenario == "accidental-delete":
            # First response: make the archive hold the WAL up to the disaster.
            self._switch_wal_and_wait()
            to_time = ctx.expected_point
        else:
            to_time = None
        plan = self.pg.plan_restore(to_time, name)
        targets.append(("postgres", name))
        # The application is repointed at the new server while it recovers, so it is
        # serving as soon as the data is there: start the reference service now.
        self._start_service(ctx, state, f"postgresql://{SUPERUSER}@127.0.0.1:{plan.extra['port']}/{APP_DB}",
                            self.sandbox.redis_url())
        result: RestoreResult = self.pg.restore(plan, self.reporter)
        state["restore"] = result
        state["reached"] = result.reached
        state["recovery"] = {
            "target": result.target, "dsn": result.dsn, "backup_id": result.backup_id,
            "requested": model.format_time(result.requested),
            "recovery_point": model.format_time(result.reached),
            "wal_segments_replayed": result.wal_segments_replayed,
            "phases": [p.to_dict() for p in result.phases],
        }
        state["recovery_parts"] = tuple((p.name, p.seconds) for p in result.phases)
        state["recovery_detail"] = f"target {result.target} from backup {result.backup_id}"
        state["checks"].extend(result.verification)

    def _verify(self, cfg: DrillConfig, ctx: DrillContext, state: dict[str, Any],
                pg_log: WriterLog, redis_log: WriterLog) -> None:
        import psycopg
        import redis

        if cfg.scenario == "redis-loss":
            target = state.get("redis_target")
            if not target:
                raise AugeoError("no recovered Redis to verify")
            client = redis.Redis.from_url(target["url"])
            prefix = f"{REDIS_PREFIX}{ctx.drill_id}:"
            last_raw = client.get(prefix + "last")
            last = int(last_raw) if last_raw is not None else None
            present = [int(k.decode().rsplit(":", 1)[1]) for k in client.scan_iter(prefix + "seq:*", count=1000)]
            integ = redis_integrity(redis_log.acks, present, last, redis_log.attempted)
            state["integrity"].append(integ)
            state["reached"] = redis_log.acks.get(last) if last else None
            if state["reached"] is None:
                backup = self.redis.get_backup(state["recovery"]["backup_id"])
                state["reached"] = backup.started_at
            meta = json.loads((Path(str(self.redis.get_backup(state["recovery"]["backup_id"]).location)).parent
                               / "meta.json").read_text())
            count = client.dbsize()
            state["checks"].append(Check("redis-keys", count == meta["key_count"],
                                         f"{count} keys, the RDB snapshot recorded {meta['key_count']}"))
            return
        restore: RestoreResult | None = state.get("restore")
        if restore is None:
            raise AugeoError("no recovered PostgreSQL to verify")
        with psycopg.connect(restore.dsn, autocommit=True) as conn:
            rows = conn.execute(
                f"SELECT seq, pg_xact_commit_timestamp(xmin) FROM {DRILL_TABLE} WHERE drill_id = %s",
                (ctx.drill_id,),
            ).fetchall()
        newest_allowed = restore.requested if restore.requested else restore.reached
        integ = pg_integrity(pg_log.acks, [(int(s), t) for s, t in rows], ctx.expected_point,
                             newest_allowed, pg_log.attempted)
        state["integrity"].append(integ)
        counts = self._app_counts(restore.dsn)
        ref = state.get("reference", {})
        diff = {t: (ref.get(t), counts.get(t)) for t in set(ref) | set(counts) if ref.get(t) != counts.get(t)}
        state["checks"].append(Check(
            "application-data", not diff,
            f"row counts match the reference taken before the disaster ({sum(ref.values())} rows in {len(ref)} tables)"
            if not diff else "differ from the reference: " + ", ".join(f"{t} {a}→{b}" for t, (a, b) in sorted(diff.items())),
        ))

    def _start_service(self, ctx: DrillContext, state: dict[str, Any], pg_dsn: str, redis_url: str) -> None:
        from augeoctl.service import runner

        self._stop_service(state)
        workdir = history.folder(self.sandbox.home) / f"{ctx.drill_id}-service"
        workdir.mkdir(parents=True, exist_ok=True)
        port = tools.free_port()
        pid_path = workdir / "service.pid"
        runner.start_service(port, pg_dsn, redis_url, workdir / "service.log", pid_path)
        state["service_proc"] = {"url": f"http://127.0.0.1:{port}", "pid_path": pid_path,
                                 "pg_dsn": pg_dsn, "redis_url": redis_url}

    def _stop_service(self, state: dict[str, Any]) -> None:
        from augeoctl.service import runner

        proc = state.pop("service_proc", None)
        if proc:
            runner.stop_service(proc["pid_path"])

    def _service_check(self, cfg: DrillConfig, ctx: DrillContext, state: dict[str, Any]) -> None:
        if cfg.scenario == "redis-loss":
            pg_dsn, redis_url = self.sandbox.dsn(), state["redis_target"]["url"]
        else:
            restore: RestoreResult = state["restore"]
            pg_dsn, redis_url = restore.dsn, self.sandbox.redis_url()
        proc = state.get("service_proc")
        if not proc or proc["pg_dsn"] != pg_dsn or proc["redis_url"] != redis_url:
            self._start_service(ctx, state, pg_dsn, redis_url)
        url = state["service_proc"]["url"]
        try:
            ready, body = _wait_ready(url + "/health/ready", cfg.service_timeout)
            state["service"] = {"url": url, "ready": ready, "body": body}
            if ready:
                state["ready_at"] = _now()
            state["checks"].append(Check("service-ready", ready,
                                         "/health/ready is 200 against the recovered data" if ready
                                         else f"/health/ready not ready within {cfg.service_timeout:g} s: {body}"))
        finally:
            self._stop_service(state)

    def _cleanup(self, cfg: DrillConfig, ctx: DrillContext, state: dict[str, Any],
                 targets: list[tuple[str, str]]) -> str:
        notes = []
        if cfg.scenario == "server-loss" and state.get("lost_data"):
            lost = Path(state["lost_data"])
            if self.sandbox.pg_data.exists():
                stop_postgres(self.sandbox.pg_data, mode="immediate")
                shutil.rmtree(self.sandbox.pg_data)
            os.rename(lost, self.sandbox.pg_data)
            self.sandbox.up(self.reporter)
            notes.append("sandbox PostgreSQL restarted from its original data folder")
        if cfg.scenario == "redis-loss":
            if state.get("lost_rdb"):
                os.rename(state["lost_rdb"], self.sandbox.redis_dir / "dump.rdb")
            self.sandbox.up(self.reporter)
            notes.append("sandbox Redis restarted from its RDB")
        if cfg.scenario == "accidental-delete":
            restore: RestoreResult | None = state.get("restore")
            copied = self._copy_back_events(restore) if restore else None
            notes.append(f"{copied} deleted rows copied back from the recovered target"
                         if copied is not None else "deleted rows could not be copied back")
        try:
            import psycopg
            import redis

            with psycopg.connect(self.sandbox.dsn(), autocommit=True) as conn:
                conn.execute(f"DELETE FROM {DRILL_TABLE} WHERE drill_id = %s", (ctx.drill_id,))
            client = redis.Redis.from_url(self.sandbox.redis_url())
            keys = list(client.scan_iter(f"{REDIS_PREFIX}{ctx.drill_id}:*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i:i + 500])
        except Exception as exc:
            notes.append(f"drill rows not removed from the sandbox: {exc}")
        if not cfg.keep:
            for kind, name in targets:
                if kind == "redis":
                    self.redis.drop_target(name)
                elif (self.sandbox.targets_dir / name).exists():
                    self.pg.drop_target(name, self.reporter)
            if targets:
                notes.append("drill target(s) removed: " + ", ".join(n for _, n in targets))
        elif targets:
            notes.append("drill target(s) kept: " + ", ".join(n for _, n in targets))
        return "; ".join(notes)

    # -- helpers ---------------------------------------------------------------

    def _switch_wal_and_wait(self, timeout: float = 120) -> None:
        """Close the current WAL segment and wait until the archive holds it."""
        import psycopg

        with psycopg.connect(self.sandbox.dsn(), autocommit=True) as conn:
            conn.execute("SELECT txid_current()")
            lsn = conn.execute("SELECT pg_switch_wal()").fetchone()[0]  # type: ignore[index]
            seg = conn.execute("SELECT pg_walfile_name(%s)", (lsn,)).fetchone()[0]  # type: ignore[index]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]  # type: ignore[index]
                if last is not None and last >= seg:
                    return
                time.sleep(0.05)
        raise AugeoError(f"WAL segment {seg} was not archived within {timeout:g} s")

    def _app_counts(self, dsn: str) -> dict[str, int]:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
                " WHERE schemaname = 'app' ORDER BY 1").fetchall()]
            return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]

    def _copy_back_events(self, restore: RestoreResult) -> int | None:
        """The runbook's last step after an accidental delete: put the rows back."""
        import psycopg

        try:
            with psycopg.connect(restore.dsn) as src, psycopg.connect(self.sandbox.dsn()) as dst:
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


def _children(pid: int) -> list[int]:
    """Direct children of a process, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(entry))
    return out


def _wait_ready(url: str, timeout: float) -> tuple[bool, Any]:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                body = json.loads(resp.read().decode() or "null")
                if resp.status == 200:
                    return True, body
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read().decode() or "null")
            except ValueError:
                body = {"status": exc.code}
        except (OSError, ValueError) as exc:
            body = {"error": str(exc)}
        time.sleep(0.1)
    return False, body
