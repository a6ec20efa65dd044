"""The ``Platform`` interface: what every environment, local or Azure, offers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from augeoctl.config import Settings
from augeoctl.errors import RestoreRefused, UsageError
from augeoctl.progress import Reporter

if TYPE_CHECKING:
    from augeoctl.backends.base import PostgresBackend, RedisBackend, RestorePlan
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

    def plan_geo_restore(self, target: str | None) -> RestorePlan:
        """A restore of the newest geo-redundant backup into the paired region."""
        raise RestoreRefused(f"geo-restore is an Azure feature; {self.title} has one region",
                             hint="drop --geo, or use --env with an Azure environment")
