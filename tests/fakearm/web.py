"""App Service on the fake ARM: a web app with a staging slot, its app settings, restarts and
the swap, plus one loopback HTTP server per slot serving the slot's health endpoints.

Shapes follow the azure-rest-api-specs description of Microsoft.Web (``WebApps.json``,
api-version 2025-05-01 as azure-mgmt-web 11 sends it) and its examples under
specification/web/resource-manager/Microsoft.Web/.../examples:

- ``GetWebApp.json`` (WebApps_Get) and ``GetWebAppSlot.json`` (WebApps_GetSlot):
  ``GET sites/{name}`` and ``GET sites/{name}/slots/{slot}``; a slot's ``name`` is
  ``site/slot`` and its ``properties.defaultHostName`` ``site-slot.azurewebsites.net``;
- ``ListAppSettings.json`` (WebApps_ListApplicationSettings, and ..._ListApplicationSettingsSlot):
  ``POST .../config/appsettings/list`` answers a ``StringDictionary`` (``properties``:
  name -> value);
- ``UpdateAppSettings.json`` (WebApps_UpdateApplicationSettings, and ...Slot):
  ``PUT .../config/appsettings`` *replaces* the settings with the body's ``properties``;
- WebApps_ListSlotConfigurationNames: ``GET sites/{name}/config/slotConfigNames`` (the
  sticky setting names, ``appSettingNames``);
- WebApps_RestartSlot: ``POST .../slots/{slot}/restart``, 200 with no body;
- WebApps_SwapSlotWithProduction (``x-ms-long-running-operation``, responses 200 and 202):
  ``POST sites/{name}/slotsswap`` with ``{"targetSlot", "preserveVnet"}`` answers 202 with
  ``Location`` and ``Azure-AsyncOperation``, then the SDK polls until Succeeded or Failed.

A swap exchanges the slots' code and every app setting not named in ``slotConfigNames``
when the operation succeeds, and nothing when it fails. Each slot's health server reads
the slot's current ``AUGEO_RELEASE``, so the version served follows the swap, and
``/health/ready`` answers 200 or 503 as the test sets ``ready[slot]``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakearm.server import FakeArm, Request, Response, arm_error

SITES = "Microsoft.Web/sites"
SLOT_NAMES = ("production", "staging")
# A secret app setting (a connection string the app reads): must never appear in output.
SECRET_SETTING = "SESSION_SECRET_KEY"
SECRET_VALUE = "s3ssion-Secr3t-9f2c61a0d4"


class WebApps:
    """One web app (``name``) with a ``staging`` slot, on the fake ARM."""

    def __init__(self, arm: FakeArm, name: str = "app-augeo-staging-api",
                 resource_group: str = "rg-augeo-staging") -> None:
        self.arm = arm
        self.name = name
        self.rg = resource_group
        common = {"POSTGRES_HOST": "psql-augeo-staging.postgres.database.azure.com",
                  SECRET_SETTING: SECRET_VALUE}
        self.settings: dict[str, dict[str, str]] = {
            "production": {**common, "AUGEO_ENVIRONMENT": "staging", "AUGEO_RELEASE": "1.3.0"},
            "staging": {**common, "AUGEO_ENVIRONMENT": "staging-staging-slot", "AUGEO_RELEASE": "1.2.0"},
        }
        self.code = {"production": "code-1.3.0", "staging": "code-1.2.0"}
        self.sticky: list[str] = ["AUGEO_ENVIRONMENT", "POSTGRES_DATABASE"]
        self.restarts: dict[str, int] = {"production": 0, "staging": 0}
        self.ready: dict[str, bool] = {"production": True, "staging": True}
        self.swaps: list[dict[str, Any]] = []
        self.lro_polls = 2
        self.fail_next_swap: str | None = None
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self.urls: dict[str, str] = {}  # slot -> base URL of its health server (serve_health)
        self._install()

    # -- state ------------------------------------------------------------------------------

    def site_id(self, slot: str = "production") -> str:
        base = f"/subscriptions/{self.arm.subscription}/resourceGroups/{self.rg}/providers/{SITES}/{self.name}"
        return base if slot == "production" else f"{base}/slots/{slot}"

    def host(self, slot: str) -> str:
        return f"{self.name}.azurewebsites.net" if slot == "production" else f"{self.name}-{slot}.azurewebsites.net"

    def site(self, slot: str) -> dict[str, Any]:
        return {
            "id": self.site_id(slot), "name": self.name if slot == "production" else f"{self.name}/{slot}",
            "type": SITES if slot == "production" else f"{SITES}/slots", "kind": "app,linux",
            "location": self.arm.location,
            "properties": {"state": "Running", "defaultHostName": self.host(slot), "hostNames": [self.host(slot)],
                           "enabled": True, "httpsOnly": True, "resourceGroup": self.rg},
        }

    def release(self, slot: str) -> str | None:
        return self.settings[slot].get("AUGEO_RELEASE")

    def hold(self, production: str, staging: str) -> None:
        """Put these releases (settings and code) into the slots, as after a deployment."""
        for slot, version in (("production", production), ("staging", staging)):
            self.settings[slot]["AUGEO_RELEASE"] = version
            self.code[slot] = f"code-{version}"

    # -- health servers -----------------------------------------------------------------------

    def serve_health(self) -> dict[str, str]:
        """Start one loopback HTTP server per slot; returns slot -> base URL."""
        urls = {}
        for slot in SLOT_NAMES:
            httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._health_handler(slot))
            httpd.daemon_threads = True
            threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self._servers[slot] = httpd
            urls[slot] = f"http://127.0.0.1:{httpd.server_address[1]}"
        self.urls = urls
        return urls

    def stop(self) -> None:
        for httpd in self._servers.values():
            httpd.shutdown()
            httpd.server_close()

    def _health_handler(self, slot: str) -> type[BaseHTTPRequestHandler]:
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with fake.arm.lock:
                    version, ready = fake.release(slot), fake.ready[slot]
                if self.path == "/health":
                    status, body = 200, {"status": "ok", "version": version}
                elif self.path == "/health/live":
                    status, body = 200, {"status": "ok"}
                elif self.path == "/health/ready":
                    status, body = (200, {"status": "ready"}) if ready else (503, {"status": "not ready"})
                else:
                    status, body = 404, {"detail": "Not Found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return H

    # -- routes -------------------------------------------------------------------------------

    def _swap(self) -> None:
        """What a successful swap does: code and non-sticky settings change places."""
        prod, staging = self.settings["production"], self.settings["staging"]
        for key in set(prod) | set(staging):
            if key in self.sticky:
                continue
            a, b = prod.pop(key, None), staging.pop(key, None)
            if b is not None:
                prod[key] = b
            if a is not None:
                staging[key] = a
        self.code["production"], self.code["staging"] = self.code["staging"], self.code["production"]

    def _install(self) -> None:
        arm = self.arm
        site = rf"/subscriptions/{arm.subscription}/resourceGroups/{self.rg}/providers/Microsoft\.Web/sites/{self.name}"
        slot = site + r"/slots/(?P<slot>[^/]+)"

        def known(req: Request) -> str | None:
            """The slot a request names (production for the site's own routes); None if unknown."""
            name = req.match.get("slot")
            if name is None:
                return "production"
            return name if name in self.settings and name != "production" else None

        def missing(req: Request) -> Response:
            return arm_error(404, "ResourceNotFound",
                             f"The Resource '{SITES}/{self.name}/slots/{req.match.get('slot')}' was not found.")

        @arm.route("GET", site)
        def get_site(req: Request) -> Response:  # GetWebApp.json
            return Response(200, self.site("production"))

        @arm.route("GET", slot)
        def get_slot(req: Request) -> Response:  # GetWebAppSlot.json
            name = known(req)
            return Response(200, self.site(name)) if name else missing(req)

        def list_settings(req: Request) -> Response:  # ListAppSettings.json
            name = known(req)
            if name is None:
                return missing(req)
            return Response(200, {"id": self.site_id(name) + "/config/appsettings", "name": "appsettings",
                                  "type": f"{SITES}/config", "properties": dict(self.settings[name])})

        def put_settings(req: Request) -> Response:  # UpdateAppSettings.json
            name = known(req)
            if name is None:
                return missing(req)
            props = (req.body or {}).get("properties")
            if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
                return arm_error(400, "BadRequest", "properties must map setting names to strings")
            self.settings[name] = dict(props)
            return Response(200, {"id": self.site_id(name) + "/config/appsettings", "name": "appsettings",
                                  "type": f"{SITES}/config", "properties": dict(props)})

        arm.route("POST", site + r"/config/appsettings/list", list_settings)
        arm.route("POST", slot + r"/config/appsettings/list", list_settings)
        arm.route("PUT", site + r"/config/appsettings", put_settings)
        arm.route("PUT", slot + r"/config/appsettings", put_settings)

        @arm.route("GET", site + r"/config/slotConfigNames")
        def slot_config_names(req: Request) -> Response:  # WebApps_ListSlotConfigurationNames
            return Response(200, {"id": self.site_id() + "/config/slotConfigNames", "name": "slotConfigNames",
                                  "properties": {"appSettingNames": list(self.sticky),
                                                 "connectionStringNames": []}})

        def restart(req: Request) -> Response:  # WebApps_Restart / WebApps_RestartSlot
            name = known(req)
            if name is None:
                return missing(req)
            self.restarts[name] += 1
            return Response(200)

        arm.route("POST", site + r"/restart", restart)
        arm.route("POST", slot + r"/restart", restart)

        @arm.route("POST", site + r"/slotsswap")
        def swap(req: Request) -> Response:  # WebApps_SwapSlotWithProduction, x-ms-long-running-operation
            body = req.body or {}
            target = body.get("targetSlot")
            if target not in self.settings or target == "production":
                return arm_error(400, "BadRequest", f"targetSlot {target!r} is not a slot of {self.name}")
            self.swaps.append(dict(body))
            error, self.fail_next_swap = self.fail_next_swap, None
            headers = arm.lro(None, polls=self.lro_polls, outcome="Failed" if error else "Succeeded",
                              error={"code": "SwapFailed", "message": error} if error else None,
                              on_done=None if error else self._swap)
            return Response(202, None, headers)
