"""Carrying out one planned PostgreSQL restore on the sandbox, into a new target.

The base backup is copied into ``targets/NAME/data``; PostgreSQL replays archived (and
streamed) WAL through ``restore_command`` up to the plan's target, promotes, and the
target is checked with ``pg_amcheck`` and queries. The server's log is followed to
report progress and to notice a failed recovery. Interrupted or failed restores leave
a target marked as such (or removed, on Ctrl-C), never one reported as restored.
Where replay stopped is compared with what the archive holds; a restore that stopped
short fails unless the plan allows a partial one, and a time target is never passed.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl.backends import verification
from augeoctl.backends.base import RestorePlan, RestoreResult, Window
from augeoctl.backends.local_targets import TargetStore
from augeoctl.core import Check, Phase
from augeoctl.errors import AugeoError, Interrupted, RestoreError, RestoreRefused
from augeoctl.local import procs, tools, wal
from augeoctl.local.endpoints import APP_DB, SUPERUSER
from augeoctl.local.sandbox import Sandbox
from augeoctl.progress import Reporter
from augeoctl.timeparse import format_time

_LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[\d+\] (\w+):\s+(.*)$")
# FATAL lines that refuse a client's connection while the server recovers: clients
# (an application being repointed at the target) are expected to knock early.
_CLIENT_REFUSED = re.compile(
    r"the database system is (not accepting connections|not yet accepting connections|starting up"
    r"|in recovery mode|shutting down)|password authentication failed|no pg_hba\.conf entry"
    r"|role \".*\" does not exist|database \".*\" does not exist|terminating connection"
)
_PG_TIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(\+00| UTC)")
# The FATAL of a recovery whose WAL ended before its target (PostgreSQL 13 and later).
_TARGET_NOT_REACHED = "recovery ended before configured recovery target was reached"
# How recovery says it could not read the next WAL record (and so ends there).
_WAL_READ_ERROR = re.compile(
    r"in record at|invalid (record|magic|info bits|contrecord|page|resource manager)|incorrect "
    r"(resource manager|hole|prev-link)|unexpected pageaddr|missing contrecord|record with incorrect"
)


def replay_buffers() -> str:
    """shared_buffers for replay: an eighth of the machine's memory, 128 MB to 1 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 0
    return f"'{max(128, min(1024, total // 8 // 2**20))}MB'"


# Replay, not queries, is what a restore waits for: no restartpoint during replay (each one
# writes out every dirty buffer), no fsync of every file at startup (one syncfs of the
# target's filesystem instead), WAL prefetch, and buffers sized to the machine so replay
# evicts less. The two restartpoint settings are taken back after promotion (a reload);
# shared_buffers is taken out of the target's configuration then too, but a running server
# keeps it until restarted (the result says so: ``pending_restart``); the others only act
# during startup and recovery.
REPLAY_SETTINGS = {
    "max_wal_size": "'64GB'",
    "checkpoint_timeout": "'1d'",
    "recovery_init_sync_method": "'syncfs'",
    "recovery_prefetch": "'try'",
    "shared_buffers": replay_buffers(),
}
RELOADED_AFTER_REPLAY = ("max_wal_size", "checkpoint_timeout")
UNTIL_RESTART_AFTER_REPLAY = ("shared_buffers",)


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_pg_time(text: str) -> datetime | None:
    """The first UTC timestamp PostgreSQL printed in a text (a log line, a backup label)."""
    m = _PG_TIME.search(text)
    if not m:
        return None
    raw = m.group(1)
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in raw else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(raw, fmt).replace(tzinfo=UTC)


def connect(sandbox: Sandbox, port: int, dbname: str = APP_DB, timeout: int = 10):
    """An autocommit connection to a PostgreSQL of the sandbox (or one of its targets)."""
    import psycopg

    return psycopg.connect(sandbox.dsn(dbname, port=port), connect_timeout=timeout, autocommit=True)


class Recovery:
    """Runs restores planned by the local PostgreSQL backend."""

    def __init__(self, sandbox: Sandbox, targets: TargetStore) -> None:
        self.sandbox = sandbox
        self.targets = targets

    def run(self, plan: RestorePlan, reporter: Reporter) -> tuple[RestoreResult, list[str]]:
        """Restore as planned; returns the result and the half-made targets cleaned up."""
        cleaned = []
        for name in plan.cleanup:
            if self.targets.exists(name) and self.targets.half_made(name):
                reporter.warn(
                    f'removing half-made target "{name}" left by an interrupted or failed restore'
                )
                self.targets.remove(name)
                cleaned.append(name)
        tdir = self.targets.dir(plan.target)
        if tdir.exists():
            raise RestoreRefused(f'a target named "{plan.target}" already exists')
        # pg_ctl starts the target through /bin/sh with these paths in double quotes.
        tools.check_shell_safe(self.sandbox.pg_tool("pg_ctl"), tdir / "data", tdir / "postgres.log")
        self.sandbox.make_dir(self.targets.root, 0o755)
        self.sandbox.make_dir(tdir, 0o755)
        data = tdir / "data"
        state: dict[str, Any] = {
            "name": plan.target, "status": "in-progress", "owner_pid": os.getpid(),
            "created_at": utc_now().isoformat(), "backup_id": plan.backup.id,
            "requested": plan.to_time.isoformat() if plan.to_time else None, "mode": plan.mode,
        }
        self.targets.save_state(plan.target, state)

        def on_term(signum: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        # SIGTERM stops a restore like Ctrl-C, unless the caller handles it already (a
        # drill does, and holds it while its repair restores).
        own_term = _main_thread() and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
        old_term = signal.signal(signal.SIGTERM, on_term) if own_term else None
        try:
            result = self._restore(plan, tdir, data, reporter, state)
        except KeyboardInterrupt:
            self.targets.remove(plan.target)
            raise Interrupted(
                f'restore interrupted: the half-made target "{plan.target}" was removed; '
                "nothing was reported as restored"
            ) from None
        except BaseException as exc:
            self.sandbox.stop_postgres(data, mode="immediate", timeout=30)
            state.update(status="failed", detail=str(exc)[:2000])
            self.targets.save_state(plan.target, state)
            raise
        finally:
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
        return result, cleaned

    def _restore(
        self, plan: RestorePlan, tdir: Path, data: Path, reporter: Reporter, state: dict[str, Any]
    ) -> RestoreResult:
        phases: list[Phase] = []
        src = Path(str(plan.backup.location))

        # 1. copy ---------------------------------------------------------------
        t0 = utc_now()
        total = plan.backup.size_bytes or tools.dir_size(src)
        with reporter.step(f"copy base backup {plan.backup.id}"):
            _copy_tree(src, data, total, reporter)
            self.sandbox.chown_tree(data)
            os.chmod(data, 0o700)
        phases.append(Phase("copy", t0, utc_now()))

        # 2. configure and start recovery --------------------------------------------
        port = int(plan.extra.get("port") or 0)
        if not port or procs.port_in_use(port):
            port = procs.free_port()
        sock = self.sandbox.make_dir(tdir / "socket", 0o755)
        log = tdir / "postgres.log"
        log.touch()
        self.sandbox.chown_tree(log)
        spool = self.sandbox.make_dir(tdir / "spool", 0o750)
        self._configure(plan, data, port, sock, spool)
        state.update(port=port, dsn=self.sandbox.dsn(port=port))
        self.targets.save_state(plan.target, state)

        t1 = utc_now()
        watches: list[_RecoveryWatch] = []
        prefetch = _Prefetch(_plan_segments(plan), self.sandbox.wal_dirs(), spool, self.sandbox.chown_tree,
                             lambda: watches[-1].last_segment if watches else None)
        prefetch.start()
        try:
            self._start(data, log, "the target did not start")
            watch = _RecoveryWatch(log, data)
            watches.append(watch)
            result = self._recover(plan, port, data, log, watch, watches, phases, t1, state, reporter)
        finally:
            prefetch.stop()
            shutil.rmtree(spool, ignore_errors=True)
        return replace(result, extra={**result.extra, "wal_prefetched": prefetch.copied})

    def _recover(self, plan: RestorePlan, port: int, data: Path, log: Path, watch: _RecoveryWatch,
                 watches: list[_RecoveryWatch], phases: list[Phase], t1: datetime, state: dict[str, Any],
                 reporter: Reporter) -> RestoreResult:
        window = _window(plan)
        archive_end = window.archive_end if window else None

        with reporter.step("replay WAL"):
            self._replay(watch, plan.mode in ("time", "xid"), reporter)
            passed = watch.target_passed
            if watch.ended_before_target:
                # No commit after the requested time was found: everything up to it was
                # replayed, or replay stopped short. Short: fail (or, allowed, keep it).
                # Otherwise promote at the last record replayed, never past it.
                short = _shortfall(plan, watch.last_xact, target_passed=False)
                if short and not plan.allow_partial:
                    raise _partial_error(short, watch, log)
                watch = self._resume_to_lsn(data, log, watch)
                watches.append(watch)
                self._replay(watch, False, reporter)
        t_redo = watch.redo_done_at or utc_now()
        phases.append(Phase("wal_replay", t1, t_redo))

        # 3. promote ------------------------------------------------------------
        with reporter.step("promote"):
            reached = self._wait_promoted(port, watch, log)
        phases.append(Phase("promote", t_redo, utc_now()))
        if plan.mode == "time" and plan.to_time is not None and reached is not None and reached > plan.to_time:
            raise RestoreError(
                f"the target recovered past the requested time: recovery point {format_time(reached)} "
                f"is after {format_time(plan.to_time)}",
                hint=f"the target's log is {log}",
            )
        short = _shortfall(plan, reached, target_passed=passed)
        if short and not plan.allow_partial:
            raise _partial_error(short, watch, log)
        if short:
            reporter.warn(
                f"PARTIAL RESTORE: {short}. The target {plan.target} is kept (--allow-partial) and "
                "holds nothing after its recovery point; `augeoctl backup verify` names the damage."
            )

        # 4. verify -------------------------------------------------------------
        t3 = utc_now()
        with reporter.step(f"verify ({plan.verify}: pg_amcheck or sampled heap checks, queries)"):
            checks, tables, estimated, verify_mode = self._verify(port, plan.verify)
        phases.append(Phase("verify", t3, utc_now()))

        if not all(c.ok for c in checks):
            bad = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
            raise RestoreError(f"the restored target failed verification: {bad}")
        # A partial restore (allowed) is kept, and not reported as verified.
        checks.append(Check(
            "recovery-point", short is None,
            short or f"replay reached {format_time(reached) if reached else 'no transaction'}"
            + (f"; stopped before the commit of transaction {plan.extra['before_xid']}" if plan.mode == "xid"
               else f"; the requested time is {format_time(plan.to_time)}" if plan.to_time else "")
            + f"; the archive holds transactions up to {format_time(archive_end) if archive_end else '-'}",
        ))

        state.update(
            status="ready", reached=reached.isoformat() if reached else None,
            finished_at=utc_now().isoformat(), owner_pid=None,
            **({"partial": True, "detail": f"partial restore: {short}"} if short else {}),
        )
        self.targets.save_state(plan.target, state)
        return RestoreResult(
            target=plan.target, dsn=state["dsn"], backup_id=plan.backup.id,
            requested=plan.to_time, reached=reached, phases=tuple(phases),
            verification=tuple(checks), tables=tables, wal_segments_replayed=watch.segments,
            extra={"mode": plan.mode, "port": port, "data_directory": str(data), "verify": verify_mode,
                   "pending_restart": {k: REPLAY_SETTINGS[k].strip("'") for k in UNTIL_RESTART_AFTER_REPLAY},
                   **({"estimated_tables": estimated} if estimated else {}),
                   **({"before_xid": plan.extra["before_xid"]} if plan.mode == "xid" else {}),
                   "partial": short is not None, "archive_end": format_time(archive_end)},
        )

    def _replay(self, watch: _RecoveryWatch, time_target: bool, reporter: Reporter) -> None:
        """Follow the log until redo is done (or, for a time target, ended before it)."""

        def replayed() -> bool:
            watch.poll()
            if watch.fatal and not watch.ended_before_target:
                raise recovery_error(watch.fatal, tools.tail(watch.log, 200), watch.data, watch.log,
                                     _free_bytes(watch.data))
            if watch.ended_before_target:
                return True
            if not watch.redo_done:
                reporter.status(
                    f"{watch.segments} WAL segment(s) replayed"
                    + (f", last {watch.last_segment}" if watch.last_segment else "")
                )
                return False
            # A time target not passed: PostgreSQL logs FATAL right after "redo done".
            return not time_target or watch.target_passed or watch.ready

        procs.wait_until(replayed, math.inf)

    def _resume_to_lsn(self, data: Path, log: Path, watch: _RecoveryWatch) -> _RecoveryWatch:
        """Start recovery again, to stop right after the last record the first run replayed.

        PostgreSQL passes a time target only at a later commit; when the archive holds
        none yet it ends recovery with FATAL. The same WAL up to that record holds
        exactly the commits at or before the requested time, so an LSN target there
        promotes with nothing after it, even if more WAL has been archived meanwhile.
        """
        if watch.redo_done_lsn is None:
            raise RestoreError(f"recovery failed: {watch.fatal}", hint=f"the target's log is {log}")
        self.sandbox.stop_postgres(data, mode="immediate", timeout=30)
        auto = data / "postgresql.auto.conf"
        kept = [ln for ln in auto.read_text().splitlines()
                if not ln.startswith(("recovery_target_time", "recovery_target_xid", "recovery_target_inclusive"))]
        kept.append(f"recovery_target_lsn = '{watch.redo_done_lsn}'")
        auto.write_text("\n".join(kept) + "\n")
        self.sandbox.chown_tree(auto)
        offset = log.stat().st_size
        self._start(data, log, "the target did not start again")
        resumed = _RecoveryWatch(log, data)
        resumed.offset = offset
        return resumed

    def _start(self, data: Path, log: Path, failure: str) -> None:
        """Start the target's server (recovery goes on in the background)."""
        proc = tools.run(
            self.sandbox.as_service([self.sandbox.pg_tool("pg_ctl"), "-D", str(data), "-l", str(log),
                                     "-W", "-s", "start"]),
            check=False,
        )
        if proc.returncode != 0:
            raise RestoreError(f"{failure}: {proc.stderr.strip()}\n{tools.tail(log, 8)}")

    def _configure(self, plan: RestorePlan, data: Path, port: int, sock: Path, spool: Path) -> None:
        # A segment the prefetch copied (renamed into place, on the target's own disk);
        # else the archive; then what pg_receivewal streamed, including the newest
        # partial segment, which holds commits the archive does not have yet.
        archive = shlex.quote(f"{self.sandbox.wal_archive}/%f")
        restore_cmd = f"mv {shlex.quote(str(spool))}/%f %p 2>/dev/null || cp {archive} %p"
        stream = self.sandbox.wal_stream
        if stream.exists():
            streamed = shlex.quote(f"{stream}/%f")
            restore_cmd = (
                f"{restore_cmd} 2>/dev/null || cp {streamed} %p 2>/dev/null"
                f" || cp {streamed}.partial %p"
            )
        settings = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{sock}'",
            # Never archive into the source's archive, never stream to its replicas.
            "archive_mode": "'off'",
            "archive_command": "''",
            "primary_conninfo": "''",
            "synchronous_standby_names": "''",
            "restore_command": "'" + restore_cmd.replace("'", "''") + "'",
            "recovery_target_action": "'promote'",
            "recovery_target_timeline": "'current'",
            "log_line_prefix": "'%m [%p] '",
            "log_timezone": "'UTC'",
            "hot_standby": "'off'",
        }
        settings.update(REPLAY_SETTINGS)
        if plan.mode == "time" and plan.to_time is not None:
            ts = plan.to_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
            settings["recovery_target_time"] = f"'{ts}'"
            settings["recovery_target_inclusive"] = "'on'"
        elif plan.mode == "xid":
            # Stop right before the transaction's commit record: it and everything after
            # it in the WAL are not replayed.
            settings["recovery_target_xid"] = f"'{int(plan.extra['before_xid'])}'"
            settings["recovery_target_inclusive"] = "'off'"
        auto = data / "postgresql.auto.conf"
        with auto.open("a") as fh:
            fh.write("\n# augeoctl restore: recovery settings of this target\n")
            for k, v in settings.items():
                fh.write(f"{k} = {v}\n")
        for stale in ("standby.signal", "postmaster.pid", "postmaster.opts"):
            (data / stale).unlink(missing_ok=True)
        (data / "recovery.signal").touch()
        self.sandbox.chown_tree(data)

    def _wait_promoted(self, port: int, watch: _RecoveryWatch, log: Path) -> datetime | None:
        import psycopg

        reached: list[datetime | None] = []

        def promoted() -> bool:
            watch.poll()
            if watch.fatal:
                raise recovery_error(watch.fatal, tools.tail(log, 200), watch.data, log,
                                     _free_bytes(watch.data))
            if not watch.ready:
                return False
            try:
                with connect(self.sandbox, port, "postgres", timeout=3) as conn:
                    row = conn.execute(
                        "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()"
                    ).fetchone()
            except psycopg.OperationalError:
                return False
            assert row is not None
            if row[0]:
                return False
            reached.append(row[1] or watch.last_xact)
            return True

        if not procs.wait_until(promoted, 600):
            raise RestoreError("the target did not finish promotion within 10 minutes", hint=f"see {log}")
        self._end_replay_settings(port, watch.data)
        return reached[0]

    def _end_replay_settings(self, port: int, data: Path) -> None:
        """Back to the server's own values for what only suited replay (reloadable settings)."""
        auto = data / "postgresql.auto.conf"
        kept = [ln for ln in auto.read_text().splitlines(keepends=True)
                if ln.split("=", 1)[0].strip() not in (*RELOADED_AFTER_REPLAY, *UNTIL_RESTART_AFTER_REPLAY)]
        auto.write_text("".join(kept))
        with connect(self.sandbox, port, "postgres", timeout=10) as conn:
            conn.execute("SELECT pg_reload_conf()")

    def _verify(self, port: int, mode: str) -> tuple[list[Check], dict[str, int], list[str], str]:
        """The restored target checked at the plan's depth (see backends.verification):
        full, pg_amcheck (parallel jobs) and exact row counts at the same time; quick,
        sampled heap checks and row estimates of large tables. Returns the checks, the
        rows per table, the tables whose rows are estimated, and the depth."""
        import psycopg

        with connect(self.sandbox, port, "postgres") as conn:
            mode = verification.resolve(mode, verification.data_bytes(conn))
        if mode == "quick":
            sample = self._quick_checks(port)
            try:
                query, tables, estimated = self._tables(port, mode)
            except psycopg.Error as exc:
                query, tables, estimated = Check("query", False, str(exc).strip()), {}, []
            return [*sample, query], tables, estimated, mode
        from concurrent.futures import ThreadPoolExecutor

        jobs = max(1, min(4, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="amcheck") as pool:
            amcheck = pool.submit(
                tools.run,
                [self.sandbox.pg_tool("pg_amcheck"), "-h", procs.LOOPBACK, "-p", str(port), "-U", SUPERUSER,
                 "--all", "--install-missing", "--no-strict-names", "--jobs", str(jobs)],
                check=False,
            )
            try:
                counted = self._tables(port, mode)
            except psycopg.Error as exc:
                counted = (Check("query", False, str(exc).strip()), {}, [])
            proc = amcheck.result()
        out = (proc.stdout + proc.stderr).strip()
        checks = [Check(
            "pg_amcheck", proc.returncode == 0,
            "no corruption found in heap tables or B-tree indexes" if proc.returncode == 0 else out[-800:],
        ), counted[0]]
        return checks, counted[1], [], mode

    def _databases(self, port: int) -> list[str]:
        with connect(self.sandbox, port, "postgres") as conn:
            return [r[0] for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1"
            ).fetchall()]

    def _tables(self, port: int, mode: str) -> tuple[Check, dict[str, int], list[str]]:
        """Rows per table of every database, counted or (quick, large tables) estimated."""
        tables: dict[str, int] = {}
        estimated: list[str] = []
        dbs = self._databases(port)
        for db in dbs:
            with connect(self.sandbox, port, db) as conn:
                found, guessed = verification.count_tables(conn, mode, "" if db == APP_DB else f"{db}:")
            tables.update(found)
            estimated += guessed
        return verification.table_check(tables, estimated, len(dbs)), tables, estimated

    def _quick_checks(self, port: int) -> list[Check]:
        import psycopg

        try:
            found: list[str] = []
            tables = blocks = 0
            for db in self._databases(port):
                with connect(self.sandbox, port, db) as conn:
                    t, b, problems = verification.heap_sample(conn)
                tables, blocks = tables + t, blocks + b
                found += [f"{db}: {p}" for p in problems]
        except psycopg.Error as exc:
            return [Check("heap-sample", False, str(exc).strip())]
        return [Check(
            "heap-sample", not found,
            f"verify_heapam over {blocks} sampled block(s) of {tables} table(s): no corruption found "
            "(quick: a sample, not every page; indexes not checked)" if not found
            else "; ".join(found[:5]) + (f" (and {len(found) - 5} more)" if len(found) > 5 else ""),
        )]


def _plan_segments(plan: RestorePlan) -> list[str]:
    """The archived segments the plan replays, in order (none when it does not say)."""
    if not plan.wal_first or not plan.wal_last or not wal.is_segment(plan.wal_first) \
            or not wal.is_segment(plan.wal_last):
        return []
    tli, first = wal.parse_segment(plan.wal_first)
    _, last = wal.parse_segment(plan.wal_last)
    return [wal.segment_name(tli, n) for n in range(first, last + 1)]


def _window(plan: RestorePlan) -> Window | None:
    """The window of the plan's backup, as planned."""
    return next((w for w in plan.window.windows if w.backup_id == plan.backup.id), None)


def _shortfall(plan: RestorePlan, reached: datetime | None, *, target_passed: bool) -> str | None:
    """Why replay stopped before the point the archive holds, or None when it did not.

    --latest must reach the archive's newest transaction (past any damaged or missing
    segment: those are what it must not silently stop at). --to-time must reach the
    requested time: PostgreSQL passed it (it read a later commit), or the newest
    readable commit is at or before it and replay reached that commit.
    """
    window = _window(plan)
    archive_end = window.archive_end if window else None
    stopped = f"replay stopped at {format_time(reached)}" if reached else "replay stopped before any transaction"
    if plan.mode == "xid":
        # PostgreSQL logs "recovery stopping before commit of transaction XID" when it
        # read that commit; without it, replay ended before the commit was reached.
        if target_passed:
            return None
        return (f"{stopped}, before the commit of transaction {plan.extra.get('before_xid')} (at "
                f"{plan.extra.get('xid_committed_at')}) was read")
    if plan.mode == "time" and plan.to_time is not None:
        latest = window.latest if window else None
        if target_passed or (reached is not None and reached >= plan.to_time):
            return None
        if latest is not None and (latest > plan.to_time or reached is None or reached < latest):
            return (f"{stopped}, before the requested time {format_time(plan.to_time)}; the archive "
                    f"holds transactions up to {format_time(archive_end or latest)}")
        return None
    if archive_end is not None and (reached is None or reached < archive_end):
        return (f"{stopped}, before the end of the archive: it holds transactions up to "
                f"{format_time(archive_end)}")
    return None


def _partial_error(short: str, watch: _RecoveryWatch, log: Path) -> RestoreError:
    where = ""
    if watch.last_segment:
        where = f" (last segment read {watch.last_segment}"
        where += f": {watch.read_error})" if watch.read_error else ")"
    return RestoreError(
        f"restore incomplete: {short}{where}; the target is kept, marked failed",
        hint="`augeoctl backup verify` names a damaged or missing segment; --allow-partial keeps "
             f"a restore that stops short; the target's log is {log}",
    )


# PostgreSQL's (and cp's, running restore_command) words for ENOSPC.
_DISK_FULL = "No space left on device"


def recovery_error(fatal: str, log_text: str, folder: Path, log: Path, free: int | None) -> RestoreError:
    """The error for a recovery that failed with ``fatal``, from the tail of the target's log.

    A full disk is named as the cause, with the folder and its free space: the FATAL
    line alone may only say that recovery ended early (``cp`` failing in restore_command
    looks to PostgreSQL like a segment missing from the archive).
    """
    if _DISK_FULL in fatal or _DISK_FULL in log_text:
        room = f"{free // 2**20} MiB free" if free is not None else "free space unknown"
        cause = next((ln.strip() for ln in log_text.splitlines() if _DISK_FULL in ln), fatal)
        return RestoreError(
            f"recovery failed: the disk is full (No space left on device) in {folder}, "
            f"{room} now; the target's server said: {cause}",
            hint=f"free space on that file system (or set AUGEO_HOME on a larger disk), drop the "
                 f"failed target with `augeoctl targets drop`, and restore again; the target's log is {log}",
        )
    return RestoreError(f"recovery failed: {fatal}", hint=f"the target's log is {log}")


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


COPY_THREADS = 4  # files of the base backup copied at once


def _copy_tree(src: Path, dst: Path, total: int, reporter: Reporter) -> None:
    """Copy a data folder, reporting bytes copied; files use the kernel's fast copy.

    The files are copied COPY_THREADS at a time, largest first (pgBackRest's restore
    copies with process-max processes the same way): one reader leaves a cold disk idle
    between its requests, several keep it busy; on the 2-core sandbox VM a 1 GiB backup
    copied from a cold cache in 0.75-0.90 s, against 0.94-1.41 s with one thread.

    An error or an interrupt stops the copy: no new file is started, the ones under way
    finish, then it is raised, and the caller removes the half-made target."""
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    dst.mkdir(parents=True, exist_ok=False)
    jobs: list[tuple[str, Path, int]] = []
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target_root = dst if rel == "." else dst / rel
        for d in dirs:
            (target_root / d).mkdir(exist_ok=True)
        for f in files:
            if rel == "." and f in ("meta.json",):
                continue
            s = os.path.join(root, f)
            t = target_root / f
            if os.path.islink(s):
                os.symlink(os.readlink(s), t)
                continue
            jobs.append((s, t, os.path.getsize(s)))
    jobs.sort(key=lambda job: -job[2])

    def copy(s: str, t: Path) -> None:
        shutil.copyfile(s, t)
        shutil.copymode(s, t)

    copied = 0
    last = 0.0
    pool = ThreadPoolExecutor(max_workers=COPY_THREADS, thread_name_prefix="copy")
    try:
        pending = {pool.submit(copy, s, t): size for s, t, size in jobs}
        while pending:
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            for fut in done:
                fut.result()  # raises the copy's error
                copied += pending.pop(fut)
            at = time.monotonic()
            if at - last > 0.2:
                last = at
                pct = f" ({100 * copied // total}%)" if total else ""
                reporter.status(f"{copied // 2**20} of {total // 2**20} MiB{pct}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


PREFETCH_AHEAD = 8  # archived segments copied ahead of replay (128 MiB of 16 MiB segments)


class _Prefetch(threading.Thread):
    """Copies the segments replay will ask for next into the target's spool, ahead of it, so
    that the restore command only renames one (pgBackRest's asynchronous archive-get works
    the same way): the copy of the next segments overlaps the replay of this one.

    Only the archive is read. A segment is copied under a hidden name and renamed when
    whole, so the restore command never takes a partial one; replay already past a
    segment (it took it from the archive itself) makes it skipped or dropped. Any error
    stops the prefetch: replay falls back to the archive, so it costs time, never data.
    """

    def __init__(self, names: list[str], dirs: list[Path], spool: Path, chown: Callable[[Path], None],
                 position: Callable[[], str | None]) -> None:
        super().__init__(name="wal-prefetch", daemon=True)
        self.names, self.dirs, self.spool, self.chown, self.position = names, dirs, spool, chown, position
        self.done = threading.Event()
        self.copied = 0

    @staticmethod
    def _key(name: str | None) -> str | None:
        return name[8:24] if name and wal.is_segment(name) else None

    def _spooled(self) -> list[Path]:
        return [f for f in self.spool.iterdir() if not f.name.startswith(".")]

    def run(self) -> None:
        try:
            for name in self.names:
                while not self.done.is_set():
                    pos = self._key(self.position())
                    spooled = 0
                    for f in self._spooled():
                        if pos is not None and f.name[8:24] <= pos:
                            f.unlink(missing_ok=True)  # replay is past it: it will not ask again
                        else:
                            spooled += 1
                    if pos is not None and name[8:24] <= pos:
                        break
                    if spooled < PREFETCH_AHEAD:
                        src = wal.locate(self.dirs, name)
                        tmp = self.spool / f".{name}.tmp"
                        shutil.copyfile(src, tmp)
                        self.chown(tmp)
                        os.rename(tmp, self.spool / name)
                        self.copied += 1
                        break
                    self.done.wait(0.02)
                if self.done.is_set():
                    return
        except (OSError, AugeoError):
            return  # replay takes what it needs from the archive itself

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=30)


class _RecoveryWatch:
    """Follows a recovering server's log: segments restored, end of redo, readiness."""

    def __init__(self, log: Path, data: Path) -> None:
        self.log = log
        self.data = data
        self.offset = 0
        self.segments = 0
        self.last_segment: str | None = None
        self.redo_done = False
        self.redo_done_at: datetime | None = None
        self.ready = False
        self.fatal: str | None = None
        self.last_xact: datetime | None = None
        self.started = time.monotonic()
        self.target_passed = False  # "recovery stopping before/after ..." was logged
        self.redo_done_lsn: str | None = None  # the last record replayed
        self.read_error: str | None = None  # why reading WAL stopped, when it said so

    @property
    def ended_before_target(self) -> bool:
        return bool(self.fatal and self.fatal.startswith(_TARGET_NOT_REACHED))

    def poll(self) -> None:
        try:
            with self.log.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            chunk = b""
        if chunk:
            end = chunk.rfind(b"\n") + 1
            self.offset += end
            for raw in chunk[:end].decode("utf-8", "replace").splitlines():
                self._line(raw)
        if not self.ready and not self.fatal and time.monotonic() - self.started > 2:
            if procs.read_pid(self.data / "postmaster.pid") is None:
                self.fatal = "the server exited during recovery: " + tools.tail(self.log, 5)

    def _line(self, line: str) -> None:
        m = _LOG_TS.match(line)
        if not m:
            return
        ts = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        level, msg = m.group(2), m.group(3)
        if msg.startswith("restored log file"):
            self.segments += 1
            seg = re.search(r'"([0-9A-F]{24})"', msg)
            self.last_segment = seg.group(1) if seg else None
        elif msg.startswith("redo done at"):
            self.redo_done = True
            self.redo_done_at = ts
            lsn = re.match(r"redo done at ([0-9A-F]+/[0-9A-F]+)", msg)
            self.redo_done_lsn = lsn.group(1) if lsn else None
        elif msg.startswith("recovery stopping "):
            self.target_passed = True
        elif level == "LOG" and not self.redo_done and _WAL_READ_ERROR.search(msg):
            self.read_error = msg
        elif msg.startswith("last completed transaction was at log time"):
            self.last_xact = parse_pg_time(msg)
        elif "database system is ready to accept connections" in msg:
            self.ready = True
            if not self.redo_done:
                self.redo_done, self.redo_done_at = True, ts
        if level == "PANIC" or (level == "FATAL" and not _CLIENT_REFUSED.search(msg)):
            self.fatal = msg
