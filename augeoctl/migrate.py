"""Schema migrations with a way back: what ``augeoctl migrate`` does.

``Migrator.plan`` validates everything before anything changes: the Alembic project
(its ini), the requested revision, the database's current revision and the revisions
an upgrade would run. ``Migrator.run`` then

1. marks the pre-migration point through the platform (``Platform.mark_migration_point``:
   locally a base backup and a named restore point, on Azure an on-demand backup or a
   marked time) and writes it into the migration's record,
   ``AUGEO_HOME/migrations/<id>.json``, before Alembic starts;
2. runs Alembic in process (``alembic.command.upgrade``), each revision committed on its
   own (``transaction_per_migration`` in the project's ``env.py``);
3. records how it ended. On failure, ``MigrationFailed`` says which revisions were
   applied (committed) before the one that failed, the backup, the pre-migration time
   and the exact ``augeoctl restore --to-time ...`` command that brings the database
   back as it was, into a new target.

``offline_sql`` is the dry run: the SQL Alembic would run (offline mode), nothing
changed, no backup. Where Alembic connects comes from ``Platform.migration_dsn()``; the
DSN is never shown or recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl.config import LOCAL
from augeoctl.errors import AugeoError, DependencyError, Interrupted, OperationFailed
from augeoctl.platform.base import MigrationPoint, Platform
from augeoctl.progress import Reporter
from augeoctl.schema import AlembicProject, MigrationError, Revision, shipped_ini
from augeoctl.timeparse import format_time

RECORDS = "migrations"  # AUGEO_HOME/migrations/<id>.json


class MigrationFailed(OperationFailed):
    """A migration failed after it started: the record (``result``) says what was applied,
    the pre-migration point and the restore command."""

    def __init__(self, message: str, *, result: dict[str, Any], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


@dataclass(frozen=True)
class MigrationPlan:
    """What a migration would do, decided before anything changes."""

    ini: Path
    shipped: bool  # the project shipped with augeoctl
    current: str | None
    revision: str  # as requested: head, an id
    target: tuple[str, ...]  # the revision id(s) it names
    pending: tuple[Revision, ...]
    extra_versions: tuple[Path, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"alembic_ini": str(self.ini), "shipped_project": self.shipped,
                "from_revision": self.current, "revision": self.revision,
                "to_revision": list(self.target), "pending": [r.to_dict() for r in self.pending]}


@dataclass
class MigrationRecord:
    """The migration's record, kept under AUGEO_HOME and returned as its result."""

    id: str
    environment: str
    plan: MigrationPlan
    started_at: datetime
    state: str = "marking"  # marking | running | succeeded | failed | interrupted
    point: MigrationPoint | None = None
    restore_command: str | None = None
    applied: list[str] = field(default_factory=list)
    failed_revision: str | None = None
    error: str | None = None
    revision_after: str | None = None
    finished_at: datetime | None = None
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "environment": self.environment, "state": self.state,
            "started_at": format_time(self.started_at), "finished_at": format_time(self.finished_at),
            **self.plan.to_dict(),
            "pre_migration_point": self.point.to_dict() if self.point else None,
            "restore_command": self.restore_command,
            "applied": list(self.applied), "failed_revision": self.failed_revision,
            "error": self.error, "revision_after": self.revision_after,
            "record": str(self.path) if self.path else None,
        }


def restore_command(point: MigrationPoint, environment: str) -> str:
    """The command that restores the database as it was at the pre-migration point."""
    env = "" if environment == LOCAL else f" --env {environment}"
    return f"augeoctl restore --to-time {format_time(point.at)}{env}"


class Migrator:
    """Migrations of one platform's application database with one Alembic project
    (``ini`` None: the one shipped with augeoctl; ``extra_versions``: more version
    locations on top of it, as the drill's)."""

    def __init__(self, platform: Platform, reporter: Reporter, *, ini: Path | None = None,
                 extra_versions: Sequence[Path] = ()) -> None:
        self.platform = platform
        self.reporter = reporter
        self.ini = ini
        self.extra_versions = tuple(extra_versions)

    def _project(self, dsn: str | None) -> AlembicProject:
        return AlembicProject(self.ini or shipped_ini(), dsn, extra_versions=self.extra_versions)

    def check(self, revision: str) -> tuple[str, ...]:
        """Validate the project and the revision without the database: the revision id(s)
        it names, or UsageError."""
        return self._project(None).resolve(revision)

    def plan(self, revision: str) -> MigrationPlan:
        """Validate the project and the revision, then read the database's revision; UsageError
        (nothing changed) when the input is wrong."""
        target = self.check(revision)  # bad input is refused before connecting
        project = self._project(self.platform.migration_dsn())
        try:
            current = project.current()
        except DependencyError as exc:
            raise DependencyError(exc.message, hint=self.platform.database_path_hint()) from None
        pending = project.pending(current, revision)
        return MigrationPlan(ini=project.ini, shipped=self.ini is None, current=current,
                             revision=revision, target=target, pending=tuple(pending),
                             extra_versions=self.extra_versions)

    def offline_sql(self, plan: MigrationPlan) -> str:
        """The SQL the planned upgrade would run; changes nothing."""
        return self._project(None).offline_sql(plan.current, plan.revision)

    def run(self, plan: MigrationPlan, *,
            on_point: Callable[[MigrationRecord], None] | None = None) -> MigrationRecord:
        """Mark the pre-migration point, then upgrade. ``on_point`` is called with the
        record once the point is marked, before Alembic starts (the drill journals it).
        Raises ``MigrationFailed`` (or ``Interrupted``) with the record as its result."""
        env = self.platform.name
        record = self._new_record(plan, env)
        self._save(record)
        try:
            record.point = self.platform.mark_migration_point(f"augeoctl-{record.id}", self.reporter)
        except (AugeoError, KeyboardInterrupt) as exc:  # no migration: the database is untouched
            failed = isinstance(exc, AugeoError)
            record.state = "failed" if failed else "interrupted"
            record.error = exc.message if isinstance(exc, AugeoError) else "interrupted"
            record.finished_at, record.revision_after = datetime.now(UTC), plan.current
            self._save(record)
            raise
        record.restore_command = restore_command(record.point, env)
        record.state = "running"
        self._save(record)
        if on_point is not None:
            on_point(record)
        project = self._project(self.platform.migration_dsn())
        target = plan.revision
        try:
            with self.reporter.step(f"alembic upgrade {plan.current or 'base'} -> {target} "
                                    f"({len(plan.pending)} revision(s))"):
                project.upgrade(target)
        except MigrationError as exc:
            self._ended(record, project, "failed", exc.args[0])
            raise MigrationFailed(self._failure(record), result=record.to_dict(),
                                  hint=self._hint(record)) from None
        except KeyboardInterrupt:
            self._ended(record, project, "interrupted", "interrupted")
            raise Interrupted(f"migration {record.id} interrupted; " + self._failure(record),
                              hint=self._hint(record)) from None
        self._ended(record, project, "succeeded", None)
        return record

    # -- the record ------------------------------------------------------------------------

    def _new_record(self, plan: MigrationPlan, env: str) -> MigrationRecord:
        folder = self.platform.home / RECORDS
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        base = "mig-" + now.strftime("%Y%m%dT%H%M%SZ")
        record_id, n = base, 1
        while (folder / f"{record_id}.json").exists():
            n += 1
            record_id = f"{base}-{n}"
        return MigrationRecord(id=record_id, environment=env, plan=plan, started_at=now,
                               path=folder / f"{record_id}.json")

    def _save(self, record: MigrationRecord) -> None:
        assert record.path is not None
        tmp = record.path.with_name(record.path.name + ".tmp")
        tmp.write_text(json.dumps(record.to_dict(), indent=2))
        os.replace(tmp, record.path)

    def _ended(self, record: MigrationRecord, project: AlembicProject, state: str,
               error: str | None) -> None:
        record.state, record.error = state, error
        record.finished_at = datetime.now(UTC)
        try:
            record.revision_after = project.current()
        except Exception as exc:  # the record is written whatever the database says now
            self.reporter.warn(f"could not read the database's revision after the migration: {exc}")
            record.revision_after = None
        ids = [r.id for r in record.plan.pending]
        if record.revision_after in ids:
            done = ids.index(record.revision_after) + 1
        elif state == "succeeded":
            done = len(ids)
        else:
            done = 0 if record.revision_after == record.plan.current else -1
        if done >= 0:
            record.applied = ids[:done]
            if state != "succeeded" and done < len(ids):
                record.failed_revision = ids[done]
        self._save(record)

    def _failure(self, record: MigrationRecord) -> str:
        point = record.point
        assert point is not None
        applied = ", ".join(record.applied) if record.applied else "none"
        backup = f"backup {point.backup_id}" if point.backup_id else "no backup (time marked)"
        return (f"migration {record.id} failed at revision {record.failed_revision or '?'}: {record.error}; "
                f"applied (committed) before the failure: {applied}; the database is at revision "
                f"{record.revision_after or 'unknown'}; pre-migration point {format_time(point.at)} "
                f"({backup}{', restore point ' + point.restore_point if point.restore_point else ''})")

    def _hint(self, record: MigrationRecord) -> str:
        return (f"to get the database as it was before the migration, restore it into a new target: "
                f"`{record.restore_command}`; record: {record.path}")
