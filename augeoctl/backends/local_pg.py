"""PostgreSQL backups and point-in-time restore on the local sandbox.

Backups are ``pg_basebackup`` (plain format, with a manifest, WAL taken from the
archive) into the sandbox's store; the restorable window comes from the archived WAL
after each backup. A restore is planned here (which backup, up to where, refusals with
the reason) and carried out by ``local_recovery`` into a NEW target (``local_targets``).
The source cluster is only read from: its store and archive are read, the cluster itself
is never stopped, written to or reconfigured by a restore.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from augeoctl.backends.base import (
    BackupInfo,
    PostgresBackend,
    RestorableWindow,
    RestorePlan,
    RestoreResult,
    TargetInfo,
    VerifyResult,
    Window,
    check_target_name,
)
from augeoctl.backends.local_recovery import Recovery, connect, parse_pg_time, utc_now
from augeoctl.backends.local_targets import TargetStore, remove_partials, write_json
from augeoctl.backends.local_walsearch import DamageSearch, SearchResult
from augeoctl.core import Check
from augeoctl.errors import AugeoError, BackupError, Busy, NotFound, RestoreRefused, TargetExists
from augeoctl.local import procs, tools, wal
from augeoctl.local.endpoints import SUPERUSER
from augeoctl.local.sandbox import Sandbox
from augeoctl.progress import Reporter
from augeoctl.timeparse import format_time

# Clock skew allowed between "now" and a requested time before it counts as future.
FUTURE_TOLERANCE = timedelta(seconds=1)
ONE_MICROSECOND = timedelta(microseconds=1)


class LocalPostgresBackend(PostgresBackend):
    name = "local"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.seg_size = wal.DEFAULT_SEGMENT_SIZE
        self.targets = TargetStore(sandbox)
        self.recovery = Recovery(sandbox, self.targets)

    # ------------------------------------------------------------------ backups

    def backup_settings(self) -> dict[str, Any]:
        return {
            "wal_archive": str(self.sandbox.wal_archive),
            "archive_timeout": self.sandbox.archive_timeout,
            "wal_streaming": self.sandbox.wal_streaming,
        }

    def list_backups(self) -> list[BackupInfo]:
        """The usable backups, oldest first (``damaged_backups`` has the others)."""
        result = [b for b in self._read_backups() if b.damaged is None]
        result.sort(key=lambda b: b.finished_at or datetime.min.replace(tzinfo=UTC))
        return result

    def damaged_backups(self) -> list[BackupInfo]:
        return [b for b in self._read_backups() if b.damaged is not None]

    def _read_backups(self) -> list[BackupInfo]:
        base = self.sandbox.base_dir
        if not base.exists():
            return []
        result = []
        for entry in sorted(base.iterdir()):
            meta = entry / "meta.json"
            if entry.name.startswith(".") or not meta.exists():
                continue
            result.append(_backup_from_meta(entry))
        return result

    def archiver_problem(self, port: int) -> str | None:
        """A sentence when WAL archiving is failing, else None."""
        with connect(self.sandbox, port, "postgres") as conn:
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

    def source_problem(self) -> str | None:
        problem = self.archiver_problem(self.sandbox.pg_port())
        return f"WAL archiving is failing: {problem}" if problem else None

    def create_backup(self, reporter: Reporter) -> BackupInfo:
        status = self.sandbox.ensure_up(reporter)
        port = int(status.postgres.port or 0)
        problem = self.archiver_problem(port)
        if problem:
            raise BackupError(
                f"WAL archiving is failing ({problem}): a backup taken now could not be restored",
                hint=f"see {self.sandbox.pg_log}",
            )
        remove_partials(self.sandbox.base_dir, reporter)  # a killed backup's leftovers
        started = utc_now()
        backup_id = "pg-" + started.strftime("%Y%m%dT%H%M%SZ")
        n = 1
        while (self.sandbox.base_dir / backup_id).exists():
            n += 1
            backup_id = "pg-" + started.strftime("%Y%m%dT%H%M%SZ") + f"-{n}"
        partial = self.sandbox.base_dir / f".{backup_id}.partial"
        if partial.exists():
            shutil.rmtree(partial)
        self.sandbox.make_dir(partial, 0o750)
        data = partial / "data"
        cmd = self.sandbox.as_service([
            self.sandbox.pg_tool("pg_basebackup"), "-h", procs.LOOPBACK, "-p", str(port), "-U", SUPERUSER,
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
        finished = utc_now()
        manifest = json.loads((data / "backup_manifest").read_text())
        ranges = manifest.get("WAL-Ranges") or []
        if not ranges:
            shutil.rmtree(partial, ignore_errors=True)
            raise BackupError("the backup manifest has no WAL range")
        label = (data / "backup_label").read_text()
        m = re.search(r"START TIME: (.+)", label)
        started_label = parse_pg_time(m.group(1)) if m else None
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
        write_json(partial / "meta.json", meta)
        os.rename(partial, self.sandbox.base_dir / backup_id)
        try:  # the names `wal search` gives tables dropped after this backup
            self._damage_search().remember_catalog()
        except AugeoError as exc:
            reporter.warn(f"the catalog's relation names were not remembered: {exc.message}")
        return self.get_backup(backup_id)

    def expire_backups(self, expired: list[BackupInfo], kept: list[BackupInfo], reporter: Reporter, *,
                       dry_run: bool) -> dict[str, Any]:
        """Expired backups first (each renamed out of the store in one step, then removed),
        then the archived WAL before the oldest kept backup's start, oldest segment first.

        Killed at any point, the store stays consistent: a backup is listed or gone, never
        half there (a ``.ID.expiring`` folder is finished off by the next run), and the WAL
        left is the newest part, so every kept backup still has all its WAL."""
        base = self.sandbox.base_dir
        usable = [b for b in kept if b.damaged is None]
        if expired and not usable:
            raise BackupError("refusing to expire every usable backup: nothing would be restorable")
        for leftover in sorted(base.glob(".*.expiring")) if base.is_dir() else []:
            if not dry_run:
                shutil.rmtree(leftover, ignore_errors=True)
                reporter.warn(f"removed {leftover}, left by an expiry that did not finish")
        oldest = min(usable, key=self._start_segno, default=None)
        wal_files = self._wal_before(self._start_segno(oldest)) if oldest is not None else []
        before = self._first_segment(oldest) if oldest is not None else None
        result: dict[str, Any] = {
            "backups": [{"id": b.id, "finished_at": format_time(b.finished_at), "size_bytes": b.size_bytes,
                         "damaged": b.damaged} for b in expired],
            "wal": {"segments": sum(1 for f in wal_files if wal.is_segment(f.name)),
                    "files": len(wal_files), "bytes": sum(_size(f) for f in wal_files), "before": before},
        }
        if dry_run:
            return result
        for b in expired:
            with reporter.step(f"expire backup {b.id}"):
                gone = base / f".{b.id}.expiring"
                os.rename(base / b.id, gone)
                shutil.rmtree(gone)
        if wal_files:
            with reporter.step(f"expire WAL before {before} ({len(wal_files)} file(s))"):
                for f in wal_files:
                    f.unlink(missing_ok=True)
                    (f.parent / wal.INDEX_DIR / f.name).unlink(missing_ok=True)
                index = self._index()
                index.forget([f.name for f in wal_files])
                index.save()
        return result

    def _wal_before(self, segno: int) -> list[Path]:
        """Archived and streamed WAL files older than segment number ``segno`` (any
        timeline): segments, partial segments and backup history files, oldest first.
        Timeline history files are kept (small, and every later timeline needs them)."""
        found = []
        for folder in self.sandbox.wal_dirs():
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                name = f.name
                if not f.is_file() or len(name) < 24 or name.endswith(".history"):
                    continue
                try:
                    _tli, number = wal.parse_segment(name[:24], self.seg_size)
                except ValueError:
                    continue
                if number < segno:
                    found.append(f)
        return sorted(found, key=lambda f: (f.name[8:24], f.name))

    def _system_identifier(self, data: Path) -> str | None:
        proc = tools.run([self.sandbox.pg_tool("pg_controldata"), str(data)], check=False)
        m = re.search(r"Database system identifier:\s+(\d+)", proc.stdout)
        return m.group(1) if m else None

    def verify_backup(self, backup_id: str | None, reporter: Reporter) -> VerifyResult:
        damaged = {b.id: b for b in self.damaged_backups()}
        if backup_id is None and not self.list_backups() and damaged:
            backup_id = max(damaged)  # none is usable: the newest of the damaged ones fails
        if backup_id in damaged:
            return VerifyResult(backup_id, "postgres", (
                Check("metadata", False, f"the backup is damaged: {damaged[backup_id].damaged}"),
            ))
        backup = self.get_backup(backup_id)
        checks: list[Check] = []
        data = Path(str(backup.location))
        with reporter.step(f"pg_verifybackup {backup.id}"):
            proc = tools.run(
                [self.sandbox.pg_tool("pg_verifybackup"), "-q", "-w", str(self.sandbox.wal_archive), str(data)],
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
        checks.append(self._wal_content(backup, reporter))
        return VerifyResult(backup.id, "postgres", tuple(checks), cont.missing)

    def _wal_content(self, backup: BackupInfo, reporter: Reporter) -> Check:
        """Every archived segment from the backup's start to the newest one, read through."""
        segs = self._segments_from(backup)
        index = self._index()
        with reporter.step(f"pg_waldump over {len(segs)} archived WAL segment(s)"):
            index.check(segs)
        index.save()
        if not segs:
            return Check("wal-content", False, f"no archived WAL segment from {self._first_segment(backup)} on")
        bad = [(s, index.result(s)) for s in segs if index.result(s).damaged]
        if not bad:
            return Check("wal-content", True,
                         f"all {len(segs)} archived segment(s) from {segs[0]} to {segs[-1]} read through "
                         "(record headers and CRCs)")
        win = next((w for w in self.window().windows if w.backup_id == backup.id), None)
        ends = (f"; the restorable window from this backup ends at {format_time(win.latest)}, before it"
                if win is not None and win.latest is not None else
                "; nothing after this backup is restorable")
        seg, found = bad[0]
        return Check("wal-content", False,
                     f"damaged WAL segment {seg}: {found.damaged}"
                     + (f" (and {', '.join(s for s, _ in bad[1:])})" if bad[1:] else "") + ends)

    # ------------------------------------------------------------------ windows

    def _start_segno(self, backup: BackupInfo) -> int:
        return wal.segment_number(wal.parse_lsn(str(backup.start_lsn)), self.seg_size)

    def _first_segment(self, backup: BackupInfo) -> str:
        return wal.segment_name(int(backup.timeline or 1), self._start_segno(backup), self.seg_size)

    def _segments_from(self, backup: BackupInfo) -> list[str]:
        """Archived segments of the backup's timeline from its start on, past any gap."""
        start = self._start_segno(backup)
        return [s for s in wal.archived_segments(self.sandbox.wal_dirs(), int(backup.timeline or 1))
                if wal.parse_segment(s, self.seg_size)[1] >= start]

    def _continuity(self, backup: BackupInfo) -> wal.Continuity:
        return wal.continuity(
            self.sandbox.wal_dirs(), int(backup.timeline or 1), self._start_segno(backup), self.seg_size
        )

    def _index(self) -> wal.SegmentIndex:
        return wal.SegmentIndex(
            self.sandbox.wal_dirs(), self.sandbox.store / "wal-index.json", self.sandbox.pg_tool("pg_waldump"),
            self.seg_size,
        )

    def _contiguous_segments(self, backup: BackupInfo, cont: wal.Continuity) -> list[str]:
        if cont.last_contiguous is None:
            return []
        tli = int(backup.timeline or 1)
        last = wal.parse_segment(cont.last_contiguous, self.seg_size)[1]
        return [wal.segment_name(tli, s, self.seg_size) for s in range(self._start_segno(backup), last + 1)]

    def window(self) -> RestorableWindow:
        """Per backup, the span recovery can replay: WAL present and readable.

        Every archived segment after the oldest backup's start is read with pg_waldump
        (once: the index caches it), so a window ends at a missing segment and before
        the first record that cannot be read, as recovery would.
        """
        backups = self.list_backups()
        index = self._index()
        index.check(sorted({s for b in backups for s in self._segments_from(b)}))
        windows = []
        missing: set[str] = set()
        damaged: set[str] = set()
        for b in backups:
            cont = self._continuity(b)
            segs = self._contiguous_segments(b, cont)
            after = self._segments_from(b)
            damaged.update(s for s in after if index.result(s).damaged)
            bad = next((i for i, s in enumerate(segs) if index.result(s).damaged), None)
            stop_lsn = wal.parse_lsn(str(b.stop_lsn))
            stop_segno = wal.segment_number(stop_lsn, self.seg_size)
            has_consistency = bool(segs) and wal.parse_segment(segs[-1], self.seg_size)[1] >= stop_segno
            ends_at: tuple[str, ...] = ()
            if bad is not None:
                # Replay reads the damaged segment up to the unreadable record, and stops.
                segs = segs[:bad + 1]
                ends_at = (segs[-1],)
                error_lsn = index.result(segs[-1]).error_lsn
                has_consistency = error_lsn is not None and error_lsn >= stop_lsn
            latest = None
            if has_consistency:
                latest, _seg = index.last_xact_through(segs)
            missing.update(cont.missing)
            assert b.finished_at is not None
            # Only a transaction after the backup finished is one replay must reach.
            archive_end, _seg = index.last_xact_through(after)
            archive_end = archive_end if archive_end and archive_end >= b.finished_at else None
            windows.append(Window(
                backup_id=b.id, earliest=b.finished_at,
                latest=latest if latest and latest >= b.finished_at else None,
                first_segment=cont.first,
                last_segment=(segs[-1] if has_consistency else None) if ends_at else cont.last_contiguous,
                gap=tuple(cont.missing[:1]) if cont.missing and not ends_at else (),
                damaged=ends_at, archive_end=archive_end,
            ))
        index.save()
        segs_all = wal.archived_segments(self.sandbox.wal_dirs(), 1)
        return RestorableWindow(
            windows=tuple(windows), missing_segments=tuple(sorted(missing)),
            archived_segments=len(segs_all), newest_segment=segs_all[-1] if segs_all else None,
            damaged_segments=tuple(sorted(damaged)),
        )

    # ------------------------------------------------------------------ WAL search

    def _damage_search(self) -> DamageSearch:
        return DamageSearch(self.sandbox, self._index(), self.seg_size)

    def _timeline(self) -> int:
        backups = self.list_backups()
        return int(backups[-1].timeline or 1) if backups else 1

    def search_damage(self, since: datetime | None, until: datetime | None, min_rows: int,
                      reporter: Reporter) -> SearchResult:
        """Committed transactions in the archived WAL that destroyed data (``wal search``)."""
        return self._damage_search().search(since, until, min_rows, self._timeline(), reporter)

    def plan_restore_before_xid(self, xid: int, target: str | None) -> RestorePlan:
        if target:
            check_target_name(target)
        committed = self._damage_search().find_commit(xid, self._timeline())
        plan = self.plan_restore(committed - ONE_MICROSECOND, target)
        return replace(plan, mode="xid", extra={**plan.extra, "before_xid": str(xid),
                                                "xid_committed_at": format_time(committed)})

    # ------------------------------------------------------------------ targets

    def list_targets(self) -> list[TargetInfo]:
        return self.targets.list()

    def drop_target(self, name: str, reporter: Reporter) -> None:
        check_target_name(name)
        if not self.targets.exists(name):
            raise NotFound(f'no restored target "{name}"', hint="`augeoctl targets list` shows them")
        running = self.targets.running_restore(name)
        if running is not None:
            raise Busy(f'target "{name}" is still being restored by pid {running["owner_pid"]} '
                       f'(since {running.get("created_at")}); nothing was changed',
                       hint="wait for the restore to finish, then drop the target")
        with reporter.step(f"dropping target {name}"):
            self.targets.remove(name)

    # ------------------------------------------------------------------ restore

    def plan_restore(
        self, to_time: datetime | None, target: str | None, *, now: datetime | None = None,
    ) -> RestorePlan:
        now = now or utc_now()
        if target:
            check_target_name(target)  # the input first, before the store is read
        if to_time is not None and to_time > now + FUTURE_TOLERANCE:
            raise RestoreRefused(
                f"{format_time(to_time)} is in the future (now is {format_time(now)})",
                hint="give a time in the past, `now`, or --latest",
            )
        backups = self.list_backups()
        if not backups:
            damaged = self.damaged_backups()
            if damaged:
                raise RestoreRefused(
                    "no usable base backup to restore from: "
                    + "; ".join(f"{b.id} is damaged ({b.damaged})" for b in damaged),
                    hint="`augeoctl backup list` shows them; take a new one with `augeoctl backup create`",
                )
            raise RestoreRefused(
                "there is no base backup to restore from", hint="run `augeoctl backup create` first"
            )
        win = self.window()
        by_id = {b.id: b for b in backups}
        name = check_target_name(target) if target else self._generated_name(to_time, now)
        cleanup: list[str] = []
        if self.targets.exists(name):
            if self.targets.half_made(name):
                cleanup.append(name)
            else:
                raise TargetExists(name)
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
            # Always a time target, even at the window's end: WAL archived while the
            # restore runs must not be replayed past the requested time.
            mode = "time"
        backup = by_id[chosen_w.backup_id]
        wal_last = chosen_w.last_segment
        if mode == "time" and to_time is not None:
            segs = [s for s in self._contiguous_segments(backup, self._continuity(backup))
                    if chosen_w.last_segment is None or s <= chosen_w.last_segment]
            index = self._index()
            wal_last = index.first_segment_after(segs, to_time) or wal_last
            index.save()
        self._check_disk(backup)
        skipped = [{"id": b.id, "damaged": b.damaged} for b in self.damaged_backups()]
        return RestorePlan(
            target=name, backup=backup, to_time=to_time, mode=mode,
            wal_first=chosen_w.first_segment, wal_last=wal_last, window=win,
            cleanup=tuple(dict.fromkeys(cleanup)),
            # The port is chosen now so that clients (a drill's service) can be pointed
            # at the target while it recovers, as an application would be.
            extra={"port": procs.free_port(), **({"skipped_damaged": skipped} if skipped else {})},
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
            if w.damaged and not w.empty and w.earliest <= when and w.latest is not None and when > w.latest:
                later = [x for x in win.windows if x.earliest > when and not x.empty]
                return (
                    f"{t} is past damaged WAL: segment {w.damaged[0]} cannot be read through, so "
                    f"recovery from backup {w.backup_id} cannot pass {format_time(w.latest)}"
                    + (f"; the next restorable time is {format_time(min(x.earliest for x in later))}"
                       if later else "")
                )
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
        result, cleaned = self.recovery.run(plan, reporter)
        return replace(result, cleaned_up=tuple(cleaned))


def _backup_from_meta(entry: Path) -> BackupInfo:
    """A backup from its folder's ``meta.json``; ``damaged`` says what is wrong with it.

    A truncated or edited file, a missing or unreadable field the restore needs (the
    finish time, the WAL range), is reported, never raised: one bad backup must not
    stop the others from being listed or restored.
    """
    location = str(entry / "data")

    def damaged(reason: str) -> BackupInfo:
        return BackupInfo(id=entry.name, kind="postgres", started_at=None, finished_at=None,
                          location=location, damaged=reason)

    try:
        data = json.loads((entry / "meta.json").read_text())
    except OSError as exc:
        return damaged(f"meta.json cannot be read: {exc.strerror or exc}")
    except ValueError as exc:
        return damaged(f"meta.json is not valid JSON (truncated?): {exc}")
    if not isinstance(data, dict):
        return damaged("meta.json is not a JSON object")
    if data.get("id", entry.name) != entry.name:
        return damaged(f"meta.json names backup {data.get('id')!r}, not {entry.name}")

    def when(key: str, required: bool) -> datetime | None:
        raw = data.get(key)
        if raw is None:
            if required:
                raise _BadMeta(f"meta.json has no {key}")
            return None
        try:
            value = datetime.fromisoformat(str(raw))
        except ValueError:
            raise _BadMeta(f"meta.json has a bad {key}: {str(raw)[:60]!r}") from None
        if value.tzinfo is None:
            raise _BadMeta(f"meta.json has a bad {key}: {str(raw)[:60]!r} has no UTC offset")
        return value

    try:
        started, finished = when("started_at", False), when("finished_at", True)
        for key in ("start_lsn", "stop_lsn"):
            try:
                wal.parse_lsn(str(data[key]))
            except KeyError:
                raise _BadMeta(f"meta.json has no {key}") from None
            except ValueError:
                raise _BadMeta(f"meta.json has a bad {key}: {str(data[key])[:40]!r}") from None
        timeline, size = data.get("timeline", 1), data.get("size_bytes")
        if isinstance(timeline, bool) or not isinstance(timeline, int) or timeline < 1:
            raise _BadMeta(f"meta.json has a bad timeline: {timeline!r}")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise _BadMeta(f"meta.json has a bad size_bytes: {size!r}")
    except _BadMeta as exc:
        return damaged(str(exc))
    return BackupInfo(
        id=entry.name, kind="postgres", started_at=started, finished_at=finished,
        size_bytes=size, start_lsn=str(data["start_lsn"]), stop_lsn=str(data["stop_lsn"]),
        timeline=timeline, location=location,
        extra={k: data[k] for k in ("system_identifier", "pg_version") if k in data},
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _BadMeta(Exception):
    """A field of a backup's meta.json is missing or wrong (the message says which)."""
