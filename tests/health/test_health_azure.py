"""`augeoctl health` and the dashboard's panels on Azure, through the real Azure SDKs.

A fake ARM on loopback serves the Flexible Server, Redis and Azure Monitor metrics (and the
Logs query API); the API and admin front end are small HTTP servers on loopback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from augeoctl import azure
from augeoctl.backends.azure_monitor import AzureMetrics
from augeoctl.cli import cli
from augeoctl.config import Environment
from augeoctl.errors import AugeoError
from tests.fakearm.cache import FakeRedis
from tests.fakearm.monitor import FakeMonitor
from tests.fakearm.postgres import SECRET_PASSWORD, FlexibleServers
from tests.fakearm.server import FakeArm, TestCredential

SERVER = "psql-augeo-staging"
REDIS = "redis-augeo-staging"
PLAN = "asp-augeo-staging"
WORKSPACE = "00000000-0000-0000-0000-00000000beef"


class Site:
    """An HTTP server answering the platform's health endpoints; ``ready`` flips /health/ready."""

    def __init__(self) -> None:
        self.ready = True
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                ok = self.path != "/health/ready" or site.ready
                body = json.dumps({"status": "ok" if ok else "not ready",
                                   "checks": {"database": {"ok": ok}}}).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Platform:
    def __init__(self, tmp_path: Path) -> None:
        self.arm = FakeArm(tmp_path).start()
        self.pg = FlexibleServers(self.arm)
        server = self.pg.add_server(SERVER)
        server["properties"]["highAvailability"] = {"mode": "ZoneRedundant", "state": "Healthy"}
        recent = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
        self.pg.backups[SERVER]["recent"] = {
            "id": server["id"] + "/backups/recent", "name": "recent",
            "properties": {"backupType": "Full", "completedTime": recent.isoformat(), "source": "Automatic"}}
        self.redis = FakeRedis(self.arm, b"")
        self.monitor = FakeMonitor(self.arm)
        self.api, self.admin = Site(), Site()
        sub, rg = self.arm.subscription, self.pg.rg
        self.plan_id = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/serverfarms/{PLAN}"
        self.pg_id = self.pg.server_id(SERVER)
        self.redis_id = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cache/redisEnterprise/{REDIS}"
        for name, value in {"CpuPercentage": 35.0, "MemoryPercentage": 61.5}.items():
            self.monitor.set(self.plan_id, name, value)
        for name, value in {"active_connections": 12, "cpu_percent": 22.0, "memory_percent": 40.0,
                            "storage_percent": 18.0}.items():
            self.monitor.set(self.pg_id, name, value)
        for name, value in {"usedmemorypercentage": 23.0, "connectedclients": 7, "operationsPerSecond": 140,
                            "cachehits": 900, "cachemisses": 100}.items():
            self.monitor.set(self.redis_id, name, value)
        self.monitor.logs_rows = [[1200, 6, 140.0, 80.0, 420.0, 900.0, 4.0, 0.005]]

    def settings(self, **extra: Any) -> dict[str, Any]:
        return {"subscription_id": self.arm.subscription, "resource_group": self.pg.rg,
                "postgres_server": SERVER, "redis_name": REDIS, "app_service_plan": PLAN,
                "log_analytics_workspace_id": WORKSPACE, "api_url": self.api.url, "admin_url": self.admin.url,
                "arm_endpoint": self.arm.url, "logs_endpoint": self.arm.url, "ca_bundle": str(self.arm.ca),
                "retry_total": 3, "key_vault": "kv-augeo-staging", "postgres_secret": "pg-admin-password",
                **extra}

    def config(self, folder: Path, **extra: Any) -> Path:
        lines = ["[environments.staging]"] + [f"{k} = {json.dumps(v)}" for k, v in self.settings(**extra).items()]
        path = folder / "environments.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def stop(self) -> None:
        self.api.stop()
        self.admin.stop()
        self.arm.stop()


@pytest.fixture()
def platform(tmp_path: Path) -> Iterator[Platform]:
    cred = TestCredential()
    azure.set_credential_factory(lambda env: cred)
    p = Platform(tmp_path)
    yield p
    p.stop()
    azure.set_credential_factory(None)


def health(cfg: Path, home: Path) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "--env", "staging", "health", "--output", "json"],
                                env={"AUGEO_HOME": str(home)}, catch_exceptions=False)
    out = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result.exit_code, out, result.stdout + result.stderr


def by_name(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in out["checks"]}


def test_healthy_azure_environment_passes_every_check(platform: Platform, tmp_path: Path) -> None:
    code, out, text = health(platform.config(tmp_path), tmp_path / "home")
    checks = by_name(out)
    assert code == 0, text
    host = platform.api.url.removeprefix("http://")
    assert checks[f"http {host}/health/ready"]["ok"]
    assert "App Service plan asp-augeo-staging CPU 35%" in checks["alert cpu"]["detail"]
    assert "memory 61.5%" in checks["alert memory"]["detail"]
    assert checks["alert error-rate"]["ok"] and "0.5% of 1200" in checks["alert error-rate"]["detail"]
    assert "psql-augeo-staging Ready, 12 connections" in checks["postgres"]["detail"]
    assert checks["postgres-ha"]["ok"] and "ZoneRedundant" in checks["postgres-ha"]["detail"]
    assert "RDB persistence every 1h" in checks["redis"]["detail"]
    assert checks["backup-age"]["ok"] and "3 h 00 min old" in checks["backup-age"]["detail"]
    assert SECRET_PASSWORD not in text and FakeRedis.ACCESS_KEY not in text
    # The metrics were asked of Azure Monitor for each resource, with its own grain.
    metric_calls = platform.arm.calls("GET", "Microsoft.Insights/metrics")
    assert any("serverfarms" in c.path for c in metric_calls)
    assert any("redisEnterprise" in c.path and c.query["interval"] == ["PT5M"] for c in metric_calls)


def test_firing_alerts_and_unhealthy_parts_fail_with_the_verdict_code(platform: Platform, tmp_path: Path) -> None:
    platform.monitor.set(platform.plan_id, "CpuPercentage", 92.0)
    platform.monitor.logs_rows = [[1200, 90, 3400.0, 80.0, 4000.0, 9000.0, 4.0, 0.075]]
    platform.pg.servers[SERVER]["properties"]["highAvailability"]["state"] = "FailingOver"
    platform.admin.ready = False
    code, out, text = health(platform.config(tmp_path, redis_kind="cache"), tmp_path / "home")
    assert code == 4, text
    failed = {name for name, c in by_name(out).items() if not c["ok"]}
    admin = platform.admin.url.removeprefix("http://")
    assert failed == {"alert cpu", "alert error-rate", "alert response-time", "postgres-ha",
                      f"http {admin}/health/ready", "redis"}
    assert "RDB persistence OFF" in by_name(out)["redis"]["detail"]
    assert "not ready: database" in by_name(out)[f"http {admin}/health/ready"]["detail"]


def test_throttling_is_retried_and_refused_credentials_become_a_failed_check(platform: Platform, tmp_path: Path) -> None:
    cfg = platform.config(tmp_path)
    platform.arm.inject("GET", "serverfarms/.*/metrics", 429, times=1, retry_after=1)
    code, out, text = health(cfg, tmp_path / "home")
    assert code == 0, text
    statuses = [c.status for c in platform.arm.calls("GET", "serverfarms/.*/metrics")]
    assert statuses[:2] == [429, 200]
    platform.arm.inject("GET", "serverfarms/.*/metrics", 403, times=5)
    code, out, text = health(cfg, tmp_path / "home")
    assert code == 4
    plan = by_name(out)["app-service-plan"]
    assert not plan["ok"] and "HTTP 403" in plan["detail"]
    assert "alert cpu" not in by_name(out)  # no reading is not a passing reading


def test_a_metric_the_resource_does_not_publish_is_a_clear_error(platform: Platform) -> None:
    env = Environment("staging", "azure", platform.settings())
    metrics = AzureMetrics(env, TestCredential())
    with pytest.raises(AugeoError, match="Failed to find metric configuration"):
        metrics.latest(platform.plan_id, {"cpu_percent": "Average"})
    # The newest grain is still empty on Azure: the newest value comes from the one before.
    got = metrics.latest(platform.plan_id, {"CpuPercentage": "Average", "HttpQueueLength": "Average"})
    assert got["CpuPercentage"].value == 35.0 and got["CpuPercentage"].at is not None
    assert got["HttpQueueLength"].value is None


def test_dashboard_panels_on_azure(platform: Platform, tmp_path: Path) -> None:
    from augeoctl.dashboard.app import Dashboard, Panel
    from augeoctl.dashboard.sources import azure_sources

    env = Environment("staging", "azure", platform.settings())
    sources = azure_sources(env, tmp_path, TestCredential())
    assert list(sources) == ["API", "Admin", "Traffic", "Alerts", "Compute", "PostgreSQL", "Redis",
                             "Last DR drill"]
    compute = sources["Compute"]()
    assert compute.state == "ok" and "CPU 35.0%   memory 61.5%" in compute.lines[1]
    pg = sources["PostgreSQL"]()
    assert pg.state == "ok" and "Ready   HA ZoneRedundant (Healthy)" in pg.lines[0]
    assert "connections 12" in pg.lines[1] and "set metrics.collector_database_activity=on" in pg.lines[2]
    assert "newest backup 3 h 00 min ago" in pg.lines[3]
    assert not any(line.startswith("tx/s ") for line in pg.lines)  # no trend without the metric
    platform.monitor.set(platform.pg_id, "xact_commit", 3000)
    platform.monitor.set(platform.pg_id, "longest_query_time_sec", 4.5)
    pg = sources["PostgreSQL"]()
    assert pg.lines[2] == "longest query 4.5 s"
    assert pg.lines[4].startswith("tx/s        " + " █") and pg.lines[4].endswith(" 50.0/s")
    redis = sources["Redis"]()
    assert redis.state == "ok" and "hit ratio 90.0%" in redis.lines[1] and "RDB every 1h" in redis.lines[2]
    # ops/s from Azure Monitor, one point per reading; a failed read is a ×, not a value
    platform.monitor.set(platform.redis_id, "operationsPerSecond", 280)
    sources["Redis"]()
    platform.arm.inject("GET", "redisEnterprise/.*/metrics", 403)
    down = sources["Redis"]()
    assert down.state == "error" and down.lines[-1].startswith("ops/s       ▄█×") and down.lines[-1].endswith(" failed")
    platform.monitor.set(platform.redis_id, "operationsPerSecond", 140)
    assert sources["Redis"]().lines[-1].startswith("ops/s       ▄█×▄ ")
    platform.monitor.set(platform.plan_id, "MemoryPercentage", 85.0)
    alerts = sources["Alerts"]()
    assert alerts.state == "degraded" and alerts.lines[0].startswith("FIRING memory")

    async def run() -> None:
        app = Dashboard(sources, interval=1.0)
        async with app.run_test(size=(160, 60)) as pilot:
            deadline = asyncio.get_running_loop().time() + 60
            while any(p.state == "waiting" for p in app.query(Panel)):
                assert asyncio.get_running_loop().time() < deadline, "panels never answered"
                await pilot.pause(0.1)
            states = {p.title_text: p.state for p in app.query(Panel)}
            assert states["Compute"] == "degraded" and states["PostgreSQL"] == "ok"
            assert states["Redis"] == "ok" and states["API"] == "ok"
    asyncio.run(run())
