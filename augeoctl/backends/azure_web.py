"""The API's App Service slots on Azure: what each holds, deploying into staging, the swap.

The API is one web app (``webapp_name``) with a ``staging`` deployment slot beside its
production slot. A slot *holds* the release named by its app setting ``AUGEO_RELEASE``.
That setting is not a slot setting (it is not in the app's ``slotConfigNames``), so it
moves with the code when the slots are swapped; the settings that are sticky (the
environment's name, the database) stay with their slot. ``deploy`` runs after the pipeline
has put the code into the staging slot (``azure/webapps-deploy``): it sets the slot's
``AUGEO_RELEASE`` and restarts the slot. ``swap`` is ``POST .../slotsswap`` with
``{"targetSlot": "staging", "preserveVnet": true}``, a long-running operation that returns
once Azure reports it done.

App settings hold secrets (Key Vault references, connection strings): their values are
read and written back as a whole (``PUT .../config/appsettings`` replaces every setting)
and never reach output; only ``AUGEO_RELEASE`` is reported.

The migration path into the VNet (the server has private access only) is a GitHub-hosted
runner in the platform's VNet (docs/migrations-on-azure.md); ``azure_pg_dsn`` gives that
runner its connection: the pipeline identity's Entra principal name and an Entra access
token as the password, over TLS.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from augeoctl import azure
from augeoctl.backends.release import (
    PRODUCTION,
    SLOTS,
    STAGING,
    ReleaseBackend,
    SlotInfo,
    check_version,
)
from augeoctl.config import Environment
from augeoctl.errors import ConfigError, UsageError
from augeoctl.progress import Reporter

RELEASE_SETTING = "AUGEO_RELEASE"
ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
POSTGRES_DOMAIN = "postgres.database.azure.com"


def _check_slot(name: str) -> str:
    if name not in SLOTS:
        raise UsageError(f'"{name}" is not a slot', hint="use production or staging")
    return name


class AzureReleaseBackend(ReleaseBackend):
    """The production and staging slots of ``webapp_name``, through azure-mgmt-web."""

    def __init__(self, env: Environment, *, poll_interval: float | None = None) -> None:
        if not env.get("webapp_name"):
            raise ConfigError(f'environment "{env.name}" has no webapp_name',
                              hint=f"set webapp_name (the API's App Service app) in [environments.{env.name}]")
        self.env = env
        self.rg = str(env.get("resource_group"))
        self.webapp = str(env.get("webapp_name"))
        interval = env.get("poll_interval")
        self.poll_interval = poll_interval if poll_interval is not None else (
            float(interval) if interval is not None else None)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from azure.mgmt.web import WebSiteManagementClient

            self._client = WebSiteManagementClient(
                azure.credential(self.env), str(self.env.get("subscription_id")), **azure.client_kwargs(self.env))
        return self._client

    # -- reading ------------------------------------------------------------------------

    def _site(self, slot: str) -> Any:
        with azure.translated(f"reading the {slot} slot of web app {self.webapp}"):
            if slot == PRODUCTION:
                return self.client.web_apps.get(self.rg, self.webapp)
            return self.client.web_apps.get_slot(self.rg, self.webapp, slot)

    def _settings(self, slot: str) -> dict[str, str]:
        """Every app setting of the slot. Secrets among them: never shown."""
        with azure.translated(f"reading the app settings of the {slot} slot of web app {self.webapp}"):
            if slot == PRODUCTION:
                found = self.client.web_apps.list_application_settings(self.rg, self.webapp)
            else:
                found = self.client.web_apps.list_application_settings_slot(self.rg, self.webapp, slot)
        return dict(found.properties or {})

    def sticky_settings(self) -> list[str]:
        """The app settings that stay with their slot in a swap (``slotConfigNames``)."""
        with azure.translated(f"reading the slot settings of web app {self.webapp}"):
            names = self.client.web_apps.list_slot_configuration_names(self.rg, self.webapp)
        return list(names.app_setting_names or [])

    def _check_release_moves(self) -> None:
        """AUGEO_RELEASE must move with the code; as a slot setting a swap would leave each
        slot reporting the other's version."""
        if RELEASE_SETTING in self.sticky_settings():
            raise ConfigError(
                f"{RELEASE_SETTING} is a deployment slot setting of web app {self.webapp}: it would stay "
                "with its slot in a swap instead of moving with the code",
                hint=f"remove {RELEASE_SETTING} from the app's slot settings (Terraform: sticky_settings)",
            )

    def url(self, slot: str, host: str | None) -> str | None:
        """The slot's base URL for health probes: ``production_url``/``staging_url`` when
        configured, else https:// and the slot's default host name."""
        configured = self.env.get(f"{slot}_url")
        if configured:
            return str(configured).rstrip("/")
        return f"https://{host}" if host else None

    def slot(self, name: str) -> SlotInfo:
        _check_slot(name)
        site = self._site(name)
        version = self._settings(name).get(RELEASE_SETTING) or None
        host = getattr(site, "default_host_name", None)
        return SlotInfo(slot=name, version=version, url=self.url(name, host),
                        extra={"webapp": self.webapp, "hostname": host, "state": getattr(site, "state", None)})

    # -- changing -----------------------------------------------------------------------

    def _lro_kwargs(self) -> dict[str, Any]:
        return {"polling_interval": self.poll_interval} if self.poll_interval is not None else {}

    def deploy(self, artifact: str, slot: str, reporter: Reporter) -> SlotInfo:
        _check_slot(slot)
        if slot == PRODUCTION:
            raise UsageError("releases are deployed into the staging slot, never into production",
                             hint="deploy into staging, check it, then swap")
        version = check_version(artifact)
        self._check_release_moves()
        settings = self._settings(slot)
        settings[RELEASE_SETTING] = version
        from azure.mgmt.web.models import StringDictionary

        with reporter.step(f"set {RELEASE_SETTING}={version} on the {slot} slot"), azure.translated(
                f"updating the app settings of the {slot} slot of web app {self.webapp}"):
            # WebApps_UpdateApplicationSettingsSlot replaces every setting: the others are
            # written back as they were read.
            self.client.web_apps.update_application_settings_slot(
                self.rg, self.webapp, slot, StringDictionary(properties=settings))
        with reporter.step(f"restart the {slot} slot"), azure.translated(
                f"restarting the {slot} slot of web app {self.webapp}"):
            self.client.web_apps.restart_slot(self.rg, self.webapp, slot)
        return self.slot(slot)

    def swap(self, reporter: Reporter) -> None:
        self._check_release_moves()
        from azure.mgmt.web.models import CsmSlotEntity

        what = f"swapping the {STAGING} slot with production of web app {self.webapp}"
        with reporter.step(f"swap {STAGING} with {PRODUCTION}"), azure.translated(what):
            # preserveVnet: both slots keep the app's VNet integration (the data services
            # are reachable only through it).
            poller = self.client.web_apps.begin_swap_slot_with_production(
                self.rg, self.webapp, CsmSlotEntity(target_slot=STAGING, preserve_vnet=True),
                **self._lro_kwargs())
            poller.result()


# -- migrations: a connection to the Flexible Server from inside the VNet ------------------


def azure_pg_host(env: Environment) -> str:
    """The Flexible Server's host name: ``postgres_host``, else NAME.postgres.database.azure.com
    (with private access it resolves through the VNet's private DNS zone)."""
    return str(env.get("postgres_host") or f"{env.get('postgres_server')}.{POSTGRES_DOMAIN}")


def azure_pg_dsn(env: Environment, credential: Any = None) -> str:
    """A libpq URL for the migrations: the pipeline identity's Entra principal name
    (``migration_user``, else ``postgres_user``: a member of that Entra group logs in with
    the group's name), an Entra access token for Azure Database for PostgreSQL as the
    password, ``sslmode`` ``require`` (or ``postgres_sslmode``).

    The URL holds the token: pass it to the database driver, never show or log it.
    """
    user = env.get("migration_user") or env.get("postgres_user")
    if not user:
        raise ConfigError(f'environment "{env.name}" has neither migration_user nor postgres_user',
                          hint="set migration_user to the pipeline identity's Entra principal name "
                               "(its PostgreSQL role)")
    cred = credential if credential is not None else azure.credential(env)
    with azure.translated("getting a Microsoft Entra token for PostgreSQL"):
        token = str(cred.get_token(ENTRA_SCOPE).token)
    port = int(env.get("postgres_port", 5432))
    database = str(env.get("postgres_database", "augeo"))
    sslmode = str(env.get("postgres_sslmode", "require"))
    return (f"postgresql://{quote(str(user), safe='')}:{quote(token, safe='')}@{azure_pg_host(env)}:{port}/"
            f"{quote(database, safe='')}?sslmode={quote(sslmode, safe='')}")
