"""PostgreSQL backups and point-in-time restore on the local sandbox.

Backups are ``pg_basebackup`` (plain format, with a manifest, WAL taken from the
archive) into the sandbox's store; a restore copies one into a NEW data folder, lets
PostgreSQL replay archived WAL up to ``recovery_target_time`` through
``restore_command``, promotes, and verifies with ``pg_amcheck`` and queries. The source
cluster is only read from: its store and archive are read, the cluster itself is never
stopped, written to or reconfigured by a restore.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from augeoctl.backends.base import (
    BackupInfo,
    Check,
    Phase,
    PostgresBackend,
    RestorableWindow,
    RestorePlan,
    RestoreResult,
    TargetInfo,
    VerifyResult,
    Window,
    check_target_name,
)
from augeoctl.errors import (
    BackupError,
    Interrupted,
    NotFound,
    RestoreError,
    RestoreRefused,
)
from augeoctl.local import tools, wal
from augeoctl.local.sandbox import (
    APP_DB,
    SUPERUSER,
    Sandbox,
    as_service,
    chown_tree,
    make_dir,
    stop_postgres,
)
from augeoctl.progress import Reporter
from augeoctl.timeparse import format_time

# Clock skew allowed between "now" and a requested time before it counts as future.
FUTURE_TOLERANCE = timedelta(seconds=1)
_LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[\d+\] (\w+):\s+(.*)$")
# FATAL lines that refuse a client's connection while the server recovers: clients
# (an application being repointed at the target) are expected to knock early.
_CLIENT_REFUSED = re.compile(
    r"the database system is (not accepting connections|not yet accepting connections|starting up"
    r"|in recovery mode|shutting down)|password authentication failed|no pg_hba\.conf entry"
    r"|role \".*\" does not exist|database \".*\" does not exist|terminating connection"
)
_PG_TIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(\+00| UTC)")


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_log_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def _parse_pg_ts(text: str) -> datetime | None:
    m = _PG_TIME.search(text)
    if not m:
        return None
    raw = m.group(1)
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in raw else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(raw, fmt).replace(tzinfo=UTC)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def _connect(port: int, dbname: str = APP_DB, timeout: int = 10):
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=port, user=SUPERUSER, dbname=dbname, connect_timeout=timeout,
        autocommit=True,
    )


class LocalPostgresBackend(PostgresBackend):
    name = "local"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.seg_size = wal.DEFAULT_SEGMENT_SIZE

    # ------------------------------------------------------------------ backups

    def _meta_path(self, backup_id: str) -> Path:
        return self.sandbox.base_dir / backup_id / "meta.json"

    def backup_settings(self) -> dict[str, Any]:
        return {
            "wal_archive": str(self.sandbox.wal_archive),
            "archive_timeout": self.sandbox.archive_timeout,
            "wal_streaming": self.sandbox.wal_streaming,
        }

    def list_backups(self) -> list[BackupInfo]:
        result = []
        base = self.sandbox.base_dir
        if not base.exists():
            return []
        for entry in sorted(base.iterdir()):
            meta = entry / "meta.json"
            if entry.name.startswith(".") or not meta.exists():
                continue
            try:
                data = json.loads(meta.read_text())
            except ValueError:
                continue
            result.append(
                BackupInfo(
                    id=data["id"],
                    kind="postgres",
                    started_at=datetime.fromisoformat(data["started_at"]),
                    finished_at=datetime.fromisoformat(data["finished_at"]),
                    size_bytes=data.get("size_bytes"),
                    start_lsn=data.get("start_lsn"),
                    stop_lsn=data.get("stop_lsn"),
                    timeline=data.get("timeline"),
                    location=str(entry / "data"),
                    extra={k: data[k] for k in ("system_identifier", "pg_version") if k in data},
                )
            )
        result.sort(key=lambda b: b.finished_at or datetime.min.replace(tzinfo=UTC))
        return result

    def get_backup(self, backup_id: str | None) -> BackupInfo:
        backups = self.list_backups()
        if not backups:
            raise NotFound("there are no PostgreSQL base backups", hint="run `augeoctl backup create`")
        if backup_id is None:
            return backups[-1]
        for b in backups:
            if b.id == backup_id:
                return b
        raise NotFound(
            f'no PostgreSQL backup "{backup_id}"',
            hint="`augeoctl backup list` shows the backups: " + ", ".join(b.id for b in backups[-5:]),
        )

    def archiver_problem(self, port: int) -> str | None:
        """A sentence when WAL archiving is failing, else None."""
        with _connect(port, "postgres") as conn:
            row = conn.execute(
                "SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time,"
                " current_setting('archive_mode') FROM pg_stat_archiver"
            ).fetchone()
        assert row is not None
        archived_wal, archived_at, failed_wal, failed_at, mode = row
        if mode != "on" and mode != "always":
            return f"archive_mode is {mode}"
        if failed_at and (archived_at is None or failed_at > archived_at):
            return f"archiving of WAL {failed_wal} failed at {format_time(failed_at)}"
        return None

    def create_backup(self, reporter: Reporter) -> BackupInfo:
        status = self.sandbox.ensure_up(reporter)
        port = int(status.postgres.port or 0)
        problem = self.archiver_problem(port)
        if problem:
            raise BackupError(
                f"WAL archiving is failing ({problem}): a backup taken now could not be restored",
                hint=f"see {self.sandbox.pg_log}",
            )
        started = _now()
        backup_id = "pg-" + started.strftime("%Y%m%dT%H%M%SZ")
        n = 1
        while (self.sandbox.base_dir / backup_id).exists():
            n += 1
            backup_id = "pg-" + started.strftime("%Y%m%dT%H%M%SZ") + f"-{n}"
        partial = self.sandbox.base_dir / f".{backup_id}.partial"
        if partial.exists():
            shutil.rmtree(partial)
        make_dir(partial, 0o750)
        data = partial / "data"
        cmd = as_service([
            tools.pg_tool("pg_basebackup"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER,
            "-D", str(data), "-Fp", "-X", "none", "-c", "fast", "--manifest-checksums=CRC32C",
            "-l", f"augeoctl {backup_id}", "-P",
        ])
        try:
            with reporter.step(f"base backup {backup_id}"):
                proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
                assert proc.stderr is not None
                buf = b""
                errors: list[str] = []
                while True:
                    chunk = proc.stderr.read1(4096)  # type: ignore[attr-defined]
                    if not chunk:
                        break
                    buf += chunk
                    *parts, buf = re.split(rb"[\r\n]", buf)
                    for part in parts:
                        line = part.decode("utf-8", "replace").strip()
                        m = re.match(r"(\d+)/(\d+) kB \((\d+)%\)", line)
                        if m:
                            reporter.status(f"{int(m.group(1)) // 1024} of {int(m.group(2)) // 1024} MiB ({m.group(3)}%)")
                        elif line:
                            errors.append(line)
                rc = proc.wait()
                if rc != 0:
                    raise BackupError(
                        "pg_basebackup failed: " + " | ".join(e for e in errors if "kB" not in e)[-600:]
                    )
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        finished = _now()
        manifest = json.loads((data / "backup_manifest").read_text())
        ranges = manifest.get("WAL-Ranges") or []
        if not ranges:
            shutil.rmtree(partial, ignore_errors=True)
            raise BackupError("the backup manifest has no WAL range")
        label = (data / "backup_label").read_text()
        m = re.search(r"START TIME: (.+)", label)
        started_label = _parse_pg_ts(m.group(1)) if m else None
        meta = {
            "id": backup_id,
            "kind": "postgres",
            "started_at": (started_label or started).isoformat(),
            "finished_at": finished.isoformat(),
            "start_lsn": ranges[0]["Start-LSN"],
            "stop_lsn": ranges[-1]["End-LSN"],
            "timeline": int(ranges[0]["Timeline"]),
            "size_bytes": tools.dir_size(data),
            "system_identifier": self._system_identifier(data),
            "pg_version": (data / "PG_VERSION").read_text().strip(),
        }
        _write_json(partial / "meta.json", meta)
        os.rename(partial, self.sandbox.base_dir / backup_id)
        return self.get_backup(backup_id)

    def _system_identifier(self, data: Path) -> str | None:
        proc = tools.run([tools.pg_tool("pg_controldata"), str(data)], check=False)
        m = re.search(r"Database system identifier:\s+(\d+)", proc.stdout)
        return m.group(1) if m else None

    def verify_backup(self, backup_id: str | None, reporter: Reporter) -> VerifyResult:
        backup = self.get_backup(backup_id)
        checks: list[Check] = []
        data = Path(str(backup.location))
        with reporter.step(f"pg_verifybackup {backup.id}"):
            proc = tools.run(
                [tools.pg_tool("pg_verifybackup"), "-q", "-w", str(self.sandbox.wal_archive), str(data)],
                check=False,
            )
            detail = (proc.stderr or proc.stdout).strip()
            checks.append(Check(
                "pg_verifybackup", proc.returncode == 0,
                "files and checksums match the manifest; WAL to the consistent point parses"
                if proc.returncode == 0 else detail[-800:],
            ))
        cont = self._continuity(backup)
        checks.append(Check(
            "wal-continuity", cont.ok,
            f"every segment from {cont.first} to {cont.newest} is archived"
            if cont.ok else "missing WAL segment(s): " + ", ".join(cont.missing),
        ))
        return VerifyResult(backup.id, "postgres", tuple(checks), cont.missing)

    # ------------------------------------------------------------------ windows

    def _start_segno(self, backup: BackupInfo) -> int:
        return wal.segment_number(wal.parse_lsn(str(backup.start_lsn)), self.seg_size)

    def _continuity(self, backup: BackupInfo) -> wal.Continuity:
        return wal.continuity(
            self.sandbox.wal_dirs(), int(backup.timeline or 1), self._start_segno(backup), self.seg_size
        )

    def _index(self) -> wal.SegmentIndex:
        return wal.SegmentIndex(
            self.sandbox.wal_dirs(), self.sandbox.store / "wal-index.json", tools.pg_tool("pg_waldump")
        )

    def _contiguous_segments(self, backup: BackupInfo, cont: wal.Continuity) -> list[str]:
        if cont.last_contiguous is None:
            return []
        tli = int(backup.timeline or 1)
        last = wal.parse_segment(cont.last_contiguous, self.seg_size)[1]
        return [wal.segment_name(tli, s, self.seg_size) for s in range(self._start_segno(backup), last + 1)]

    def window(self) -> RestorableWindow:
        backups = self.list_backups()
        index = self._index()
        windows = []
        missing: set[str] = set()
        for b in backups:
            cont = self._continuity(b)
            segs = self._contiguous_segments(b, cont)
            stop_segno = wal.segment_number(wal.parse_lsn(str(b.stop_lsn)), self.seg_size)
            has_consistency = bool(segs) and wal.parse_segment(segs[-1], self.seg_size)[1] >= stop_segno
            latest = None
            if has_consistency:
                latest, _seg = index.last_xact_through(segs)
            missing.update(cont.missing)
            assert b.finished_at is not None
            windows.append(Window(
                backup_id=b.id, earliest=b.finished_at,
                latest=latest if latest and latest >= b.finished_at else None,
                first_segment=cont.first, last_segment=cont.last_contiguous,
                gap=tuple(cont.missing[:1]) if cont.missing else (),
            ))
        index.save()
        segs_all = wal.archived_segments(self.sandbox.wal_dirs(), 1)
        return RestorableWindow(
            windows=tuple(windows), missing_segments=tuple(sorted(missing)),
            archived_segments=len(segs_all), newest_segment=segs_all[-1] if segs_all else None,
        )

    # ------------------------------------------------------------------ targets

    def _target_dir(self, name: str) -> Path:
        return self.sandbox.targets_dir / name

    def _target_state(self, name: str) -> dict[str, Any] | None:
        try:
            return json.loads((self._target_dir(name) / "target.json").read_text())
        except (OSError, ValueError):
            return None

    def _half_made(self, name: str) -> bool:
        """A target that a restore started and did not finish (and is not still running)."""
        state = self._target_state(name)
        if state is None:
            return self._target_dir(name).exists()
        if state.get("status") == "in-progress":
            return not tools.pid_alive(state.get("owner_pid"))
        return state.get("status") in ("interrupted", "failed")

    def list_targets(self) -> list[TargetInfo]:
        out: list[TargetInfo] = []
        if not self.sandbox.targets_dir.exists():
            return out
        for d in sorted(self.sandbox.targets_dir.iterdir()):
            if not d.is_dir():
                continue
            st = self._target_state(d.name) or {}
            status = st.get("status", "unknown")
            if status == "in-progress" and not tools.pid_alive(st.get("owner_pid")):
                status = "interrupted"
            if st.get("kind") == "redis":
                alive = tools.pid_alive(_read_pid(d / "redis.pid"))
            else:
                alive = tools.pid_alive(self._postmaster_pid(d / "data"))
            if status == "ready" and not alive:
                status = "stopped"

            def ts(key: str, st: dict[str, Any] = st) -> datetime | None:
                return datetime.fromisoformat(st[key]) if st.get(key) else None

            out.append(TargetInfo(
                name=d.name, status=status,
                dsn=st.get("dsn") or st.get("url"), created_at=ts("created_at"), backup_id=st.get("backup_id"),
                requested=ts("requested"), reached=ts("reached"), detail=st.get("detail"),
            ))
        return out

    def _postmaster_pid(self, data: Path) -> int | None:
        try:
            return int((data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _remove_target(self, name: str) -> None:
        d = self._target_dir(name)
        redis_pid = _read_pid(d / "redis.pid")
        if tools.pid_alive(redis_pid):
            os.kill(redis_pid, signal.SIGTERM)  # type: ignore[arg-type]
            deadline = time.monotonic() + 10
            while tools.pid_alive(redis_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        data = d / "data"
        pid = self._postmaster_pid(data)
        if tools.pid_alive(pid):
            stop_postgres(data, mode="immediate", timeout=30)
        shutil.rmtree(d, ignore_errors=True)

    def drop_target(self, name: str, reporter: Reporter) -> None:
        check_target_name(name)
        if not self._target_dir(name).exists():
            raise NotFound(f'no restored target "{name}"', hint="`augeoctl targets list` shows them")
        with reporter.step(f"dropping target {name}"):
            self._remove_target(name)

    # ------------------------------------------------------------------ restore

    def plan_restore(
        self, to_time: datetime | None, target: str | None, *, now: datetime | None = None,
        geo: bool = False,
    ) -> RestorePlan:
        if geo:
            raise RestoreRefused("geo-restore is an Azure feature; the local sandbox has one region",
                                 hint="drop --geo, or use --env with an Azure environment")
        now = now or _now()
        if to_time is not None and to_time > now + FUTURE_TOLERANCE:
            raise RestoreRefused(
                f"{format_time(to_time)} is in the future (now is {format_time(now)})",
                hint="give a time in the past, `now`, or --latest",
            )
        backups = self.list_backups()
        if not backups:
            raise RestoreRefused(
                "there is no base backup to restore from", hint="run `augeoctl backup create` first"
            )
        win = self.window()
        by_id = {b.id: b for b in backups}
        name = check_target_name(target) if target else self._generated_name(to_time, now)
        cleanup: list[str] = []
        if self._target_dir(name).exists():
            if self._half_made(name):
                cleanup.append(name)
            else:
                raise RestoreRefused(
                    f'a target named "{name}" already exists',
                    hint=f"choose another --target, or `augeoctl targets drop {name}`",
                )
        cleanup.extend(
            t.name for t in self.list_targets()
            if t.name != name and t.status in ("interrupted", "failed")
        )

        usable = [w for w in win.windows if not w.empty]
        if to_time is None:
            if not usable:
                chosen_w = self._latest_fallback(win)
            else:
                chosen_w = max(usable, key=lambda w: (w.latest, w.earliest))  # type: ignore[arg-type, return-value]
            mode = "end"
        else:
            candidates = [w for w in usable if w.contains(to_time)]
            if not candidates:
                raise RestoreRefused(self._refusal(to_time, win), hint=self._window_hint(win))
            chosen_w = max(candidates, key=lambda w: w.earliest)
            mode = "end" if chosen_w.latest == to_time else "time"
        backup = by_id[chosen_w.backup_id]
        wal_last = chosen_w.last_segment
        if mode == "time" and to_time is not None:
            segs = self._contiguous_segments(backup, self._continuity(backup))
            index = self._index()
            wal_last = index.first_segment_after(segs, to_time) or wal_last
            index.save()
        self._check_disk(backup)
        return RestorePlan(
            target=name, backup=backup, to_time=to_time, mode=mode,
            wal_first=chosen_w.first_segment, wal_last=wal_last, window=win,
            cleanup=tuple(dict.fromkeys(cleanup)),
            # The port is chosen now so that clients (a drill's service) can be pointed
            # at the target while it recovers, as an application would be.
            extra={"port": tools.free_port()},
        )

    def _latest_fallback(self, win: RestorableWindow) -> Window:
        """--latest with no archived transaction after any backup: the newest consistent backup."""
        for w in sorted(win.windows, key=lambda w: w.earliest, reverse=True):
            if w.last_segment is not None:
                return w
        raise RestoreRefused(
            "no base backup has the WAL it needs to become consistent",
            hint="check `augeoctl backup verify`; take a new backup with `augeoctl backup create`",
        )

    def _refusal(self, when: datetime, win: RestorableWindow) -> str:
        t = format_time(when)
        earliest, latest = win.earliest, win.latest
        if earliest is None:
            return f"{t} is not restorable: no transaction has been archived after any base backup"
        if when < earliest:
            return f"{t} is before the earliest restorable time {format_time(earliest)}"
        for w in win.windows:
            if w.gap and not w.empty and w.earliest <= when and w.latest is not None and when > w.latest:
                later = [x for x in win.windows if x.earliest > when and not x.empty]
                if not later:
                    return (
                        f"{t} is inside a WAL gap: segment {w.gap[0]} is missing from the archive, "
                        f"so recovery from backup {w.backup_id} cannot pass {format_time(w.latest)}"
                    )
                return (
                    f"{t} is inside a WAL gap: segment {w.gap[0]} is missing; the next restorable "
                    f"time is {format_time(min(x.earliest for x in later))}"
                )
        if latest is not None and when > latest:
            return (
                f"{t} is after the newest archived transaction {format_time(latest)}: the WAL "
                f"archive does not reach it yet (archive_timeout is {self.sandbox.archive_timeout} s)"
            )
        return f"{t} is outside the restorable window"

    def _window_hint(self, win: RestorableWindow) -> str:
        return f"restorable window: {win.describe()}; --latest restores the newest archived point"

    def _generated_name(self, to_time: datetime | None, now: datetime) -> str:
        when = to_time or now
        return "pitr-" + when.strftime("%Y%m%d-%H%M%S").lower()

    def _check_disk(self, backup: BackupInfo) -> None:
        self.sandbox.targets_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.sandbox.targets_dir).free
        need = int((backup.size_bytes or 0) * 1.1) + 4 * self.seg_size
        if free < need:
            raise RestoreRefused(
                f"not enough disk for the restore: {need // 2**20} MiB needed, "
                f"{free // 2**20} MiB free in {self.sandbox.targets_dir}",
                hint="free some space or set AUGEO_HOME on a larger disk",
            )

    def restore(self, plan: RestorePlan, reporter: Reporter) -> RestoreResult:
        cleaned = []
        for name in plan.cleanup:
            if self._target_dir(name).exists() and self._half_made(name):
                reporter.warn(
                    f'removing half-made target "{name}" left by an interrupted or failed restore'
                )
                self._remove_target(name)
                cleaned.append(name)
        tdir = self._target_dir(plan.target)
        if tdir.exists():
            raise RestoreRefused(f'a target named "{plan.target}" already exists')
        make_dir(self.sandbox.targets_dir, 0o755)
        make_dir(tdir, 0o755)
        data = tdir / "data"
        state: dict[str, Any] = {
            "name": plan.target, "status": "in-progress", "owner_pid": os.getpid(),
            "created_at": _now().isoformat(), "backup_id": plan.backup.id,
            "requested": plan.to_time.isoformat() if plan.to_time else None, "mode": plan.mode,
        }
        _write_json(tdir / "target.json", state)

        def on_term(signum: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        old_term = signal.signal(signal.SIGTERM, on_term) if _main_thread() else None
        try:
            result = self._do_restore(plan, tdir, data, reporter, state)
        except KeyboardInterrupt:
            self._remove_target(plan.target)
            raise Interrupted(
                f'restore interrupted: the half-made target "{plan.target}" was removed; '
                "nothing was reported as restored"
            ) from None
        except BaseException as exc:
            stop_postgres(data, mode="immediate", timeout=30)
            state.update(status="failed", detail=str(exc)[:2000])
            _write_json(tdir / "target.json", state)
            if isinstance(exc, RestoreError):
                raise
            raise
        finally:
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
        return replace(result, cleaned_up=tuple(cleaned))

    def _do_restore(
        self, plan: RestorePlan, tdir: Path, data: Path, reporter: Reporter, state: dict[str, Any]
    ) -> RestoreResult:
        phases: list[Phase] = []
        src = Path(str(plan.backup.location))

        # 1. copy ---------------------------------------------------------------
        t0 = _now()
        total = plan.backup.size_bytes or tools.dir_size(src)
        with reporter.step(f"copy base backup {plan.backup.id}"):
            _copy_tree(src, data, total, reporter)
            chown_tree(data)
            os.chmod(data, 0o700)
        phases.append(Phase("copy", t0, _now()))

        # 2. configure and start recovery --------------------------------------------
        port = int(plan.extra.get("port") or 0)
        if not port or tools.port_in_use(port):
            port = tools.free_port()
        sock = make_dir(tdir / "socket", 0o755)
        log = tdir / "postgres.log"
        log.touch()
        chown_tree(log)
        self._configure_recovery(plan, data, port, sock)
        state.update(port=port, dsn=f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{APP_DB}")
        _write_json(tdir / "target.json", state)

        t1 = _now()
        proc = tools.run(
            as_service([tools.pg_tool("pg_ctl"), "-D", str(data), "-l", str(log), "-W", "-s", "start"]),
            check=False,
        )
        if proc.returncode != 0:
            raise RestoreError(f"the target did not start: {proc.stderr.strip()}\n{tools.tail(log, 8)}")
        watch = _RecoveryWatch(log, data)
        with reporter.step("replay WAL"):
            while not watch.redo_done:
                watch.poll()
                if watch.fatal:
                    raise RestoreError(
                        f"recovery failed: {watch.fatal}", hint=f"the target's log is {log}"
                    )
                reporter.status(
                    f"{watch.segments} WAL segment(s) replayed"
                    + (f", last {watch.last_segment}" if watch.last_segment else "")
                )
                time.sleep(0.05)
        t_redo = watch.redo_done_at or _now()
        phases.append(Phase("wal_replay", t1, t_redo))

        # 3. promote ------------------------------------------------------------
        with reporter.step("promote"):
            reached = self._wait_promoted(port, watch, log)
        phases.append(Phase("promote", t_redo, _now()))

        # 4. verify -------------------------------------------------------------
        t3 = _now()
        with reporter.step("verify (pg_amcheck, queries)"):
            checks, tables = self._verify_target(port, reporter)
        phases.append(Phase("verify", t3, _now()))

        if not all(c.ok for c in checks):
            bad = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
            raise RestoreError(f"the restored target failed verification: {bad}")

        state.update(
            status="ready", reached=reached.isoformat() if reached else None,
            finished_at=_now().isoformat(), owner_pid=None,
        )
        _write_json(tdir / "target.json", state)
        return RestoreResult(
            target=plan.target, dsn=state["dsn"], backup_id=plan.backup.id,
            requested=plan.to_time, reached=reached, phases=tuple(phases),
            verification=tuple(checks), tables=tables, wal_segments_replayed=watch.segments,
            extra={"mode": plan.mode, "port": port, "data_directory": str(data)},
        )

    def _configure_recovery(self, plan: RestorePlan, data: Path, port: int, sock: Path) -> None:
        # Archived segments first; then what pg_receivewal streamed, including the
        # newest partial segment, which holds commits the archive does not have yet.
        restore_cmd = f'cp "{self.sandbox.wal_archive}/%f" "%p"'
        stream = self.sandbox.wal_stream
        if stream.exists():
            restore_cmd = (
                f'{restore_cmd} 2>/dev/null || cp "{stream}/%f" "%p" 2>/dev/null'
                f' || cp "{stream}/%f.partial" "%p"'
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
        if plan.mode == "time" and plan.to_time is not None:
            ts = plan.to_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
            settings["recovery_target_time"] = f"'{ts}'"
            settings["recovery_target_inclusive"] = "'on'"
        auto = data / "postgresql.auto.conf"
        with auto.open("a") as fh:
            fh.write("\n# augeoctl restore: recovery settings of this target\n")
            for k, v in settings.items():
                fh.write(f"{k} = {v}\n")
        for stale in ("standby.signal", "postmaster.pid", "postmaster.opts"):
            (data / stale).unlink(missing_ok=True)
        (data / "recovery.signal").touch()
        chown_tree(data)

    def _wait_promoted(self, port: int, watch: _RecoveryWatch, log: Path) -> datetime | None:
        import psycopg

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            watch.poll()
            if watch.fatal:
                raise RestoreError(f"recovery failed: {watch.fatal}", hint=f"the target's log is {log}")
            if watch.ready:
                try:
                    with _connect(port, "postgres", timeout=3) as conn:
                        row = conn.execute(
                            "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()"
                        ).fetchone()
                    assert row is not None
                    if not row[0]:
                        return row[1] or watch.last_xact
                except psycopg.OperationalError:
                    pass
            time.sleep(0.05)
        raise RestoreError("the target did not finish promotion within 10 minutes", hint=f"see {log}")

    def _verify_target(self, port: int, reporter: Reporter) -> tuple[list[Check], dict[str, int]]:
        import psycopg

        checks: list[Check] = []
        proc = tools.run(
            [tools.pg_tool("pg_amcheck"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER,
             "--all", "--install-missing", "--no-strict-names"],
            check=False,
        )
        out = (proc.stdout + proc.stderr).strip()
        checks.append(Check(
            "pg_amcheck", proc.returncode == 0,
            "no corruption found in heap tables or B-tree indexes" if proc.returncode == 0 else out[-800:],
        ))
        tables: dict[str, int] = {}
        try:
            with _connect(port, "postgres") as conn:
                dbs = [r[0] for r in conn.execute(
                    "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"
                    " ORDER BY 1"
                ).fetchall()]
            for db in dbs:
                with _connect(port, db) as conn:
                    rels = conn.execute(
                        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), n.nspname, c.relname"
                        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                        " AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1"
                    ).fetchall()
                    for qualified, nsp, rel in rels:
                        count = conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()
                        key = f"{nsp}.{rel}" if db == APP_DB else f"{db}:{nsp}.{rel}"
                        tables[key] = int(count[0]) if count else 0
            checks.append(Check("query", True, f"{len(tables)} table(s) counted in {len(dbs)} database(s)"))
        except psycopg.Error as exc:
            checks.append(Check("query", False, str(exc).strip()))
        return checks, tables


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _copy_tree(src: Path, dst: Path, total: int, reporter: Reporter) -> None:
    """Copy a data folder, reporting bytes copied; files use the kernel's fast copy."""
    copied = 0
    last = 0.0
    dst.mkdir(parents=True, exist_ok=False)
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
            shutil.copyfile(s, t)
            shutil.copymode(s, t)
            copied += os.path.getsize(s)
            now = time.monotonic()
            if now - last > 0.2:
                last = now
                pct = f" ({100 * copied // total}%)" if total else ""
                reporter.status(f"{copied // 2**20} of {total // 2**20} MiB{pct}")


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
            pidfile = self.data / "postmaster.pid"
            try:
                pid = int(pidfile.read_text().splitlines()[0])
            except (OSError, ValueError, IndexError):
                pid = None
            if pid is None or not tools.pid_alive(pid):
                self.fatal = self.fatal or "the server exited during recovery: " + tools.tail(self.log, 5)

    def _line(self, line: str) -> None:
        m = _LOG_TS.match(line)
        if not m:
            return
        ts, level, msg = _parse_log_ts(m.group(1)), m.group(2), m.group(3)
        if msg.startswith("restored log file"):
            self.segments += 1
            seg = re.search(r'"([0-9A-F]{24})"', msg)
            self.last_segment = seg.group(1) if seg else None
        elif msg.startswith("redo done at") or msg.startswith("recovery stopping"):
            if msg.startswith("redo done at"):
                self.redo_done = True
                self.redo_done_at = ts
        elif msg.startswith("last completed transaction was at log time"):
            self.last_xact = _parse_pg_ts(msg)
        elif "database system is ready to accept connections" in msg:
            self.ready = True
            if not self.redo_done:
                self.redo_done, self.redo_done_at = True, ts
        if level == "PANIC" or (level == "FATAL" and not _CLIENT_REFUSED.search(msg)):
            self.fatal = msg
