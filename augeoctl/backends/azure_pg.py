"""Azure Database for PostgreSQL Flexible Server: backups and point-in-time restore.

A restore is always a NEW server (``create_mode=PointInTimeRestore``) in the source's
region, tagged as made by augeoctl. Azure does not copy firewall rules or server
parameters to the new server, so they are re-applied from the source; then the tool
waits until the server accepts connections and verifies it with queries. Database
credentials are obtained at run time (a Microsoft Entra token, or the admin password
from Key Vault) and are never printed, logged or written to reports.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from augeoctl import azure
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
        """A restore of the newest geo-redundant backup into the paired region."""
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
        if geo:
            backup_settings = src.properties.backup if src.properties else None
            if not backup_settings or (_val(backup_settings.geo_redundant_backup) or "").lower() != "enabled":
                raise RestoreRefused(
                    f"server {self.server_name} does not have geo-redundant backups",
                    hint="geo-restore needs geo_redundant_backup enabled (it is set when the server is created)",
                )
        elif to_time is not None and to_time < earliest:
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
        return RestorePlan(
            target=name, backup=backup, to_time=to_time, mode="geo" if geo else ("time" if to_time else "end"),
            wal_first=None, wal_last=None, window=win,
            extra={"source_server": self.server_name, "location": src.location},
        )

    def restore(self, plan: RestorePlan, reporter: Reporter) -> RestoreResult:
        from azure.mgmt.postgresqlflexibleservers import models

        src = self.source()
        phases: list[Phase] = []
        t0 = _now()
        point = plan.to_time or _now() - timedelta(seconds=1)
        location = src.location
        props: dict[str, Any] = {"source_server_resource_id": src.id}
        if plan.mode == "geo":
            props["create_mode"] = "GeoRestore"
            location = self.env.get("geo_location") or src.location
        else:
            props["create_mode"] = "PointInTimeRestore"
            props["point_in_time_utc"] = point
        all_tags = {TAG_CREATED_BY: TAG_VALUE, "augeoctl-source": self.server_name,
                    "augeoctl-point-in-time": format_time(point) or ""}
        all_tags.update(plan.labels)
        body = models.Server(location=location, tags=all_tags, properties=models.ServerProperties(**props))
        try:
            with reporter.step(f"Azure restore into new server {plan.target}"), \
                    azure.translated(f"restore of {self.server_name} into {plan.target}"):
                poller = self.client.servers.begin_create_or_update(self.rg, plan.target, body, **self._lro_kwargs())
                server = self._wait(poller, reporter)
        except OperationFailed as exc:
            half = self._exists(plan.target)
            hint = (f'a half-made server "{plan.target}" exists and was NOT reported as restored; '
                    f"remove it with `augeoctl targets drop {plan.target} --env {self.env.name}`"
                    if half is not None else "no server was left behind")
            raise RestoreError(f"the restore failed in Azure: {exc.message}", hint=hint) from None
        phases.append(Phase("azure_restore", t0, _now()))

        t1 = _now()
        with reporter.step("re-apply firewall rules and server parameters"):
            applied = self._reapply(plan.target)
        phases.append(Phase("reconfigure", t1, _now()))

        t2 = _now()
        fqdn = server.properties.fully_qualified_domain_name if server.properties else None
        if not fqdn:
            raise RestoreError(f"server {plan.target} has no host name yet")
        with reporter.step("wait for connections"):
            self._wait_connectable(fqdn, reporter)
        phases.append(Phase("connect", t2, _now()))

        t3 = _now()
        with reporter.step("verify (queries)"):
            checks, tables = self._verify(fqdn)
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
                   "reapplied": applied},
        )

    def _wait(self, poller: Any, reporter: Reporter) -> Any:
        """Wait for a long-running operation, showing its status and elapsed time."""
        start = time.monotonic()
        while not poller.done():
            reporter.status(f"Azure operation {poller.status()} ({time.monotonic() - start:.0f} s)")
            poller.wait(timeout=1.0)
        return poller.result()

    def _reapply(self, target: str) -> dict[str, int]:
        from azure.mgmt.postgresqlflexibleservers import models

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
        changed = [c for c in configs if c.properties and (c.properties.source or "") == "user-override"]
        for c in changed:
            with azure.translated(f"server parameter {c.name} on {target}"):
                self.client.configurations.begin_put(
                    self.rg, target, c.name,
                    models.ConfigurationForUpdate(properties=models.ConfigurationProperties(
                        value=c.properties.value, source="user-override")),
                    **self._lro_kwargs(),
                ).result()
        return {"firewall_rules": len(rules), "server_parameters": len(changed)}

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

    def _wait_connectable(self, host: str, reporter: Reporter, timeout: float = 900) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                with self._connect(host, timeout=5) as conn:
                    conn.execute("SELECT 1")
                    return
            except psycopg.OperationalError as exc:
                last = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
                reporter.status(f"not accepting connections yet: {last}")
            time.sleep(1)
        raise RestoreError(f"server {host} did not accept connections: {last}")

    def _verify(self, host: str) -> tuple[list[Check], dict[str, int]]:
        import psycopg

        tables: dict[str, int] = {}
        try:
            with self._connect(host) as conn:
                rels = conn.execute(
                    "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), n.nspname, c.relname"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1").fetchall()
                for qualified, nsp, rel in rels:
                    row = conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()
                    tables[f"{nsp}.{rel}"] = int(row[0]) if row else 0
            return [Check("query", True, f"{len(tables)} table(s) counted")], tables
        except psycopg.Error as exc:
            return [Check("query", False, str(exc).strip())], tables

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

