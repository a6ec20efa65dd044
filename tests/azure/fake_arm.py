"""A fake Azure Resource Manager on loopback (HTTPS), driven by the real Azure SDKs.

It implements the Flexible Server endpoints augeoctl calls, the way ARM answers them:
long-running operations through ``Azure-AsyncOperation`` (InProgress, then Succeeded or
Failed), 429 with ``Retry-After``, 5xx, 401/403, and request bodies validated the way
ARM rejects them (``pointInTimeUTC`` must be UTC and inside the restorable window). A
Key Vault secret endpoint with the bearer challenge is included for password auth.
Every request is recorded so tests can assert on what was sent.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

PG = "Microsoft.DBforPostgreSQL/flexibleServers"
TOKEN = "fake-arm-token-3f9c2b7a"
SECRET_PASSWORD = "S3cr3t-Admin-Pa55w0rd!"  # must never appear in augeoctl's output


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-arm.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fake-arm.pem", folder / "fake-arm.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Fault:
    """Answer the next ``times`` matching requests with this status instead."""

    method: str
    path: str  # regex searched in the path
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "Injected"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0


class TestCredential:  # noqa: D101 - not a test class
    __test__ = False

    """A TokenCredential that hands out the fake's token (or a wrong one)."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


class FakeArm:
    def __init__(self, folder: Path, *, pg_host: str = "127.0.0.1") -> None:
        self.cert, self.key = make_certificate(folder)
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.subscription = "00000000-0000-0000-0000-000000000001"
        self.rg = "rg-augeo-staging"
        self.pg_host = pg_host
        self.servers: dict[str, dict[str, Any]] = {}
        self.firewall: dict[str, dict[str, dict[str, Any]]] = {}
        self.configs: dict[str, dict[str, dict[str, Any]]] = {}
        self.backups: dict[str, dict[str, dict[str, Any]]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.lro_polls = 2  # InProgress answers before the end state
        self.fail_next_restore: str | None = None  # error message for the next restore's LRO
        self.secrets: dict[str, str] = {"pg-admin-password": SECRET_PASSWORD}
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any, dict[str, str]]]]] = []
        self.unauthenticated: list[Callable[[str, dict[str, list[str]]], Any]] = []
        self._install_routes()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert), str(self.key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> FakeArm:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- state builders ---------------------------------------------------------

    def server_id(self, name: str) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.rg}/providers/{PG}/{name}"

    def add_server(self, name: str, *, tier: str = "GeneralPurpose", geo: bool = True,
                   earliest: dt.datetime | None = None, tags: dict[str, str] | None = None) -> dict[str, Any]:
        earliest = earliest or dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
        server = {
            "id": self.server_id(name), "name": name, "type": PG, "location": "westeurope",
            "tags": tags or {"env": "staging"},
            "sku": {"name": "Standard_D2ds_v5" if tier != "Burstable" else "Standard_B1ms", "tier": tier},
            "properties": {
                "state": "Ready", "version": "16", "fullyQualifiedDomainName": self.pg_host,
                "administratorLogin": "augeoadmin",
                "backup": {"backupRetentionDays": 30, "geoRedundantBackup": "Enabled" if geo else "Disabled",
                           "earliestRestoreDate": earliest.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")},
                "network": {"publicNetworkAccess": "Enabled"},
            },
        }
        self.servers[name] = server
        self.firewall.setdefault(name, {})
        self.configs.setdefault(name, {})
        self.backups.setdefault(name, {
            "daily": {"id": server["id"] + "/backups/daily", "name": "daily",
                      "properties": {"backupType": "Full", "completedTime": earliest.isoformat(),
                                     "source": "Automatic"}}})
        return server

    def add_firewall_rule(self, server: str, name: str, start: str, end: str) -> None:
        self.firewall.setdefault(server, {})[name] = {
            "id": self.server_id(server) + f"/firewallRules/{name}", "name": name,
            "properties": {"startIpAddress": start, "endIpAddress": end}}

    def add_config(self, server: str, name: str, value: str, source: str = "user-override") -> None:
        self.configs.setdefault(server, {})[name] = {
            "id": self.server_id(server) + f"/configurations/{name}", "name": name,
            "properties": {"value": value, "source": source, "dataType": "Integer",
                           "connectionString": f"postgresql://augeoadmin:{SECRET_PASSWORD}@x/y"}}

    # -- HTTP ---------------------------------------------------------------------

    def _route(self, method: str, pattern: str):
        def deco(fn):
            self.routes.append((method, re.compile("^" + pattern + "$"), fn))
            return fn
        return deco

    def _lro(self, resource_path: str, final: Callable[[], None], error: str | None = None) -> str:
        op = uuid.uuid4().hex
        self.operations[op] = {"polls": self.lro_polls, "final": final, "error": error,
                               "resource": resource_path, "done": False}
        return op

    def _async_headers(self, op: str) -> dict[str, str]:
        url = f"{self.url}/subscriptions/{self.subscription}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/azureAsyncOperation/{op}?api-version=2026-10-01"
        return {"Azure-AsyncOperation": url, "Location": url, "Retry-After": "0"}

    def _install_routes(self) -> None:
        base = rf"/subscriptions/{self.subscription}/resourceGroups/{self.rg}/providers/Microsoft\.DBforPostgreSQL/flexibleServers"
        r = self._route

        def err(status: int, code: str, message: str) -> tuple[int, Any, dict[str, str]]:
            return status, {"error": {"code": code, "message": message}}, {}

        @r("GET", base)
        def list_servers(m, body):
            return 200, {"value": list(self.servers.values())}, {}

        @r("GET", base + r"/(?P<name>[^/]+)")
        def get_server(m, body):
            s = self.servers.get(m["name"])
            if s is None:
                return err(404, "ResourceNotFound", f"The Resource '{PG}/{m['name']}' was not found.")
            return 200, s, {}

        @r("PUT", base + r"/(?P<name>[^/]+)")
        def put_server(m, body):
            name = m["name"]
            props = (body or {}).get("properties", {})
            mode = props.get("createMode")
            if mode not in ("PointInTimeRestore", "GeoRestore"):
                return err(400, "InvalidParameterValue", f"createMode {mode!r} is not supported here")
            src_id = props.get("sourceServerResourceId", "")
            src = next((s for s in self.servers.values() if s["id"].lower() == src_id.lower()), None)
            if src is None:
                return err(400, "InvalidSourceServer", "sourceServerResourceId does not name a server")
            if name in self.servers:
                return err(409, "ServerAlreadyExists", f"Server {name} already exists")
            if mode == "PointInTimeRestore":
                raw = props.get("pointInTimeUTC")
                if not raw or not re.search(r"(Z|\+00:00)$", raw):
                    return err(400, "InvalidParameterValue", f"pointInTimeUTC {raw!r} must be in UTC")
                when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
                earliest = dt.datetime.fromisoformat(src["properties"]["backup"]["earliestRestoreDate"])
                if when < earliest or when > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5):
                    return err(400, "PointInTimeOutOfRange",
                               f"pointInTimeUTC {raw} is outside the restorable window")
            elif src["properties"]["backup"]["geoRedundantBackup"] != "Enabled":
                return err(400, "GeoRestoreNotAllowed", "the source has no geo-redundant backup")
            error, self.fail_next_restore = self.fail_next_restore, None
            new = json.loads(json.dumps(src))
            new.update(id=self.server_id(name), name=name, location=body.get("location", src["location"]),
                       tags=body.get("tags") or {})
            new["properties"].update(state="Provisioning", createMode=mode,
                                     fullyQualifiedDomainName=self.pg_host)
            self.servers[name] = new  # ARM shows the resource while it is being made
            self.firewall[name], self.configs[name], self.backups[name] = {}, {}, {}

            def finish() -> None:
                if error:
                    self.servers[name]["properties"]["state"] = "Disabled"
                else:
                    self.servers[name]["properties"]["state"] = "Ready"

            op = self._lro(self.server_id(name), finish, error)
            return 202, None, self._async_headers(op)

        @r("DELETE", base + r"/(?P<name>[^/]+)")
        def delete_server(m, body):
            if m["name"] not in self.servers:
                return 204, None, {}

            def finish() -> None:
                self.servers.pop(m["name"], None)

            op = self._lro(self.server_id(m["name"]), finish)
            return 202, None, self._async_headers(op)

        @r("GET", r"/subscriptions/[^/]+/providers/Microsoft\.DBforPostgreSQL/locations/[^/]+/azureAsyncOperation/(?P<op>\w+)")
        def poll(m, body):
            op = self.operations.get(m["op"])
            if op is None:
                return err(404, "OperationNotFound", "no such operation")
            if op["polls"] > 0:
                op["polls"] -= 1
                return 200, {"name": m["op"], "status": "InProgress"}, {"Retry-After": "0"}
            if not op["done"]:
                op["done"] = True
                op["final"]()
            if op["error"]:
                return 200, {"name": m["op"], "status": "Failed",
                             "error": {"code": "RestoreFailed", "message": op["error"]}}, {}
            return 200, {"name": m["op"], "status": "Succeeded"}, {}

        @r("GET", base + r"/(?P<name>[^/]+)/firewallRules")
        def list_rules(m, body):
            return 200, {"value": list(self.firewall.get(m["name"], {}).values())}, {}

        @r("PUT", base + r"/(?P<name>[^/]+)/firewallRules/(?P<rule>[^/]+)")
        def put_rule(m, body):
            p = (body or {}).get("properties", {})
            for key in ("startIpAddress", "endIpAddress"):
                try:
                    ipaddress.ip_address(p.get(key, ""))
                except ValueError:
                    return err(400, "InvalidParameterValue", f"{key} is not an IP address")
            self.add_firewall_rule(m["name"], m["rule"], p["startIpAddress"], p["endIpAddress"])
            op = self._lro(self.server_id(m["name"]), lambda: None)
            return 202, None, self._async_headers(op)

        @r("GET", base + r"/(?P<name>[^/]+)/firewallRules/(?P<rule>[^/]+)")
        def get_rule(m, body):
            rule = self.firewall.get(m["name"], {}).get(m["rule"])
            return (200, rule, {}) if rule else err(404, "ResourceNotFound", "no rule")

        @r("GET", base + r"/(?P<name>[^/]+)/configurations")
        def list_configs(m, body):
            return 200, {"value": list(self.configs.get(m["name"], {}).values())}, {}

        @r("PUT", base + r"/(?P<name>[^/]+)/configurations/(?P<cfg>[^/]+)")
        def put_config(m, body):
            p = (body or {}).get("properties", {})
            if "value" not in p:
                return err(400, "InvalidParameterValue", "value is required")
            self.add_config(m["name"], m["cfg"], p["value"], p.get("source", "user-override"))
            op = self._lro(self.server_id(m["name"]), lambda: None)
            return 202, None, self._async_headers(op)

        @r("GET", base + r"/(?P<name>[^/]+)/configurations/(?P<cfg>[^/]+)")
        def get_config(m, body):
            c = self.configs.get(m["name"], {}).get(m["cfg"])
            return (200, c, {}) if c else err(404, "ResourceNotFound", "no parameter")

        @r("GET", base + r"/(?P<name>[^/]+)/backups")
        def list_backups(m, body):
            if m["name"] not in self.servers:
                return err(404, "ResourceNotFound", "no server")
            return 200, {"value": list(self.backups.get(m["name"], {}).values())}, {}

        @r("PUT", base + r"/(?P<name>[^/]+)/backups/(?P<backup>[^/]+)")
        def put_backup(m, body):
            server = self.servers.get(m["name"])
            if server is None:
                return err(404, "ResourceNotFound", "no server")
            if server["sku"]["tier"] == "Burstable":
                return err(400, "OnDemandBackupNotSupported", "Burstable servers do not support on-demand backups")
            now = dt.datetime.now(dt.UTC).isoformat()
            entry = {"id": server["id"] + f"/backups/{m['backup']}", "name": m["backup"],
                     "properties": {"backupType": "Customer On-Demand", "completedTime": now, "source": "Manual"}}

            def finish() -> None:
                self.backups[m["name"]][m["backup"]] = entry

            op = self._lro(entry["id"], finish)
            return 202, None, self._async_headers(op)

        @r("GET", base + r"/(?P<name>[^/]+)/backups/(?P<backup>[^/]+)")
        def get_backup(m, body):
            b = self.backups.get(m["name"], {}).get(m["backup"])
            return (200, b, {}) if b else err(404, "ResourceNotFound", "no backup")

        @r("GET", r"/secrets/(?P<secret>[^/]+)/?")
        def get_secret(m, body):
            value = self.secrets.get(m["secret"])
            if value is None:
                return err(404, "SecretNotFound", "no secret")
            return 200, {"value": value, "id": f"{self.url}/secrets/{m['secret']}/1",
                         "attributes": {"enabled": True}}, {}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                rec = Recorded(method, parsed.path, parse_qs(parsed.query), dict(self.headers.items()), body)
                with fake.lock:
                    fake.requests.append(rec)
                    status, payload, headers = fake._dispatch(method, parsed.path, parse_qs(parsed.query),
                                                              self.headers, body)
                rec.status = status
                if payload is None:
                    data = b""
                elif isinstance(payload, bytes):
                    data = payload
                elif isinstance(payload, str):
                    data = payload.encode()
                else:
                    data = json.dumps(payload).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ms-request-id", uuid.uuid4().hex)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

        return Handler

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], headers: Any,
                  body: Any) -> tuple[int, Any, dict[str, str]]:
        for handler in self.unauthenticated:  # e.g. Blob storage with a SAS signature
            answer = handler(path, query)
            if answer is not None:
                return answer
        auth = headers.get("Authorization", "")
        if path.startswith("/secrets/") and not auth:
            # Key Vault's bearer challenge, answered by the SDK with a token request.
            return 401, {"error": {"code": "Unauthorized", "message": "challenge"}}, {
                "WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"'}
        if auth != f"Bearer {TOKEN}":
            return 401, {"error": {"code": "InvalidAuthenticationToken",
                                   "message": "The access token is invalid."}}, {}
        if not path.startswith("/secrets/") and "api-version" not in query:
            return 400, {"error": {"code": "MissingApiVersionParameter", "message": "api-version is required"}}, {}
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and re.search(fault.path, path):
                fault.times -= 1
                return fault.status, {"error": {"code": fault.code, "message": f"injected HTTP {fault.status}"}}, dict(fault.headers)
        for m, pattern, fn in self.routes:
            if m == method:
                match = pattern.match(path)
                if match:
                    return fn(match.groupdict(), body)
        return 404, {"error": {"code": "NoRoute", "message": f"{method} {path} is not implemented"}}, {}


class FakeRedis:
    """Microsoft.Cache routes (Managed Redis and Cache for Redis) and a Blob container."""

    CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=augeo;AccountKey=U2VjcmV0S2V5MTIz;"
    ACCESS_KEY = "redis-access-key-9f8e7d"
    SAS = "sv=2024-01-01&sr=c&sp=rwl&sig=c2lnbmF0dXJlLXNlY3JldA%3D%3D"

    def __init__(self, arm: FakeArm, rdb: bytes) -> None:
        self.arm = arm
        self.rdb = rdb
        self.blobs: dict[str, tuple[bytes, dt.datetime]] = {}
        self.cache_tier = "Standard"
        arm.unauthenticated.append(self.serve_blob)
        base = rf"/subscriptions/{arm.subscription}/resourceGroups/{arm.rg}/providers/Microsoft\.Cache"
        r = arm._route

        @r("GET", base + r"/redisEnterprise/(?P<name>[^/]+)/databases/default")
        def get_db(m, body):
            return 200, {"id": f"{base}/redisEnterprise/{m['name']}/databases/default", "name": "default",
                         "properties": {"clientProtocol": "Encrypted", "port": 10000,
                                        "persistence": {"aofEnabled": False, "rdbEnabled": True,
                                                        "rdbFrequency": "1h"}}}, {}

        @r("POST", base + r"/redisEnterprise/(?P<name>[^/]+)/databases/default/export")
        def export_db(m, body):
            sas = (body or {}).get("sasUri", "")
            if "sig=" not in sas:
                return 400, {"error": {"code": "InvalidSasUri", "message": "sasUri needs a signature"}}, {}
            op = arm._lro("export", lambda: self._write(f"{m['name']}-{uuid.uuid4().hex[:6]}.rdb"))
            return 202, None, arm._async_headers(op)

        @r("GET", base + r"/redis/(?P<name>[^/]+)")
        def get_cache(m, body):
            return 200, {"id": f"{base}/redis/{m['name']}", "name": m["name"], "location": "westeurope",
                         "properties": {"sku": {"name": self.cache_tier, "family": "C", "capacity": 1},
                                        "minimumTlsVersion": "1.2", "hostName": "127.0.0.1",
                                        "redisConfiguration": {
                                            "rdb-backup-enabled": "true" if self.cache_tier == "Premium" else "false",
                                            "rdb-backup-frequency": "60",
                                            "rdb-storage-connection-string": self.CONNECTION_STRING}}}, {}

        @r("POST", base + r"/redis/(?P<name>[^/]+)/listKeys")
        def list_keys(m, body):
            return 200, {"primaryKey": self.ACCESS_KEY, "secondaryKey": self.ACCESS_KEY + "-2"}, {}

        @r("POST", base + r"/redis/(?P<name>[^/]+)/export")
        def export_cache(m, body):
            if self.cache_tier != "Premium":
                return 400, {"error": {"code": "FeatureNotSupportedForSku",
                                       "message": "Export is only supported on Premium"}}, {}
            op = arm._lro("export", lambda: self._write((body or {}).get("prefix", "export")))
            return 202, None, arm._async_headers(op)

    def _write(self, name: str) -> None:
        self.blobs[name] = (self.rdb, dt.datetime.now(dt.UTC))

    @property
    def sas_url(self) -> str:
        return f"{self.arm.url}/exports?{self.SAS}"

    def serve_blob(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]] | None:
        """Blob REST: list the container, get a blob; signature required."""
        if not path.startswith("/exports"):
            return None
        if "sig" not in query:
            return 403, None, {}
        if query.get("comp") == ["list"]:
            prefix = (query.get("prefix") or [""])[0]
            items = "".join(
                f"<Blob><Name>{n}</Name><Properties><Last-Modified>{t.strftime('%a, %d %b %Y %H:%M:%S GMT')}"
                f"</Last-Modified><Content-Length>{len(b)}</Content-Length></Properties></Blob>"
                for n, (b, t) in self.blobs.items() if n.startswith(prefix))
            return 200, f"<?xml version=\"1.0\"?><EnumerationResults><Blobs>{items}</Blobs></EnumerationResults>", {}
        name = path[len("/exports/"):]
        if name not in self.blobs:
            return 404, None, {}
        return 200, self.blobs[name][0], {}
