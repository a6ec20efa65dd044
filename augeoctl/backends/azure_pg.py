"""Azure Database for PostgreSQL Flexible Server: backups and point-in-time restore.

A restore is always a NEW server, tagged as made by augeoctl: ``PointInTimeRestore`` in
the source's region, or ``GeoRestore`` in the paired region (``azure_regions``), both with
``pointInTimeUTC`` and the source's network (delegated subnet, private DNS zone, public
access) unless overridden. Azure does not copy firewall rules or server parameters to
the new server, so the modifiable ones are re-applied from the source (read-only ones
are skipped and named; static ones are followed by a restart); then the tool waits
until the server accepts connections and verifies its network and data with queries.
A failure after Azure accepted the PUT names the server left behind and how to drop it. Database
credentials are obtained at run time (a Microsoft Entra token, or the admin password
from Key Vault) and are never printed, logged or written to reports.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from augeoctl import azure
from augeoctl.backends import verification
from augeoctl.backends.azure_network import SUBNET_ID, check_subnet
from augeoctl.backends.azure_regions import normalized, paired_region
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
from augeoctl.config import Environment
from augeoctl.errors import (
    AugeoError,
    DependencyError,
    NotFound,
    OperationFailed,
    RestoreError,
    RestoreRefused,
    TargetExists,
    UsageError,
)
from augeoctl.progress import Reporter
from augeoctl.timeparse import format_time

PROVIDER = "Microsoft.DBforPostgreSQL"
TAG_CREATED_BY = "created-by"
TAG_VALUE = "augeoctl"
ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
FUTURE_TOLERANCE = timedelta(seconds=1)


def _now() -> datetime:
    return datetime.now(UTC)


def _val(value: Any) -> str | None:
    """The string of an SDK enum member (or of a plain string)."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


_DNS_ZONE_ID = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
                          r"privateDnsZones/[^/]+", re.IGNORECASE)


def _network_of(server: Any) -> dict[str, Any]:
    """A server's network properties (ServerGetWithVnet.json), None where unset."""
    net = server.properties.network if server.properties else None
    return {
        "public_network_access": _val(getattr(net, "public_network_access", None)),
        "delegated_subnet_resource_id": getattr(net, "delegated_subnet_resource_id", None),
        "private_dns_zone_arm_resource_id": getattr(net, "private_dns_zone_arm_resource_id", None),
    }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class AzurePostgresBackend(PostgresBackend):
    name = "azure"

    def __init__(self, env: Environment, *, poll_interval: float | None = None) -> None:
        self.env = env
        self.rg = str(env.get("resource_group"))
        self.server_name = str(env.get("postgres_server"))
        interval = env.get("poll_interval")
        self.poll_interval = poll_interval if poll_interval is not None else (
            float(interval) if interval is not None else None)
        self._client: Any = None
        self._credential: Any = None

    # -- clients ----------------------------------------------------------------

    @property
    def credential(self) -> Any:
        if self._credential is None:
            self._credential = azure.credential(self.env)
        return self._credential

    @property
    def client(self) -> Any:
        if self._client is None:
            from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

            self._client = PostgreSQLManagementClient(
                self.credential, str(self.env.get("subscription_id")), **azure.client_kwargs(self.env)
            )
        return self._client

    def _lro_kwargs(self) -> dict[str, Any]:
        return {"polling_interval": self.poll_interval} if self.poll_interval is not None else {}

    def source(self) -> Any:
        with azure.translated(f"reading server {self.server_name}"):
            return self.client.servers.get(self.rg, self.server_name)

    def source_problem(self) -> str | None:
        state = getattr(self.source().properties, "state", None)
        if (_val(state) or "").lower() != "ready":
            return f"the server is {_val(state)}, not Ready"
        return None

    def _exists(self, name: str) -> Any | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with azure.translated(f"checking for server {name}"):
                return self.client.servers.get(self.rg, name)
        except NotFound:
            return None
        except ResourceNotFoundError:  # pragma: no cover - translated above
            return None

    # -- backups ----------------------------------------------------------------

    def list_backups(self) -> list[BackupInfo]:
        with azure.translated(f"listing backups of {self.server_name}"):
            items = list(self.client.backups_automatic_and_on_demand.list_by_server(self.rg, self.server_name))
        out = []
        for b in items:
            props = b.properties
            done = _aware(props.completed_time) if props else None
            out.append(BackupInfo(
                id=str(b.name), kind="postgres", started_at=None, finished_at=done,
                location=str(b.id), extra={"backup_type": _val(props.backup_type) if props else None,
                                           "source": _val(props.source) if props else None},
            ))
        out.sort(key=lambda x: x.finished_at or datetime.min.replace(tzinfo=UTC))
        return out

    def backup_settings(self) -> dict[str, Any]:
        src = self.source()
        backup = src.properties.backup if src.properties else None
        return {
            "server": self.server_name,
            "tier": _val(src.sku.tier) if src.sku else None,
            "retention_days": backup.backup_retention_days if backup else None,
            "geo_redundant_backup": _val(backup.geo_redundant_backup) if backup else None,
            "earliest_restore_date": format_time(_aware(backup.earliest_restore_date)) if backup else None,
        }

    def managed_retention(self) -> dict[str, Any] | None:
        st = self.backup_settings()
        return {"managed_by": "azure", "server": st["server"], "retention_days": st["retention_days"],
                "geo_redundant_backup": st["geo_redundant_backup"],
                "earliest_restore_date": st["earliest_restore_date"]}

    def window(self) -> RestorableWindow:
        src = self.source()
        backup = src.properties.backup if src.properties else None
        earliest = _aware(backup.earliest_restore_date) if backup else None
        if earliest is None:
            return RestorableWindow(windows=())
        # Azure backs up continuously; the newest restorable point trails now by at
        # most a few minutes (its documented RPO for point-in-time restore).
        return RestorableWindow(windows=(Window(backup_id="continuous", earliest=earliest, latest=_now()),))

    def create_backup(self, reporter: Reporter) -> BackupInfo:
        src = self.source()
        tier = _val(src.sku.tier) or "" if src.sku else ""
        if tier.lower() == "burstable":
            raise UsageError(
                f"server {self.server_name} is on the Burstable tier, which does not allow on-demand backups",
                hint="rely on the automatic backups (`augeoctl backup list`) or move to General Purpose",
            )
        existing = [b for b in self.list_backups()
                    if "demand" in (b.extra.get("backup_type") or "").lower()]
        if len(existing) >= 7:
            raise UsageError(
                f"server {self.server_name} already has {len(existing)} on-demand backups (Azure allows 7)",
                hint="delete an old on-demand backup first",
            )
        name = "augeoctl-" + _now().strftime("%Y%m%dt%H%M%Sz")
        started = _now()
        with reporter.step(f"on-demand backup {name}"), azure.translated(f"backup of {self.server_name}"):
            poller = self.client.backups_automatic_and_on_demand.begin_create(
                self.rg, self.server_name, name, **self._lro_kwargs())
            result = self._wait(poller, reporter)
        props = result.properties if result is not None else None
        return BackupInfo(id=name, kind="postgres", started_at=started,
                          finished_at=_aware(props.completed_time) if props and props.completed_time else _now(),
                          location=str(getattr(result, "id", "")),
                          extra={"backup_type": _val(props.backup_type) if props else None})

    def verify_backup(self, backup_id: str | None, reporter: Reporter) -> VerifyResult:
        backups = self.list_backups()
        if backup_id is not None and backup_id not in {b.id for b in backups}:
            raise NotFound(f'no backup "{backup_id}" on server {self.server_name}')
        settings = self.backup_settings()
        checks = [
            Check("backups-listed", bool(backups), f"{len(backups)} backup(s) reported by Azure"),
            Check("restorable-window", settings["earliest_restore_date"] is not None,
                  f"earliest restore point {settings['earliest_restore_date']}"),
        ]
        # Azure's backups cannot be read directly: the proof is a test restore
        # (`augeoctl restore` or `augeoctl dr-drill`).
        return VerifyResult(backup_id or "continuous", "postgres", tuple(checks))

    # -- restore ------------------------------------------------------------------

    def plan_restore(self, to_time: datetime | None, target: str | None, *,
                     now: datetime | None = None) -> RestorePlan:
        return self._plan(to_time, target, now, geo=False)

    def plan_geo_restore(self, target: str | None, *, now: datetime | None = None) -> RestorePlan:
        """A restore of the newest geo-replicated backup into the paired region: Azure offers
        no point in time there (Microsoft's backup documentation: "you can restore only to the
        last available backup data that's available at the paired region")."""
        return self._plan(None, target, now, geo=True)

    def _plan(self, to_time: datetime | None, target: str | None, now: datetime | None,
              geo: bool) -> RestorePlan:
        now = now or _now()
        if to_time is not None and to_time > now + FUTURE_TOLERANCE:
            raise RestoreRefused(f"{format_time(to_time)} is in the future (now is {format_time(now)})")
        src = self.source()
        win = self.window()
        earliest = win.earliest
        if earliest is None:
            raise RestoreRefused(f"server {self.server_name} reports no restorable window yet")
        location = str(src.location)
        if geo:
            backup_settings = src.properties.backup if src.properties else None
            if not backup_settings or (_val(backup_settings.geo_redundant_backup) or "").lower() != "enabled":
                raise RestoreRefused(
                    f"server {self.server_name} does not have geo-redundant backups",
                    hint="geo-restore needs geo_redundant_backup enabled (it is set when the server is created)",
                )
            location = self._geo_location(location)
        if to_time is not None and to_time < earliest:
            raise RestoreRefused(
                f"{format_time(to_time)} is before the earliest restorable time {format_time(earliest)}",
                hint=f"restorable window: {format_time(earliest)} .. now",
            )
        name = check_target_name(target) if target else "pitr-" + (to_time or now).strftime("%Y%m%d-%H%M%S")
        if name == self.server_name:
            raise RestoreRefused("the target must be a new server, not the source")
        if self._exists(name) is not None:
            raise TargetExists(name, f" (a server in {self.rg})")
        backup = BackupInfo(id="continuous", kind="postgres", started_at=None, finished_at=earliest,
                            location=str(src.id))
        network = _network_of(src)
        if geo and network.get("delegated_subnet_resource_id"):
            # A delegated subnet belongs to one region: the source's cannot hold a server
            # in the paired region. Checked again by with_network when --subnet is given.
            network["delegated_subnet_resource_id"] = None
            network["needs_subnet"] = True
        return RestorePlan(
            target=name, backup=backup, to_time=to_time, mode="geo" if geo else ("time" if to_time else "end"),
            wal_first=None, wal_last=None, window=win,
            extra={"source_server": self.server_name, "location": location, "network": network},
        )

    def _geo_location(self, source_location: str) -> str:
        """The region of a geo-restore: the ``geo_location`` setting, else the Azure pair."""
        configured = self.env.get("geo_location")
        region = str(configured) if configured else paired_region(source_location)
        if region is None:
            raise RestoreRefused(
                f"region {source_location} of server {self.server_name} has no Azure region pair",
                hint="set geo_location in the environment's config to the region that holds its geo-backups",
            )
        if normalized(region) == normalized(source_location):
            raise RestoreRefused(f"geo_location {region} is the server's own region",
                                 hint="a geo-restore goes to another region; use a point-in-time restore here")
        return region

    def with_network(self, plan: RestorePlan, subnet: str | None, private_dns_zone: str | None) -> RestorePlan:
        """The plan with the new server's network replaced by ``--subnet`` / ``--private-dns-zone``."""
        network = dict(plan.extra.get("network") or {})
        if subnet is not None:
            if not SUBNET_ID.fullmatch(subnet):
                raise UsageError(f"--subnet {subnet!r} is not a subnet resource id",
                                 hint="use /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Network/"
                                      "virtualNetworks/VNET/subnets/SUBNET (a subnet delegated to "
                                      "Microsoft.DBforPostgreSQL/flexibleServers)")
            network["delegated_subnet_resource_id"] = subnet
            network["public_network_access"] = "Disabled"
            network.pop("needs_subnet", None)
        if private_dns_zone is not None:
            if not _DNS_ZONE_ID.fullmatch(private_dns_zone):
                raise UsageError(f"--private-dns-zone {private_dns_zone!r} is not a private DNS zone resource id",
                                 hint="use /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Network/"
                                      "privateDnsZones/NAME.postgres.database.azure.com")
            network["private_dns_zone_arm_resource_id"] = private_dns_zone
        if network.get("delegated_subnet_resource_id") and not network.get("private_dns_zone_arm_resource_id"):
            raise UsageError("a server in a delegated subnet needs a private DNS zone",
                             hint="add --private-dns-zone with the zone linked to the subnet's virtual network")
        if network.get("needs_subnet"):
            raise RestoreRefused(
                f"server {self.server_name} is in a virtual network; its subnet cannot hold a server in "
                f"{plan.extra.get('location')}",
                hint="give --subnet (a delegated subnet in the target region) and --private-dns-zone")
        if network.get("delegated_subnet_resource_id"):
            # Its region and delegation, before anything is created (Azure would refuse the
            # server only after the restore was asked for).
            check_subnet(self.env, str(network["delegated_subnet_resource_id"]),
                         str(plan.extra.get("location") or ""), self.credential)
        return replace(plan, extra={**plan.extra, "network": network})

    def restore(self, plan: RestorePlan, reporter: Reporter) -> RestoreResult:
        from azure.mgmt.postgresqlflexibleservers import models

        network = dict(plan.extra.get("network") or {})
        if network.pop("needs_subnet", False):
            raise RestoreRefused(
                f"server {self.server_name} is in a virtual network; its subnet cannot hold a server in "
                f"{plan.extra.get('location')}",
                hint="give --subnet (a delegated subnet in the target region) and --private-dns-zone")
        src = self.source()
        phases: list[Phase] = []
        t0 = _now()
        location = str(plan.extra.get("location") or src.location)
        # pointInTimeUTC is required for PointInTimeRestore and GeoRestore (the SDK's
        # ServerProperties.point_in_time_utc; examples ServerCreatePointInTimeRestore.json and
        # ServerCreateGeoRestore.json). A geo-restore asks for now, as
        # `az postgres flexible-server geo-restore` does without --restore-time: Azure restores
        # the newest geo-replicated point.
        point = plan.to_time or _now() - timedelta(seconds=1)
        props: dict[str, Any] = {"source_server_resource_id": src.id, "point_in_time_utc": point,
                                 "create_mode": "GeoRestore" if plan.mode == "geo" else "PointInTimeRestore"}
        wanted = {k: v for k, v in network.items() if v}
        if wanted:
            # The source's network (ServerGetWithVnet.json) unless --subnet / --private-dns-zone.
            props["network"] = models.Network(**wanted)
        all_tags = {TAG_CREATED_BY: TAG_VALUE, "augeoctl-source": self.server_name,
                    "augeoctl-point-in-time": format_time(point) or ""}
        all_tags.update(plan.labels)
        body = models.Server(location=location, tags=all_tags, properties=models.ServerProperties(**props))
        leftover = (f'server "{plan.target}" exists in {self.rg} (billed) and was NOT reported as restored; '
                    f"remove it with `augeoctl targets drop {plan.target} --env {self.env.name}`")
        try:
            with reporter.step(f"Azure restore into new server {plan.target}"), \
                    azure.translated(f"restore of {self.server_name} into {plan.target}"):
                poller = self.client.servers.begin_create_or_update(self.rg, plan.target, body, **self._lro_kwargs())
                server = self._wait(poller, reporter)
        except OperationFailed as exc:
            half = self._exists(plan.target)
            hint = (f"a half-made {leftover}" if half is not None else "no server was left behind")
            raise RestoreError(f"the restore failed in Azure: {exc.message}", hint=hint) from None
        phases.append(Phase("azure_restore", t0, _now()))
        try:
            return self._after_create(plan, server, location, point, wanted, phases, reporter)
        except AugeoError as exc:
            # Every failure after Azure accepted the PUT leaves a server behind: name it.
            if "targets drop" not in (exc.hint or ""):
                exc.hint = f"{exc.hint}; {leftover}" if exc.hint else leftover
            raise

    def _after_create(self, plan: RestorePlan, server: Any, location: str, point: datetime,
                      network: dict[str, str], phases: list[Phase], reporter: Reporter) -> RestoreResult:
        t1 = _now()
        with reporter.step("re-apply firewall rules and server parameters"):
            applied = self._reapply(plan.target, private=bool(network.get("delegated_subnet_resource_id")),
                                    reporter=reporter)
        phases.append(Phase("reconfigure", t1, _now()))
        if applied["static"]:
            # Static parameters take effect only after a restart (isDynamicConfig false).
            t_restart = _now()
            with reporter.step(f"restart {plan.target} for static parameters"), \
                    azure.translated(f"restarting server {plan.target}"):
                self._wait(self.client.servers.begin_restart(self.rg, plan.target, **self._lro_kwargs()), reporter)
            phases.append(Phase("restart", t_restart, _now()))
            applied["pending_restart"] = self._pending_restart(plan.target, applied["static"])
            if applied["pending_restart"]:
                reporter.warn("still pending a restart on the new server: " + ", ".join(applied["pending_restart"]))

        t2 = _now()
        fqdn = server.properties.fully_qualified_domain_name if server.properties else None
        if not fqdn:
            raise RestoreError(f"server {plan.target} has no host name yet")
        private = bool(network.get("delegated_subnet_resource_id")) or (
            str(network.get("public_network_access") or "").lower() == "disabled")
        with reporter.step("wait for connections"):
            self._wait_connectable(fqdn, reporter, private=private, network=network, target=plan.target)
        phases.append(Phase("connect", t2, _now()))

        t3 = _now()
        with reporter.step("verify (network, queries)"):
            checks = [self._network_check(server, network)]
            query_checks, tables, estimated, verify_mode = self._verify(fqdn, plan.verify)
            checks += query_checks
        phases.append(Phase("verify", t3, _now()))
        if not all(c.ok for c in checks):
            bad = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
            raise RestoreError(f"server {plan.target} failed verification: {bad}",
                               hint=f"inspect it, then `augeoctl targets drop {plan.target} --env {self.env.name}`")
        return RestoreResult(
            target=plan.target, dsn=self._dsn(fqdn),
            backup_id="continuous", requested=plan.to_time, reached=point if plan.mode != "geo" else None,
            phases=tuple(phases), verification=tuple(checks), tables=tables,
            extra={"mode": plan.mode, "server_id": getattr(server, "id", None), "location": location,
                   "verify": verify_mode, **({"estimated_tables": estimated} if estimated else {}),
                   "reapplied": applied, "network": network},
        )

    def _network_check(self, server: Any, wanted: dict[str, str]) -> Check:
        """Whether the new server got the network it was asked for."""
        got = _network_of(server)
        wrong = [f"{k} is {got.get(k) or 'unset'}, not {v}" for k, v in wanted.items()
                 if v and (got.get(k) or "").lower() != str(v).lower()]
        if wrong:
            return Check("network", False, "; ".join(wrong))
        where = got.get("delegated_subnet_resource_id")
        return Check("network", True, f"subnet {where.rsplit('/', 1)[-1]}, private DNS zone "
                     f"{(got.get('private_dns_zone_arm_resource_id') or '').rsplit('/', 1)[-1]}" if where
                     else f"public network access {got.get('public_network_access') or 'default'}")

    def _wait(self, poller: Any, reporter: Reporter) -> Any:
        """Wait for a long-running operation, showing its status and elapsed time."""
        start = time.monotonic()
        while not poller.done():
            reporter.status(f"Azure operation {poller.status()} ({time.monotonic() - start:.0f} s)")
            poller.wait(timeout=1.0)
        return poller.result()

    def _reapply(self, target: str, *, private: bool, reporter: Reporter) -> dict[str, Any]:
        """Copy what a restore does not: firewall rules and the source's modifiable overrides.

        Azure lists parameters it manages itself as ``user-override`` with ``isReadOnly``
        (archive_command, archive_mode ... in ConfigurationsListByServer.json) and refuses
        a PUT of them: they are skipped and named. Static parameters (``isDynamicConfig``
        false) are applied and returned in ``static``; the caller restarts the server.
        """
        from azure.mgmt.postgresqlflexibleservers import models

        rules: list[Any] = []
        if not private:  # a server in a delegated subnet has no firewall rules
            with azure.translated(f"reading firewall rules of {self.server_name}"):
                rules = list(self.client.firewall_rules.list_by_server(self.rg, self.server_name))
        for rule in rules:
            with azure.translated(f"firewall rule {rule.name} on {target}"):
                self.client.firewall_rules.begin_create_or_update(
                    self.rg, target, rule.name,
                    models.FirewallRule(properties=models.FirewallRuleProperties(
                        start_ip_address=rule.properties.start_ip_address,
                        end_ip_address=rule.properties.end_ip_address)),
                    **self._lro_kwargs(),
                ).result()
        with azure.translated(f"reading server parameters of {self.server_name}"):
            configs = list(self.client.configurations.list_by_server(self.rg, self.server_name))
        overrides = [c for c in configs if c.properties and (c.properties.source or "") == "user-override"]
        read_only = sorted(str(c.name) for c in overrides if c.properties.is_read_only)
        changed = [c for c in overrides if not c.properties.is_read_only]
        if read_only:
            reporter.warn("not re-applied, read-only (managed by Azure): " + ", ".join(read_only))
        for c in changed:
            with azure.translated(f"server parameter {c.name} on {target}"):
                self.client.configurations.begin_put(
                    self.rg, target, c.name,
                    models.ConfigurationForUpdate(properties=models.ConfigurationProperties(
                        value=c.properties.value, source="user-override")),
                    **self._lro_kwargs(),
                ).result()
        return {"firewall_rules": len(rules), "server_parameters": len(changed),
                "parameters": sorted(str(c.name) for c in changed), "read_only_skipped": read_only,
                "static": sorted(str(c.name) for c in changed if c.properties.is_dynamic_config is False),
                "pending_restart": []}

    def _pending_restart(self, target: str, names: list[str]) -> list[str]:
        """Those of ``names`` the new server still reports as pending a restart."""
        with azure.translated(f"reading server parameters of {target}"):
            configs = list(self.client.configurations.list_by_server(self.rg, target))
        return sorted(str(c.name) for c in configs if c.name in names and c.properties
                      and c.properties.is_config_pending_restart)

    # -- connecting ---------------------------------------------------------------

    def _port(self) -> int:
        return int(self.env.get("postgres_port", 5432))

    def _sslmode(self) -> str:
        return str(self.env.get("postgres_sslmode", "require"))

    def _database(self) -> str:
        return str(self.env.get("postgres_database", "augeo"))

    def _dsn(self, fqdn: str) -> str:
        """How to connect to a server of this environment (no secret: the token or password
        is read at connection time)."""
        return f"postgresql://{self._pg_user()}@{fqdn}:{self._port()}/{self._database()}?sslmode={self._sslmode()}"

    def _pg_user(self) -> str:
        return str(self.env.get("postgres_user", "augeo"))

    def _password(self) -> str:
        """A Microsoft Entra access token, or the admin password from Key Vault."""
        mode = str(self.env.get("postgres_auth", "entra"))
        if mode == "password":
            secret = self.env.get("postgres_secret")
            if not secret:
                raise UsageError('postgres_auth = "password" needs postgres_secret (a Key Vault secret name)')
            return azure.read_secret(self.env, str(secret), self.credential)
        if mode != "entra":
            raise UsageError(f'postgres_auth "{mode}" is not known', hint="use entra or password")
        with azure.translated("getting a Microsoft Entra token for PostgreSQL"):
            return str(self.credential.get_token(ENTRA_SCOPE).token)

    def _connect(self, host: str, dbname: str | None = None, timeout: int = 10):
        import psycopg

        return psycopg.connect(
            host=host, port=self._port(), user=self._pg_user(), password=self._password(),
            dbname=dbname or self._database(), sslmode=self._sslmode(), connect_timeout=timeout,
            autocommit=True,
        )

    def _wait_connectable(self, host: str, reporter: Reporter, *, private: bool = False,
                          network: dict[str, str] | None = None, target: str = "") -> None:
        import psycopg

        wait = self.env.get("postgres_connect_wait")
        deadline = time.monotonic() + (float(wait) if wait is not None else 900.0)
        last = ""
        while True:
            try:
                with self._connect(host, timeout=5) as conn:
                    conn.execute("SELECT 1")
                    return
            except psycopg.OperationalError as exc:
                last = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
                reporter.status(f"not accepting connections yet: {last}")
            if time.monotonic() >= deadline:
                break
            time.sleep(1)
        if private:
            # Private access: the server has no public endpoint; its name resolves only in
            # the private DNS zone linked to its virtual network.
            subnet = (network or {}).get("delegated_subnet_resource_id") or "private access"
            zone = ((network or {}).get("private_dns_zone_arm_resource_id") or "").rsplit("/", 1)[-1]
            raise DependencyError(
                f"server {target or host} has private access only ({subnet}); "
                f"augeoctl cannot reach {host}:{self._port()} from here: {last}",
                hint="run augeoctl from inside the virtual network (or a network peered with it) that resolves "
                     f"the private DNS zone{' ' + zone if zone else ''}, e.g. on the pipeline's private runner",
            )
        raise RestoreError(f"server {host} did not accept connections: {last}")

    def _verify(self, host: str, mode: str = "auto") -> tuple[list[Check], dict[str, int], list[str], str]:
        """Rows per table of the restored server, counted (full) or estimated and read
        (quick; amcheck is not assumed to be allowed on the server, so no heap sample)."""
        import psycopg

        tables: dict[str, int] = {}
        try:
            with self._connect(host) as conn:
                mode = verification.resolve(mode, verification.data_bytes(conn))
                tables, estimated = verification.count_tables(conn, mode)
            return [verification.table_check(tables, estimated)], tables, estimated, mode
        except psycopg.Error as exc:
            return [Check("query", False, str(exc).strip())], tables, [], mode

    # -- targets ------------------------------------------------------------------

    def list_targets(self) -> list[TargetInfo]:
        with azure.translated(f"listing servers in {self.rg}"):
            servers = list(self.client.servers.list_by_resource_group(self.rg))
        out = []
        for s in servers:
            tags = s.tags or {}
            if tags.get(TAG_CREATED_BY) != TAG_VALUE:
                continue
            point = tags.get("augeoctl-point-in-time")
            out.append(TargetInfo(
                name=str(s.name), status=((_val(s.properties.state) if s.properties else None) or "unknown").lower(),
                dsn=(self._dsn(s.properties.fully_qualified_domain_name)
                     if s.properties and s.properties.fully_qualified_domain_name else None),
                created_at=None, backup_id="continuous",
                requested=datetime.fromisoformat(point.replace("Z", "+00:00")) if point else None,
                reached=None, detail=tags.get("augeoctl-drill"),
            ))
        return out

    def drop_target(self, name: str, reporter: Reporter) -> None:
        check_target_name(name)
        if name == self.server_name:
            raise UsageError("refusing to delete the source server")
        server = self._exists(name)
        if server is None:
            raise NotFound(f'no server "{name}" in {self.rg}')
        if (server.tags or {}).get(TAG_CREATED_BY) != TAG_VALUE:
            raise UsageError(f'server "{name}" was not made by augeoctl; refusing to delete it')
        with reporter.step(f"deleting server {name}"), azure.translated(f"deleting server {name}"):
            self._wait(self.client.servers.begin_delete(self.rg, name, **self._lro_kwargs()), reporter)

