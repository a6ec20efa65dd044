"""The local sandbox as a platform: real PostgreSQL, Redis and the reference service on
loopback, under ``AUGEO_HOME``. Besides the backends it offers what only a sandbox can
do: damage and repair it (``disasters``), Redis restore targets, the reference service
against recovered data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augeoctl.backends.base import BackupInfo, RestorePlan
from augeoctl.backends.local_pg import LocalPostgresBackend
from augeoctl.backends.local_redis import LocalRedisBackend
from augeoctl.backends.local_walsearch import SearchResult
from augeoctl.config import LOCAL, Environment, Settings
from augeoctl.local.sandbox import Sandbox
from augeoctl.platform import local_ops
from augeoctl.platform.base import MigrationPoint, Platform, WalProtection
from augeoctl.platform.local_ops import ReferenceService, SandboxDisasters
from augeoctl.progress import Reporter

if TYPE_CHECKING:
    from augeoctl.backends.local_release import LocalReleaseBackend
    from augeoctl.dbroles import DatabaseRoles
    from augeoctl.health.local import LocalHealth

__all__ = ["LocalPlatform", "RedisTarget", "ReferenceService", "SandboxDisasters"]


@dataclass(frozen=True)
class RedisTarget:
    """A NEW redis-server started from a stored RDB."""

    name: str
    url: str
    backup_id: str
    keys: int


class LocalPlatform(Platform):
    kind = "local"
    title = "the local sandbox"

    @classmethod
    def for_sandbox(cls, sandbox: Sandbox) -> LocalPlatform:
        """The platform of a sandbox made by the caller (its home and settings)."""
        env = Environment(name=LOCAL, kind=LOCAL, settings=dict(sandbox.settings))
        return cls(Settings(env=env, home=sandbox.home))

    @cached_property
    def sandbox(self) -> Sandbox:
        return Sandbox(self.settings.home, self.settings.env.settings)

    def postgres(self) -> LocalPostgresBackend:
        return LocalPostgresBackend(self.sandbox)

    def redis(self) -> LocalRedisBackend:
        return LocalRedisBackend(self.sandbox)

    def has_redis(self) -> bool:
        return True

    def release(self) -> LocalReleaseBackend:
        from augeoctl.backends.local_release import LocalReleaseBackend

        return LocalReleaseBackend(self.sandbox)

    def service_url(self, reporter: Reporter) -> str:
        """The sandbox's reference service, bringing the sandbox up when needed."""
        return local_ops.service_url(self.sandbox, self.home, reporter)

    def health(self) -> LocalHealth:
        from augeoctl.health.local import LocalHealth

        return LocalHealth(self.sandbox, self.postgres())

    def wal_protection(self) -> WalProtection:
        mode = self.sandbox.wal_streaming
        if mode == "sync":
            return WalProtection("stream-sync", "synchronous pg_receivewal: a commit is acknowledged "
                                 "only once streamed", synchronous=True)
        if mode == "async":
            return WalProtection("stream-async", "asynchronous pg_receivewal: RPO bounded by the streaming lag")
        return WalProtection("archive", "archiving only: RPO bounded by archive_timeout = "
                             f"{self.sandbox.archive_timeout} s")

    def database_roles(self) -> DatabaseRoles:
        """Plain login roles in the sandbox's application database, made as its superuser."""
        from augeoctl.dbroles import DatabaseRoles, PlainRoles

        return DatabaseRoles(dsn=self.sandbox.dsn, creator=PlainRoles(), where="the sandbox's PostgreSQL")

    # -- the sandbox's servers ------------------------------------------------------

    def ensure_up(self, reporter: Reporter) -> None:
        """Start the sandbox if it is not running."""
        self.sandbox.ensure_up(reporter)

    def pg_dsn(self) -> str:
        return self.sandbox.dsn()

    def redis_url(self) -> str:
        return self.sandbox.redis_url()

    @property
    def targets_dir(self) -> Path:
        """Where restores make their targets (the disk they need is taken there)."""
        return self.sandbox.targets_dir

    def planned_dsn(self, plan: RestorePlan) -> str:
        """The DSN a planned restore's target will answer on, known before it runs."""
        return self.sandbox.dsn(port=int(plan.extra["port"]))

    def wal_search(self, since: datetime | None, until: datetime | None, min_rows: int,
                   reporter: Reporter) -> SearchResult:
        """Archives the current segment first (when the sandbox runs), so the newest commits
        are searched too."""
        if self.sandbox.status().postgres.running:
            with reporter.step("archive the current WAL segment"):
                self.archive_current_wal()
        else:
            reporter.warn("PostgreSQL is not running: only WAL already archived is searched")
        return self.postgres().search_damage(since, until, min_rows, reporter)

    def archive_current_wal(self, timeout: float = 120) -> None:
        """Close the current WAL segment and wait until the archive holds it."""
        local_ops.archive_current_wal(self.pg_dsn(), timeout)

    # -- schema migrations --------------------------------------------------------------

    def migration_dsn(self) -> str:
        return self.pg_dsn()

    def mark_migration_point(self, name: str, reporter: Reporter) -> MigrationPoint:
        """A base backup, then a named restore point (``pg_create_restore_point``) and its
        time; the WAL holding them is archived before this returns, so ``augeoctl restore
        --to-time`` that time works at once."""
        import psycopg

        from augeoctl import drivers

        backup = self.postgres().create_backup(reporter)
        with reporter.step("pre-migration point"), drivers.translated("marking the pre-migration point"), \
                psycopg.connect(self.pg_dsn(), autocommit=True) as conn:
            lsn = conn.execute("SELECT pg_create_restore_point(%s)::text", (name,)).fetchone()[0]  # type: ignore[index]
            at = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
        # A commit after the point (archive_current_wal makes one) lets a restore stop there.
        self.archive_current_wal()
        return MigrationPoint(at=at, kind="base-backup", backup_id=backup.id, lsn=str(lsn),
                              restore_point=name)

    @cached_property
    def disasters(self) -> SandboxDisasters:
        return SandboxDisasters(self.sandbox)

    # -- beside the sandbox -----------------------------------------------------------

    def redis_restore_source(self, backup_id: str | None) -> BackupInfo:
        return self.redis().get_backup(backup_id)

    def restore_redis_target(self, backup_id: str | None, name: str) -> RedisTarget:
        made = LocalRedisBackend(self.sandbox).restore_target(backup_id, name)
        return RedisTarget(name=name, url=made["url"], backup_id=made["backup_id"], keys=int(made["keys"]))

    def drop_redis_target(self, name: str) -> None:
        LocalRedisBackend(self.sandbox).drop_target(name)

    def copy_back_redis_target(self, name: str, *, replace: bool, dry_run: bool) -> dict[str, Any]:
        return LocalRedisBackend(self.sandbox).copy_back(name, replace=replace, dry_run=dry_run)

    def start_service(self, pg_dsn: str, redis_url: str, folder: Path) -> ReferenceService:
        """The reference service against the given data; pid file and log in ``folder``."""
        return ReferenceService.start(pg_dsn, redis_url, folder)
