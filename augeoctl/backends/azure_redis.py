"""Redis on Azure: persistence report, RDB export to Blob storage, verification.

Two services: Azure Managed Redis (``redis_kind = "managed"``, Microsoft.Cache/
redisEnterprise, the platform's choice) and Azure Cache for Redis (``redis_kind =
"cache"``, retiring). Where the service can export an RDB (Managed Redis; Cache for
Redis Premium), ``backup create`` exports it to a Blob container and ``backup verify``
downloads it and loads it into a throwaway local ``redis-server``. Where it cannot
(Cache for Redis Basic/Standard), the tool says so and verifies by sampling keys of the
live cache instead. The container's SAS URL and the access keys are secrets: they are
read at run time and never printed.
"""

from __future__ import annotations

import re
import ssl
import tempfile
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl import azure
from augeoctl.backends.base import BackupInfo, Check, RedisBackend, VerifyResult
from augeoctl.config import Environment
from augeoctl.errors import BackupError, DependencyError, UsageError
from augeoctl.progress import Reporter

SAMPLE = 20


def _val(value: Any) -> Any:
    return getattr(value, "value", value)


def _redact(url: str) -> str:
    """A SAS URL without its query (the signature)."""
    return url.split("?", 1)[0]


class AzureRedisBackend(RedisBackend):
    def __init__(self, env: Environment) -> None:
        self.env = env
        self.kind = str(env.get("redis_kind", "managed"))
        if self.kind not in ("managed", "cache"):
            raise UsageError(f'redis_kind "{self.kind}" is not known', hint='use "managed" or "cache"')
        self.name = env.get("redis_name")
        if not self.name:
            raise UsageError(f"environment {env.name} has no redis_name", hint="add redis_name to its config")
        self.rg = str(env.get("resource_group"))
        self._client: Any = None
        self._exported: dict[str, str] = {}

    # -- clients --------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            cred = azure.credential(self.env)
            sub = str(self.env.get("subscription_id"))
            if self.kind == "managed":
                from azure.mgmt.redisenterprise import RedisEnterpriseManagementClient

                self._client = RedisEnterpriseManagementClient(cred, sub, **azure.client_kwargs(self.env))
            else:
                from azure.mgmt.redis import RedisManagementClient

                self._client = RedisManagementClient(cred, sub, **azure.client_kwargs(self.env))
        return self._client

    def _lro(self) -> dict[str, Any]:
        interval = self.env.get("poll_interval")
        return {"polling_interval": float(interval)} if interval is not None else {}

    # -- what the service is and can do ---------------------------------------------

    def describe(self) -> dict[str, Any]:
        with azure.translated(f"reading Redis {self.name}"):
            if self.kind == "managed":
                db = self.client.databases.get(self.rg, self.name, "default")
                p = db.persistence
                return {
                    "service": "Azure Managed Redis", "name": self.name,
                    "rdb_enabled": bool(p and p.rdb_enabled), "rdb_frequency": _val(p.rdb_frequency) if p else None,
                    "aof_enabled": bool(p and p.aof_enabled), "aof_frequency": _val(p.aof_frequency) if p else None,
                    "client_protocol": _val(db.client_protocol), "can_export": True,
                }
            cache = self.client.redis.get(self.rg, self.name)
            cfg = cache.redis_configuration
            tier = _val(cache.sku.name) if cache.sku else None
            return {
                "service": "Azure Cache for Redis", "name": self.name, "tier": tier,
                "rdb_enabled": (getattr(cfg, "rdb_backup_enabled", None) or "false").lower() == "true",
                "rdb_frequency_minutes": getattr(cfg, "rdb_backup_frequency", None),
                "aof_enabled": (getattr(cfg, "aof_backup_enabled", None) or "false").lower() == "true",
                "minimum_tls_version": _val(cache.minimum_tls_version),
                "can_export": tier == "Premium",
            }

    def _sas_url(self) -> str:
        """The export container's SAS URL: AUGEO_REDIS_EXPORT_SAS, or a Key Vault secret."""
        value = self.env.get("redis_export_sas")  # from AUGEO_REDIS_EXPORT_SAS, never from a file
        if value:
            return str(value)
        secret = self.env.get("redis_export_secret")
        if not secret:
            raise UsageError(
                "no Blob container to export the RDB to",
                hint="set redis_export_secret (a Key Vault secret holding the container's SAS URL) "
                     "or AUGEO_REDIS_EXPORT_SAS",
            )
        return azure.read_secret(self.env, str(secret))

    # -- the seam ---------------------------------------------------------------

    def list_backups(self) -> list[BackupInfo]:
        # Azure keeps its own persistence files out of reach; exports live in the
        # container and are listed from there by `backup verify --redis`.
        return []

    def create_backup(self, reporter: Reporter) -> BackupInfo:
        info = self.describe()
        if not info["can_export"]:
            raise UsageError(
                f"{info['service']} {info.get('tier')} cannot export an RDB (export is Premium-only)",
                hint="`augeoctl backup verify --redis` samples the live cache's keys instead",
            )
        sas = self._sas_url()
        prefix = "augeoctl-" + datetime.now(UTC).strftime("%Y%m%dt%H%M%Sz")
        started = datetime.now(UTC)
        with reporter.step(f"export RDB of {self.name}"), azure.translated(f"export of Redis {self.name}"):
            if self.kind == "managed":
                from azure.mgmt.redisenterprise.models import ExportClusterParameters

                poller = self.client.databases.begin_export(
                    self.rg, self.name, "default", ExportClusterParameters(sas_uri=sas), **self._lro())
            else:
                from azure.mgmt.redis.models import ExportRDBParameters

                poller = self.client.redis.begin_export_data(
                    self.rg, self.name, ExportRDBParameters(prefix=prefix, container=sas, format="RDB"),
                    **self._lro())
            while not poller.done():
                reporter.status(f"export {poller.status()}")
                poller.wait(timeout=1.0)
            poller.result()
        blob = self._newest_blob(sas, since=started, prefix=prefix if self.kind == "cache" else None)
        self._exported[prefix] = blob
        return BackupInfo(id=prefix, kind="redis", started_at=started, finished_at=datetime.now(UTC),
                          location=_redact(self._blob_url(sas, blob)), extra={"blob": blob})

    def verify_backup(self, backup_id: str | None, reporter: Reporter) -> VerifyResult:
        info = self.describe()
        persisted = info["rdb_enabled"] or info["aof_enabled"]
        if info["can_export"]:
            checks = [Check("persistence", persisted,
                            f"{info['service']}: RDB {'on' if info['rdb_enabled'] else 'off'}"
                            f", AOF {'on' if info['aof_enabled'] else 'off'}")]
        else:  # Basic/Standard have no persistence to switch on: say so, do not fail on it
            checks = [Check("persistence", True,
                            f"{info['service']} {info.get('tier')}: no RDB/AOF persistence on this tier; "
                            "the data lives in memory (and its replica on Standard)")]
        if not info["can_export"]:
            checks.append(Check("export", True, f"{info.get('tier')} tier cannot export an RDB; "
                                                "verified by sampling keys of the live cache instead"))
            checks.extend(self._sample_live(reporter))
            return VerifyResult(backup_id or "live", "redis", tuple(checks))
        sas = self._sas_url()
        blob = self._exported.get(backup_id or "") or self._newest_blob(sas, prefix=backup_id)
        with tempfile.TemporaryDirectory(prefix="augeo-redis-export-") as tmp:
            rdb = Path(tmp) / "dump.rdb"
            with reporter.step(f"download {blob}"):
                self._download(self._blob_url(sas, blob), rdb)
            from augeoctl.backends.local_redis import ThrowawayRedis

            try:
                with reporter.step("load into a throwaway redis-server"), ThrowawayRedis(rdb) as tr:
                    c = tr.client()
                    count = c.dbsize()
                    keys = [c.randomkey() for _ in range(min(SAMPLE, count))]
                    readable = sum(1 for k in keys if k is not None and c.type(k) != b"none")
                checks.append(Check("load", True, f"{blob} loads: {count} keys"))
                checks.append(Check("sample", readable == len(keys), f"{readable} of {len(keys)} sampled keys readable"))
            except BackupError as exc:
                checks.append(Check("load", False, exc.message))
        return VerifyResult(backup_id or blob, "redis", tuple(checks))

    # -- helpers ------------------------------------------------------------------

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.env.get("ca_bundle"):
            ctx.load_verify_locations(str(self.env.get("ca_bundle")))
        return ctx

    def _blob_url(self, sas: str, blob: str) -> str:
        base, _, query = sas.partition("?")
        return f"{base.rstrip('/')}/{urllib.parse.quote(blob)}" + (f"?{query}" if query else "")

    def _newest_blob(self, sas: str, since: datetime | None = None, prefix: str | None = None) -> str:
        base, _, query = sas.partition("?")
        url = f"{base}?restype=container&comp=list" + (f"&{query}" if query else "")
        if prefix:
            url += "&prefix=" + urllib.parse.quote(prefix)
        try:
            with urllib.request.urlopen(url, context=self._ssl(), timeout=30) as resp:
                root = ET.fromstring(resp.read())
        except OSError as exc:
            raise DependencyError(f"cannot list the export container {_redact(sas)}: {_scrub(str(exc))}") from None
        blobs = []
        for b in root.iter("Blob"):
            name = b.findtext("Name") or ""
            modified = b.findtext("Properties/Last-Modified") or ""
            try:
                when = datetime.strptime(modified, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
            except ValueError:
                when = datetime.min.replace(tzinfo=UTC)
            if since is None or when >= since.replace(microsecond=0):
                blobs.append((when, name))
        if not blobs:
            raise BackupError(f"no exported RDB found in {_redact(sas)}" + (f" with prefix {prefix}" if prefix else ""))
        return max(blobs)[1]

    def _download(self, url: str, dest: Path) -> None:
        try:
            with urllib.request.urlopen(url, context=self._ssl(), timeout=300) as resp, dest.open("wb") as fh:
                while chunk := resp.read(1 << 20):
                    fh.write(chunk)
        except OSError as exc:
            raise DependencyError(f"cannot download {_redact(url)}: {_scrub(str(exc))}") from None

    def _sample_live(self, reporter: Reporter) -> list[Check]:
        import redis

        host = self.env.get("redis_host") or f"{self.name}.redis.cache.windows.net"
        port = int(self.env.get("redis_port", 6380))
        with azure.translated(f"reading the access key of {self.name}"):
            key = self.client.redis.list_keys(self.rg, self.name).primary_key
        client = redis.Redis(host=str(host), port=port, password=key, ssl=bool(self.env.get("redis_tls", True)),
                             socket_timeout=10)
        try:
            with reporter.step("sample keys of the live cache"):
                count = client.dbsize()
                keys = [client.randomkey() for _ in range(min(SAMPLE, count))]
                readable = sum(1 for k in keys if k is not None and client.type(k) != b"none")
        except redis.exceptions.RedisError as exc:
            return [Check("sample", False, f"cannot read the cache: {_scrub(str(exc))}")]
        return [Check("sample", readable == len(keys), f"{count} keys; {readable} of {len(keys)} sampled keys readable")]


def _scrub(text: str) -> str:
    return re.sub(r"(sig|se|sp|sv|skoid|sktid)=[^&\s]+", r"\1=***", text)

