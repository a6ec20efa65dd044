"""Redis on Azure: persistence report, RDB export to Blob storage and its verification,
and key sampling where the tier cannot export, through the real SDKs and a fake ARM."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import redis
from click.testing import CliRunner

from augeoctl import azure
from augeoctl.cli import cli
from augeoctl.local import tools
from tests.conftest import SandboxHandle
from tests.fakearm.cache import FakeRedis
from tests.fakearm.postgres import FlexibleServers
from tests.fakearm.server import TOKEN, FakeArm, TestCredential

pytestmark = pytest.mark.integration


@pytest.fixture()
def rdb_bytes(sandbox: SandboxHandle, tmp_path) -> bytes:
    """A real RDB with known keys, made by the sandbox's redis-server."""
    client = redis.Redis.from_url(sandbox.sandbox.redis_url())
    client.flushall()
    for i in range(120):
        client.set(f"session:{i}", f"v{i}")
    client.save()
    return (sandbox.sandbox.redis_dir / "dump.rdb").read_bytes()


@pytest.fixture()
def env(tmp_path, rdb_bytes):
    arm = FakeArm(tmp_path).start()
    pg = FlexibleServers(arm)
    pg.add_server("psql-augeo-staging")
    fr = FakeRedis(arm, rdb_bytes, resource_group=pg.rg)
    azure.set_credential_factory(lambda e: TestCredential())
    yield arm, fr
    azure.set_credential_factory(None)
    arm.stop()


def config(tmp_path, arm: FakeArm, **extra: object):
    lines = ["[environments.staging]", f'subscription_id = "{arm.subscription}"',
             'resource_group = "rg-augeo-staging"', 'postgres_server = "psql-augeo-staging"',
             f'arm_endpoint = "{arm.url}"', f'ca_bundle = "{arm.ca}"', "poll_interval = 0.05",
             "retry_total = 2"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    path = tmp_path / "envs.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(cfg, *args: str, env_vars: dict[str, str] | None = None):
    r = CliRunner(env=env_vars or {}).invoke(cli, ["--config", str(cfg), "--env", "staging", *args],
                                             catch_exceptions=False)
    return r


def no_secrets(text: str, fr: FakeRedis) -> None:
    for secret in ("c2lnbmF0dXJlLXNlY3JldA", fr.ACCESS_KEY, "U2VjcmV0S2V5MTIz", TOKEN):
        assert secret not in text


def test_managed_redis_export_is_downloaded_and_loaded(tmp_path, env) -> None:
    arm, fr = env
    cfg = config(tmp_path, arm, redis_name="amr-augeo-staging")
    sas = {"AUGEO_REDIS_EXPORT_SAS": fr.sas_url}
    listed = run(cfg, "backup", "list", "-o", "json")
    assert listed.exit_code == 0, listed.output
    info = json.loads(listed.stdout)["settings"]["redis"]
    assert info["service"] == "Azure Managed Redis" and info["rdb_enabled"] and info["rdb_frequency"] == "1h"
    made = run(cfg, "backup", "create", "--redis", "-o", "json", env_vars=sas)
    assert made.exit_code == 0, made.output
    assert len(fr.blobs) == 1
    verified = run(cfg, "backup", "verify", "--redis", "-o", "json", env_vars=sas)
    assert verified.exit_code == 0, verified.output
    checks = {c["name"]: c for c in json.loads(verified.stdout)["results"][0]["checks"]}
    assert checks["load"]["ok"] and "120 keys" in checks["load"]["detail"]
    assert checks["sample"]["ok"]
    for r in (listed, made, verified):
        no_secrets(r.stdout + r.stderr, fr)


def test_a_damaged_export_fails_verification(tmp_path, env) -> None:
    arm, fr = env
    fr.rdb = b"REDIS0011" + b"\x00garbage" * 10
    cfg = config(tmp_path, arm, redis_name="amr-augeo-staging")
    sas = {"AUGEO_REDIS_EXPORT_SAS": fr.sas_url}
    assert run(cfg, "backup", "create", "--redis", env_vars=sas).exit_code == 0
    bad = run(cfg, "backup", "verify", "--redis", "-o", "json", env_vars=sas)
    assert bad.exit_code == 4
    failed = [c for c in json.loads(bad.stdout)["results"][0]["checks"] if not c["ok"]]
    assert failed and failed[0]["name"] == "load"


@pytest.fixture()
def password_redis():
    port = tools.free_port()
    proc = subprocess.Popen([tools.redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                             "--requirepass", FakeRedis.ACCESS_KEY, "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port, password=FakeRedis.ACCESS_KEY)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    for i in range(30):
        client.set(f"k{i}", i)
    yield port
    proc.terminate()
    proc.wait(10)


def test_standard_cache_cannot_export_and_is_verified_by_sampling(tmp_path, env, password_redis) -> None:
    arm, fr = env
    cfg = config(tmp_path, arm, redis_name="acr-augeo", redis_kind="cache", redis_host="127.0.0.1",
                 redis_port=password_redis, redis_tls=False)
    made = run(cfg, "backup", "create", "--redis")
    assert made.exit_code == 2
    assert "cannot export an RDB" in made.stderr and "Premium" in made.stderr
    v = run(cfg, "backup", "verify", "--redis", "-o", "json")
    assert v.exit_code == 0, v.output
    checks = {c["name"]: c for c in json.loads(v.stdout)["results"][0]["checks"]}
    assert "sampling keys" in checks["export"]["detail"]
    assert checks["sample"]["ok"] and "30 keys" in checks["sample"]["detail"]
    listed = run(cfg, "backup", "list", "-o", "json")
    for r in (made, v, listed):
        no_secrets(r.stdout + r.stderr, fr)


def test_premium_cache_exports_with_a_prefix(tmp_path, env) -> None:
    arm, fr = env
    fr.cache_tier = "Premium"
    cfg = config(tmp_path, arm, redis_name="acr-augeo", redis_kind="cache")
    sas = {"AUGEO_REDIS_EXPORT_SAS": fr.sas_url}
    made = run(cfg, "backup", "create", "--redis", "-o", "json", env_vars=sas)
    assert made.exit_code == 0, made.output
    prefix = json.loads(made.stdout)["backups"][0]["id"]
    assert prefix in fr.blobs
    assert "sig=" not in made.stdout
    v = run(cfg, "backup", "verify", "--redis", prefix, env_vars=sas)
    assert v.exit_code == 0, v.output


def test_vv_turns_on_the_sdk_http_logging_without_secrets(tmp_path, env) -> None:
    arm, fr = env
    cfg = config(tmp_path, arm, redis_name="amr-augeo-staging")
    plain = run(cfg, "backup", "list", "-o", "json")
    loud = run(cfg, "-vv", "backup", "list", "-o", "json")
    assert plain.exit_code == loud.exit_code == 0, loud.stderr
    assert "Request URL" not in plain.stderr
    assert "Request URL" in loud.stderr and "Response status" in loud.stderr
    assert json.loads(loud.stdout)["backups"] == json.loads(plain.stdout)["backups"]  # logs stay on stderr
    no_secrets(loud.stderr, fr)
