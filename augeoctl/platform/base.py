"""The ``Platform`` interface: what every environment, local or Azure, offers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from augeoctl.config import Settings
from augeoctl.errors import RestoreRefused, UsageError
from augeoctl.progress import Reporter
from augeoctl.timeparse import format_time

if TYPE_CHECKING:
    from augeoctl.backends.base import BackupInfo, PostgresBackend, RedisBackend, RestorePlan
    from augeoctl.backends.local_walsearch import SearchResult
    from augeoctl.backends.release import ReleaseBackend
    from augeoctl.dbroles import DatabaseRoles
    from augeoctl.dns.azure_source import AcsDomain
    from augeoctl.dns.drift import ExpectedRecord
    from augeoctl.health import HealthProbe
    from augeoctl.local.sandbox import Sandbox


@dataclass(frozen=True)
class WalProtection:
    """How the platform's PostgreSQL keeps committed WAL, and the RPO bound that follows.

    ``mode`` is a short name (``archive``, ``stream-async``, ``stream-sync``,
    ``azure-continuous``); ``synchronous`` is true when a commit is acknowledged only once
    its WAL is safe elsewhere, so no acknowledged commit may be lost with the server.
    """

    mode: str
    rpo_bound: str
    synchronous: bool = False


@dataclass(frozen=True)
class MigrationPoint:
    """The point a database can be restored to as it was before a migration.

    ``at`` is the time to give ``augeoctl restore --to-time``; ``kind`` says what backs
    it: ``base-backup`` (local: a base backup, then a named restore point at ``lsn``),
    ``on-demand-backup`` (Azure), or ``marked-time`` (a tier without on-demand backups:
    the automatic backups and continuous WAL cover the time).
    """

    at: datetime
    kind: str
    backup_id: str | None
    lsn: str | None = None
    restore_point: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"time": format_time(self.at), "kind": self.kind, "backup_id": self.backup_id,
                "lsn": self.lsn, "restore_point": self.restore_point, "note": self.note}


class Platform(ABC):
    """One environment: ``kind`` is "local" or "azure"; ``home`` holds reports and state."""

    kind: ClassVar[str]
    title: ClassVar[str]  # how messages name this kind of platform: "the local sandbox", "Azure"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def name(self) -> str:
        return self.settings.env.name

    @property
    def home(self) -> Path:
        return self.settings.home

    @abstractmethod
    def postgres(self) -> PostgresBackend:
        """Backups and point-in-time restores of the platform's PostgreSQL."""

    @abstractmethod
    def redis(self) -> RedisBackend:
        """RDB backups of the platform's Redis."""

    @abstractmethod
    def wal_protection(self) -> WalProtection:
        """How committed WAL is kept, which bounds what a restore can lose."""

    @abstractmethod
    def health(self) -> HealthProbe:
        """The environment's health sources: a snapshot for `augeoctl health`, feeds for the
        dashboard."""

    @abstractmethod
    def has_redis(self) -> bool:
        """Whether the environment has a Redis to back up (Azure: ``redis_name`` is set)."""

    @abstractmethod
    def service_url(self, reporter: Reporter) -> str:
        """The API a load test targets by default."""

    def database_roles(self) -> DatabaseRoles:
        """Where `db grant-identity` makes roles: a DSN of a role allowed to create them,
        and how this platform creates a principal's role."""
        raise UsageError(f"database roles are not available on {self.title}")

    def release(self) -> ReleaseBackend:
        """The API's two slots (production, staging) and the swap between them."""
        raise UsageError(f"releases are not available on {self.title}")

    # -- schema migrations ------------------------------------------------------------

    def migration_dsn(self) -> str:
        """Where Alembic connects to migrate the application database (a secret: never
        shown)."""
        raise UsageError(f"schema migrations are not available on {self.title}")

    def database_path_hint(self) -> str | None:
        """What an operator needs to reach the database when it cannot be reached."""
        return None

    def mark_migration_point(self, name: str, reporter: Reporter) -> MigrationPoint:
        """Take a backup and mark the point a restore brings the database back to as it is
        now, before a migration; ``name`` labels it where the platform can."""
        raise UsageError(f"schema migrations are not available on {self.title}")

    # -- what only some platforms offer: the others refuse with a usage error ----------

    @property
    def sandbox(self) -> Sandbox:
        """The local sandbox's servers."""
        raise UsageError(f'the sandbox is the local environment; "{self.name}" is an Azure environment',
                         hint="drop --env (or use --env local)")

    def email_domain(self, domain: str, reporter: Reporter) -> AcsDomain | None:
        """The ACS email domain's expected records and verification states; None where the
        environment has no email service."""
        return None

    def dns_zone_records(self, domain: str) -> list[ExpectedRecord]:
        """The records the environment's DNS zone holds for the domain."""
        raise UsageError("--expected-from azure needs an Azure environment",
                         hint="pass --env NAME of an environment in the config")

    def wal_search(self, since: datetime | None, until: datetime | None, min_rows: int,
                   reporter: Reporter) -> SearchResult:
        """The committed transactions that destroyed data, read from the archived WAL."""
        raise UsageError(f"the WAL of {self.title} cannot be read with pg_waldump",
                         hint="find the time in the application's logs or the server's audit log, "
                              "then `augeoctl restore --to-time`")

    def place_restore(self, plan: RestorePlan, subnet: str | None, private_dns_zone: str | None) -> RestorePlan:
        """The plan with the new server's network chosen (``--subnet``, ``--private-dns-zone``)."""
        if subnet is not None or private_dns_zone is not None:
            raise UsageError(f"--subnet and --private-dns-zone place an Azure server; {self.title} has no "
                             "virtual network", hint="drop them, or use --env with an Azure environment")
        return plan

    def redis_restore_source(self, backup_id: str | None) -> BackupInfo:
        """The backup ``restore --redis`` would start a new target from (the newest when no
        ID); refused where Redis is not restored into targets."""
        raise self._no_redis_targets()

    def restore_redis_target(self, backup_id: str | None, name: str) -> Any:
        """A NEW Redis started from a stored RDB (``restore --redis``); the live one is untouched."""
        raise self._no_redis_targets()

    def copy_back_redis_target(self, name: str, *, replace: bool, dry_run: bool) -> dict[str, Any]:
        """The keys of a Redis target copied into the live Redis (``targets copy-back``)."""
        raise self._no_redis_targets()

    def _no_redis_targets(self) -> RestoreRefused:
        return RestoreRefused(
            f"a Redis restore into a new target is a sandbox operation; {self.title} restores its cache "
            "by importing an RDB export into a Redis database",
            hint="follow runbooks/redis-loss.md (the Azure steps import the newest export from Blob storage)")

    def plan_geo_restore(self, target: str | None) -> RestorePlan:
        """A restore of the newest geo-replicated backup into the paired region."""
        raise RestoreRefused(f"geo-restore is an Azure feature; {self.title} has one region",
                             hint="drop --geo, or use --env with an Azure environment")
