"""Flexible Server and Key Vault on the fake ARM: the endpoints augeoctl's Azure backend calls.

Written from the azure-rest-api-specs examples (specification/postgresql/resource-manager/
Microsoft.DBforPostgreSQL/, stable/2022-12-01 unless named) and the SDK's models
(``azure.mgmt.postgresqlflexibleservers.models``), not from augeoctl's assumptions:

- restores (ServerCreatePointInTimeRestore.json, ServerCreateGeoRestore.json): ``createMode``
  a restore mode, ``pointInTimeUTC`` required for both (the SDK: "required when
  'createMode' is 'PointInTimeRestore', 'GeoRestore'") and inside [earliestRestoreDate, now];
  a point-in-time restore stays in the source's region, a geo-restore goes to the paired
  region and only from a server with geo-redundant backup; the target must not exist;
- network (ServerGetWithVnet.json): what the PUT asks for, else Azure's default (public
  access, no subnet); a delegated subnet must exist, be delegated to Flexible Server and
  belong to a virtual network in the server's region (``network.VirtualNetworks``); a
  server in a delegated subnet has no firewall rules;
- server parameters (2024-08-01/ConfigurationListByServer.json, ConfigurationUpdate.json; the SDK's
  ``ConfigurationProperties``): ``isReadOnly`` ones refuse a PUT with ARM's error body,
  static ones (``isDynamicConfig`` false) are ``isConfigPendingRestart`` until a restart
  (ServerRestartWithFailover.json);
- lists of firewall rules and parameters come in pages linked by ``nextLink``
  (FirewallRuleListByServer.json);
- creates, deletes, parameter updates, restarts and backups are long-running: 202 with
  ``Azure-AsyncOperation`` and ``Location`` (ConfigurationUpdate.json's 202), polled to
  the end, then the resource is read with a GET;
- a Burstable server refuses on-demand backups.

A restored server's host name is a real local PostgreSQL (``pg_host``), so the tool's
connection and verification run for real; a server in a delegated subnet answers at
``private_host`` instead, which nothing outside the fake's "VNet" reaches.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from typing import Any

from tests.fakearm.network import VirtualNetworks
from tests.fakearm.server import FakeArm, Request, Response, arm_error

PG = "Microsoft.DBforPostgreSQL/flexibleServers"
# Region pairs the fake knows, from Microsoft's cross-region replication pairings
# (learn.microsoft.com/azure/reliability/cross-region-replication-azure).
PAIRED = {"westeurope": "northeurope", "northeurope": "westeurope", "eastus": "westus", "westus": "eastus",
          "swedencentral": "swedensouth", "swedensouth": "swedencentral"}
PAGE_SIZE = 2  # list answers are paged (nextLink) after this many items
SECRET_PASSWORD = "S3cr3t-Admin-Pa55w0rd!"  # must never appear in augeoctl's output


class FlexibleServers:
    def __init__(self, arm: FakeArm, resource_group: str = "rg-augeo-staging", pg_host: str = "127.0.0.1",
                 private_host: str = "127.0.0.2") -> None:
        self.arm = arm
        self.network = VirtualNetworks(arm)  # the subnets a server may be placed in
        self.rg = resource_group
        self.pg_host = pg_host
        self.private_host = private_host  # loopback, but nothing listens there: "inside the VNet"
        self.restarts: list[str] = []
        # parameters a restart leaves pending (a server that still reports isConfigPendingRestart)
        self.restart_leaves_pending: set[str] = set()
        self.servers: dict[str, dict[str, Any]] = {}
        self.firewall: dict[str, dict[str, dict[str, Any]]] = {}
        self.configs: dict[str, dict[str, dict[str, Any]]] = {}
        self.backups: dict[str, dict[str, dict[str, Any]]] = {}
        self.secrets: dict[str, str] = {"pg-admin-password": SECRET_PASSWORD}
        self.lro_polls = 2
        self.fail_next_restore: str | None = None
        self._install()

    # -- state builders ---------------------------------------------------------------

    def server_id(self, name: str) -> str:
        return f"/subscriptions/{self.arm.subscription}/resourceGroups/{self.rg}/providers/{PG}/{name}"

    def add_server(self, name: str, *, tier: str = "GeneralPurpose", geo: bool = True,
                   earliest: dt.datetime | None = None, tags: dict[str, str] | None = None,
                   location: str | None = None, network: dict[str, str] | None = None) -> dict[str, Any]:
        earliest = earliest or dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
        server = {
            "id": self.server_id(name), "name": name, "type": PG, "location": location or self.arm.location,
            "tags": tags or {"env": "staging"},
            "sku": {"name": "Standard_D2ds_v5" if tier != "Burstable" else "Standard_B1ms", "tier": tier},
            "properties": {
                "state": "Ready", "version": "16", "fullyQualifiedDomainName": self.pg_host,
                "administratorLogin": "augeoadmin",
                "backup": {"backupRetentionDays": 30, "geoRedundantBackup": "Enabled" if geo else "Disabled",
                           "earliestRestoreDate": earliest.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")},
                "network": dict(network or {"publicNetworkAccess": "Enabled"}),
            },
        }
        if server["properties"]["network"].get("delegatedSubnetResourceId"):
            server["properties"]["fullyQualifiedDomainName"] = self.private_host
        self.servers[name] = server
        self.firewall.setdefault(name, {})
        self.configs.setdefault(name, {})
        self.backups.setdefault(name, {"daily": {
            "id": server["id"] + "/backups/daily", "name": "daily",
            "properties": {"backupType": "Full", "completedTime": earliest.isoformat(), "source": "Automatic"}}})
        return server

    def add_firewall_rule(self, server: str, name: str, start: str, end: str) -> None:
        self.firewall.setdefault(server, {})[name] = {
            "id": self.server_id(server) + f"/firewallRules/{name}", "name": name,
            "properties": {"startIpAddress": start, "endIpAddress": end}}

    def add_config(self, server: str, name: str, value: str, source: str = "user-override", *,
                   read_only: bool = False, dynamic: bool = True, pending: bool = False) -> None:
        self.configs.setdefault(server, {})[name] = {
            "id": self.server_id(server) + f"/configurations/{name}", "name": name,
            "type": PG + "/configurations",
            "properties": {"value": value, "source": source, "dataType": "Integer",
                           "isReadOnly": read_only, "isDynamicConfig": dynamic, "isConfigPendingRestart": pending,
                           "connectionString": f"postgresql://augeoadmin:{SECRET_PASSWORD}@x/y"}}

    def add_managed_configs(self, server: str) -> None:
        """What every real server lists: parameters Azure manages, shown as user-override
        but read-only (ConfigurationListByServer.json)."""
        self.add_config(server, "archive_command", "/usr/bin/azure-archive %p", read_only=True, dynamic=True)
        self.add_config(server, "archive_mode", "always", read_only=True, dynamic=False)
        self.add_config(server, "authentication_timeout", "60", read_only=True, dynamic=True)

    # -- routes --------------------------------------------------------------------------

    def _page(self, req: Request, items: list[dict[str, Any]]) -> Response:
        """One page of a list, with ``nextLink`` to the next (FirewallRuleListByServer.json)."""
        start = int(req.q("$skipToken", "0") or 0)
        body: dict[str, Any] = {"value": items[start:start + PAGE_SIZE]}
        if start + PAGE_SIZE < len(items):
            body["nextLink"] = (f"{self.arm.url}{req.path}?api-version={req.q('api-version')}"
                                f"&$skipToken={start + PAGE_SIZE}")
        return Response(200, body)

    def _lro(self, path: str, on_done: Any, error: str | None = None) -> Response:
        headers = self.arm.lro(path, polls=self.lro_polls, outcome="Failed" if error else "Succeeded",
                               error={"code": "RestoreFailed", "message": error} if error else None,
                               on_done=on_done)
        return Response(202, None, headers)

    def _install(self) -> None:
        arm = self.arm
        base = rf"/subscriptions/{arm.subscription}/resourceGroups/{self.rg}/providers/Microsoft\.DBforPostgreSQL/flexibleServers"

        def server(req: Request) -> dict[str, Any] | None:
            return self.servers.get(req.match["name"])

        @arm.route("GET", base)
        def list_servers(req: Request) -> Response:
            return Response(200, {"value": list(self.servers.values())})

        @arm.route("GET", base + r"/(?P<name>[^/]+)")
        def get_server(req: Request) -> Response:
            s = server(req)
            if s is None:
                return arm_error(404, "ResourceNotFound", f"The Resource '{PG}/{req.match['name']}' was not found.")
            return Response(200, s)

        @arm.route("PUT", base + r"/(?P<name>[^/]+)")
        def put_server(req: Request) -> Response:
            # ServerCreatePointInTimeRestore.json / ServerCreateGeoRestore.json
            name = req.match["name"]
            body = req.body or {}
            props = body.get("properties", {})
            mode = props.get("createMode")
            if mode not in ("PointInTimeRestore", "GeoRestore"):
                return arm_error(400, "InvalidParameterValue", f"createMode {mode!r} is not supported here")
            src = next((s for s in self.servers.values()
                        if s["id"].lower() == str(props.get("sourceServerResourceId", "")).lower()), None)
            if src is None:
                return arm_error(400, "InvalidSourceServer", "sourceServerResourceId does not name a server")
            if name in self.servers:
                return arm_error(409, "ServerAlreadyExists", f"Server {name} already exists")
            raw = props.get("pointInTimeUTC")
            if not raw:
                return arm_error(400, "MissingRequiredParameter",
                                 f"pointInTimeUTC is required when createMode is {mode}")
            if not re.search(r"(Z|[+-]00:00)$", raw):
                return arm_error(400, "InvalidParameterValue", f"pointInTimeUTC {raw!r} must be in UTC")
            when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            earliest = dt.datetime.fromisoformat(src["properties"]["backup"]["earliestRestoreDate"])
            if when < earliest or when > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5):
                return arm_error(400, "PointInTimeOutOfRange",
                                 f"pointInTimeUTC {raw} is outside the restorable window "
                                 f"[{src['properties']['backup']['earliestRestoreDate']}, now]")
            location = str(body.get("location", "")).replace(" ", "").lower()
            source_region = src["location"].replace(" ", "").lower()
            if mode == "PointInTimeRestore" and location != source_region:
                return arm_error(400, "InvalidLocation",
                                 f"a point-in-time restore is created in the source's region {source_region}, "
                                 f"not {location or 'no location'}")
            if mode == "GeoRestore":
                if src["properties"]["backup"]["geoRedundantBackup"] != "Enabled":
                    return arm_error(400, "GeoRestoreNotAllowed", "the source has no geo-redundant backup")
                if location != PAIRED.get(source_region):
                    return arm_error(400, "InvalidLocation",
                                     f"a geo-restore of a server in {source_region} is created in its paired "
                                     f"region {PAIRED.get(source_region)}, not {location or 'no location'}")
            # Network: what was asked for, else Azure's default placement (public access).
            network = props.get("network") or {"publicNetworkAccess": "Enabled"}
            private = bool(network.get("delegatedSubnetResourceId"))
            if private:
                refused = self.network.placement_error(network["delegatedSubnetResourceId"], location)
                if refused is not None:
                    return refused
            error, self.fail_next_restore = self.fail_next_restore, None
            new = json.loads(json.dumps(src))
            new.update(id=self.server_id(name), name=name, location=body["location"], tags=body.get("tags") or {})
            new["properties"].update(state="Provisioning", createMode=mode, network=network,
                                     fullyQualifiedDomainName=self.private_host if private else self.pg_host)
            self.servers[name] = new  # ARM shows the resource while it is being made
            self.firewall[name], self.backups[name] = {}, {}
            # The new server has every parameter at Azure's default; the ones Azure manages
            # keep their values. Overrides are not copied (hence augeoctl re-applies them).
            self.configs[name] = {}
            for cfg in json.loads(json.dumps(list(self.configs.get(src["name"], {}).values()))):
                cfg["id"] = self.server_id(name) + f"/configurations/{cfg['name']}"
                if not cfg["properties"]["isReadOnly"]:
                    cfg["properties"].update(source="system-default", isConfigPendingRestart=False)
                self.configs[name][cfg["name"]] = cfg

            def finish() -> None:
                self.servers[name]["properties"]["state"] = "Disabled" if error else "Ready"

            return self._lro(self.server_id(name), finish, error)

        @arm.route("POST", base + r"/(?P<name>[^/]+)/restart")
        def restart(req: Request) -> Response:
            # ServerRestartWithFailover.json: 202, then the static parameters take effect.
            name = req.match["name"]
            if name not in self.servers:
                return arm_error(404, "ResourceNotFound", f"The Resource '{PG}/{name}' was not found.")

            def finish() -> None:
                self.restarts.append(name)
                for c in self.configs.get(name, {}).values():
                    if c["name"] not in self.restart_leaves_pending:
                        c["properties"]["isConfigPendingRestart"] = False

            return self._lro("", finish)

        @arm.route("DELETE", base + r"/(?P<name>[^/]+)")
        def delete_server(req: Request) -> Response:
            name = req.match["name"]
            if name not in self.servers:
                return Response(204)
            return self._lro(self.server_id(name), lambda: self.servers.pop(name, None))

        @arm.route("GET", base + r"/(?P<name>[^/]+)/firewallRules")
        def list_rules(req: Request) -> Response:
            return self._page(req, list(self.firewall.get(req.match["name"], {}).values()))

        @arm.route("PUT", base + r"/(?P<name>[^/]+)/firewallRules/(?P<rule>[^/]+)")
        def put_rule(req: Request) -> Response:
            # FirewallRuleCreate.json; a server in a delegated subnet has no firewall.
            s = server(req)
            if s is not None and s["properties"]["network"].get("delegatedSubnetResourceId"):
                return arm_error(400, "FirewallRuleNotSupported",
                                 "firewall rules are not supported on a server with private access")
            p = (req.body or {}).get("properties", {})
            for key in ("startIpAddress", "endIpAddress"):
                try:
                    ipaddress.ip_address(p.get(key, ""))
                except ValueError:
                    return arm_error(400, "InvalidParameterValue", f"{key} is not an IP address")
            self.add_firewall_rule(req.match["name"], req.match["rule"], p["startIpAddress"], p["endIpAddress"])
            return self._lro(self.server_id(req.match["name"]), None)

        @arm.route("GET", base + r"/(?P<name>[^/]+)/firewallRules/(?P<rule>[^/]+)")
        def get_rule(req: Request) -> Response:
            rule = self.firewall.get(req.match["name"], {}).get(req.match["rule"])
            return Response(200, rule) if rule else arm_error(404, "ResourceNotFound", "no rule")

        @arm.route("GET", base + r"/(?P<name>[^/]+)/configurations")
        def list_configs(req: Request) -> Response:
            return self._page(req, list(self.configs.get(req.match["name"], {}).values()))

        @arm.route("PUT", base + r"/(?P<name>[^/]+)/configurations/(?P<cfg>[^/]+)")
        def put_config(req: Request) -> Response:
            # ConfigurationUpdate.json: 202 + Azure-AsyncOperation + Location.
            p = (req.body or {}).get("properties", {})
            if "value" not in p:
                return arm_error(400, "InvalidParameterValue", "value is required")
            name, cfg = req.match["name"], req.match["cfg"]
            current = self.configs.get(name, {}).get(cfg)
            known = current["properties"] if current else {"isDynamicConfig": True}
            if known.get("isReadOnly"):
                # The PostgreSQL spec gives no example of this refusal. The code and wording
                # follow what the sibling Azure Database for MySQL flexible server answers to
                # the same PUT ("(ConfigurationReadOnly) The configuration(s) '...' is(are)
                # read-only", Azure/azure-mysql issue 295); augeoctl never sends such a PUT (it
                # skips isReadOnly parameters) and treats any 4xx the same.
                return arm_error(400, "ConfigurationReadOnly",
                                 f"The configuration(s) '{cfg}' is(are) read-only and cannot be modified.")
            dynamic = bool(known.get("isDynamicConfig", True))
            self.add_config(name, cfg, p["value"], p.get("source", "user-override"), dynamic=dynamic,
                            pending=not dynamic)
            return self._lro(self.server_id(name) + f"/configurations/{cfg}", None)

        @arm.route("GET", base + r"/(?P<name>[^/]+)/configurations/(?P<cfg>[^/]+)")
        def get_config(req: Request) -> Response:
            c = self.configs.get(req.match["name"], {}).get(req.match["cfg"])
            return Response(200, c) if c else arm_error(404, "ResourceNotFound", "no parameter")

        @arm.route("GET", base + r"/(?P<name>[^/]+)/backups")
        def list_backups(req: Request) -> Response:
            if server(req) is None:
                return arm_error(404, "ResourceNotFound", "no server")
            return Response(200, {"value": list(self.backups.get(req.match["name"], {}).values())})

        @arm.route("PUT", base + r"/(?P<name>[^/]+)/backups/(?P<backup>[^/]+)")
        def put_backup(req: Request) -> Response:
            s = server(req)
            if s is None:
                return arm_error(404, "ResourceNotFound", "no server")
            if s["sku"]["tier"] == "Burstable":
                return arm_error(400, "OnDemandBackupNotSupported", "Burstable servers do not support on-demand backups")
            entry = {"id": s["id"] + f"/backups/{req.match['backup']}", "name": req.match["backup"],
                     "properties": {"backupType": "Customer On-Demand",
                                    "completedTime": dt.datetime.now(dt.UTC).isoformat(), "source": "Manual"}}

            def finish() -> None:
                self.backups[req.match["name"]][req.match["backup"]] = entry

            return self._lro(entry["id"], finish)

        @arm.route("GET", base + r"/(?P<name>[^/]+)/backups/(?P<backup>[^/]+)")
        def get_backup(req: Request) -> Response:
            b = self.backups.get(req.match["name"], {}).get(req.match["backup"])
            return Response(200, b) if b else arm_error(404, "ResourceNotFound", "no backup")

        def key_vault(req: Request) -> Response | None:
            m = re.match(r"^/secrets/(?P<secret>[^/]+)/?$", req.path)
            if not m:
                return None
            if not req.headers.get("Authorization"):
                # Key Vault's bearer challenge, answered by the SDK with a token request.
                return arm_error(401, "Unauthorized", "challenge", {"WWW-Authenticate": (
                    'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000",'
                    ' resource="https://vault.azure.net"')})
            if req.headers.get("Authorization") != f"Bearer {arm.token}":
                return arm_error(401, "Unauthorized", "bad token")
            value = self.secrets.get(m["secret"])
            if value is None:
                return arm_error(404, "SecretNotFound", "no secret")
            return Response(200, {"value": value, "id": f"{arm.url}/secrets/{m['secret']}/1",
                                  "attributes": {"enabled": True}})

        arm.public.append(key_vault)
