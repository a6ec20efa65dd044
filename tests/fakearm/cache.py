"""Microsoft.Cache on the fake ARM (Managed Redis and Cache for Redis) and a Blob container.

RDB exports are long-running operations that write a blob into the container; the
container answers Blob REST (list, get) only to requests signed with its SAS.
"""

from __future__ import annotations

import datetime as dt
import uuid

from tests.fakearm.server import FakeArm, Request, Response, arm_error


class FakeRedis:
    CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=augeo;AccountKey=U2VjcmV0S2V5MTIz;"
    ACCESS_KEY = "redis-access-key-9f8e7d"
    SAS = "sv=2024-01-01&sr=c&sp=rwl&sig=c2lnbmF0dXJlLXNlY3JldA%3D%3D"

    def __init__(self, arm: FakeArm, rdb: bytes, resource_group: str = "rg-augeo-staging") -> None:
        self.arm = arm
        self.rdb = rdb
        self.blobs: dict[str, tuple[bytes, dt.datetime]] = {}
        self.cache_tier = "Standard"
        arm.public.append(self.serve_blob)
        base = rf"/subscriptions/{arm.subscription}/resourceGroups/{resource_group}/providers/Microsoft\.Cache"

        @arm.route("GET", base + r"/redisEnterprise/(?P<name>[^/]+)/databases/default")
        def get_db(req: Request) -> Response:
            return Response(200, {
                "id": req.path, "name": "default",
                "properties": {"clientProtocol": "Encrypted", "port": 10000,
                               "persistence": {"aofEnabled": False, "rdbEnabled": True, "rdbFrequency": "1h"}}})

        @arm.route("POST", base + r"/redisEnterprise/(?P<name>[^/]+)/databases/default/export")
        def export_db(req: Request) -> Response:
            if "sig=" not in (req.body or {}).get("sasUri", ""):
                return arm_error(400, "InvalidSasUri", "sasUri needs a signature")
            name = f"{req.match['name']}-{uuid.uuid4().hex[:6]}.rdb"
            return Response(202, None, arm.lro(None, on_done=lambda: self._write(name)))

        @arm.route("GET", base + r"/redis/(?P<name>[^/]+)")
        def get_cache(req: Request) -> Response:
            return Response(200, {
                "id": req.path, "name": req.match["name"], "location": arm.location,
                "properties": {"sku": {"name": self.cache_tier, "family": "C", "capacity": 1},
                               "minimumTlsVersion": "1.2", "hostName": "127.0.0.1",
                               "redisConfiguration": {
                                   "rdb-backup-enabled": "true" if self.cache_tier == "Premium" else "false",
                                   "rdb-backup-frequency": "60",
                                   "rdb-storage-connection-string": self.CONNECTION_STRING}}})

        @arm.route("POST", base + r"/redis/(?P<name>[^/]+)/listKeys")
        def list_keys(req: Request) -> Response:
            return Response(200, {"primaryKey": self.ACCESS_KEY, "secondaryKey": self.ACCESS_KEY + "-2"})

        @arm.route("POST", base + r"/redis/(?P<name>[^/]+)/export")
        def export_cache(req: Request) -> Response:
            if self.cache_tier != "Premium":
                return arm_error(400, "FeatureNotSupportedForSku", "Export is only supported on Premium")
            prefix = (req.body or {}).get("prefix", "export")
            return Response(202, None, arm.lro(None, on_done=lambda: self._write(prefix)))

    def _write(self, name: str) -> None:
        self.blobs[name] = (self.rdb, dt.datetime.now(dt.UTC))

    @property
    def sas_url(self) -> str:
        return f"{self.arm.url}/exports?{self.SAS}"

    def serve_blob(self, req: Request) -> Response | None:
        """Blob REST on /exports: list the container, get a blob; the SAS signature is required."""
        if not req.path.startswith("/exports"):
            return None
        if "sig" not in req.query:
            return Response(403)
        if req.query.get("comp") == ["list"]:
            prefix = (req.query.get("prefix") or [""])[0]
            items = "".join(
                f"<Blob><Name>{n}</Name><Properties><Last-Modified>{t.strftime('%a, %d %b %Y %H:%M:%S GMT')}"
                f"</Last-Modified><Content-Length>{len(b)}</Content-Length></Properties></Blob>"
                for n, (b, t) in self.blobs.items() if n.startswith(prefix))
            return Response(200, f'<?xml version="1.0"?><EnumerationResults><Blobs>{items}</Blobs></EnumerationResults>')
        name = req.path[len("/exports/"):]
        if name not in self.blobs:
            return Response(404)
        return Response(200, self.blobs[name][0])

