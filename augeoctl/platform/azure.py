"""An Azure environment as a platform: Flexible Server, Azure Managed Redis or Azure Cache
for Redis, App Service (and its deployment slots), Application Insights, through the Azure
SDKs (imported lazily)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from augeoctl.errors import UsageError
from augeoctl.platform.base import MigrationPoint, Platform, WalProtection
from augeoctl.progress import Reporter

if TYPE_CHECKING:
    from augeoctl.backends.azure_pg import AzurePostgresBackend
    from augeoctl.backends.azure_redis import AzureRedisBackend
    from augeoctl.backends.azure_web import AzureReleaseBackend
    from augeoctl.backends.base import RestorePlan
    from augeoctl.dbroles import DatabaseRoles
    from augeoctl.dns.azure_source import AcsDomain
    from augeoctl.dns.drift import ExpectedRecord
    from augeoctl.health.azure import AzureHealth


class AzurePlatform(Platform):
    kind = "azure"
    title = "Azure"

    @property
    def postgres_server(self) -> str:
        """The name of the environment's Flexible Server."""
        return str(self.settings.env.get("postgres_server"))

    def postgres(self) -> AzurePostgresBackend:
        from augeoctl.backends.azure_pg import AzurePostgresBackend

        return AzurePostgresBackend(self.settings.env)

    def redis(self) -> AzureRedisBackend:
        from augeoctl.backends.azure_redis import AzureRedisBackend

        return AzureRedisBackend(self.settings.env)

    def release(self) -> AzureReleaseBackend:
        """The web app's production and staging slots (``webapp_name``)."""
        from augeoctl.backends.azure_web import AzureReleaseBackend

        return AzureReleaseBackend(self.settings.env)

    def migration_dsn(self) -> str:
        """The Flexible Server as the pipeline identity's Entra principal, an Entra token as
        the password, over TLS. The server is private: this works from inside its VNet (the
        deployment pipeline's private runner, docs/migrations-on-azure.md)."""
        from augeoctl.backends.azure_web import azure_pg_dsn

        return azure_pg_dsn(self.settings.env)

    def database_path_hint(self) -> str | None:
        return ("the Flexible Server has private access only: run this from inside its VNet, such as "
                "the deployment pipeline's private runner (docs/migrations-on-azure.md), as the "
                "migration_user Entra principal")

    def mark_migration_point(self, name: str, reporter: Reporter) -> MigrationPoint:
        """An on-demand backup; on a tier that has none (Burstable) or when Azure's limit of
        on-demand backups is reached, the time marked (the automatic backups and the
        continuous WAL cover it)."""
        try:
            backup = self.postgres().create_backup(reporter)
        except UsageError as exc:
            reporter.warn(f"no on-demand backup ({exc.message}): the pre-migration time is marked instead")
            return MigrationPoint(at=datetime.now(UTC), kind="marked-time", backup_id=None, note=exc.message)
        return MigrationPoint(at=datetime.now(UTC), kind="on-demand-backup", backup_id=backup.id)

    def database_roles(self) -> DatabaseRoles:
        """Entra principals on the Flexible Server, made by the pipeline identity (an Entra
        administrator of the server: ``migration_user``) with a token as its password, from
        inside the VNet (the migration runner; docs/migrations-on-azure.md)."""
        from augeoctl.backends.azure_web import azure_pg_dsn
        from augeoctl.dbroles import DatabaseRoles, EntraPrincipals

        env = self.settings.env
        return DatabaseRoles(dsn=lambda: azure_pg_dsn(env), creator=EntraPrincipals(),
                             where=f"Flexible Server {self.postgres_server}")

    def plan_geo_restore(self, target: str | None) -> RestorePlan:
        return self.postgres().plan_geo_restore(target)

    def place_restore(self, plan: RestorePlan, subnet: str | None, private_dns_zone: str | None) -> RestorePlan:
        # Without overrides the new server takes the source's network (from the plan).
        return self.postgres().with_network(plan, subnet, private_dns_zone)

    def has_redis(self) -> bool:
        return bool(self.settings.env.get("redis_name"))

    def service_url(self, reporter: Reporter) -> str:
        api_url = self.settings.env.get("api_url")
        if not api_url:
            raise UsageError(f'environment "{self.name}" has no api_url',
                             hint="pass --host URL or set api_url in its [environments.NAME] table")
        return str(api_url)

    def email_domain(self, domain: str, reporter: Reporter) -> AcsDomain | None:
        if not self.settings.env.get("email_service"):
            reporter.warn(f"environment {self.name!r} has no email_service: ACS comparison skipped")
            return None
        from augeoctl.dns.azure_source import acs_domain

        with reporter.step(f"ACS domain {domain} ({self.name})"):
            return acs_domain(self.settings.env, domain)

    def dns_zone_records(self, domain: str) -> list[ExpectedRecord]:
        from augeoctl.dns.azure_source import azure_dns_expected

        return azure_dns_expected(self.settings.env, domain)

    def health(self) -> AzureHealth:
        from augeoctl.health.azure import AzureHealth

        return AzureHealth(self.settings.env, postgres=self.postgres(), redis=self.redis())

    def wal_protection(self) -> WalProtection:
        # Flexible Server keeps WAL continuously; its documented point-in-time restore
        # RPO is up to 5 minutes.
        return WalProtection("azure-continuous", "Azure point-in-time restore: RPO up to 5 minutes")
