"""The Azure backend through the real Azure SDK against the fake ARM on loopback.

The restored "server" answers at the address of a real local PostgreSQL (the test
sandbox), so the post-restore connection and verification run for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from augeoctl import azure
from augeoctl.cli import cli
from tests.conftest import SandboxHandle
from tests.fakearm.postgres import SECRET_PASSWORD, FlexibleServers
from tests.fakearm.server import TOKEN, FakeArm, TestCredential

pytestmark = pytest.mark.integration

SOURCE = "psql-augeo-staging"


@pytest.fixture()
def fake(tmp_path: Path):
    arm = FakeArm(tmp_path).start()
    pg = FlexibleServers(arm)
    pg.add_server(SOURCE)
    pg.add_firewall_rule(SOURCE, "office", "203.0.113.10", "203.0.113.20")
    pg.add_config(SOURCE, "max_connections", "400")
    pg.add_config(SOURCE, "work_mem", "4096", source="system-default")
    yield pg
    arm.stop()


@pytest.fixture()
def credential():
    cred = TestCredential()
    azure.set_credential_factory(lambda env: cred)
    yield cred
    azure.set_credential_factory(None)


def write_config(path: Path, fake: FlexibleServers, sandbox: SandboxHandle, **extra: object) -> Path:
    port = sandbox.sandbox.pg_port()
    lines = [
        "[environments.staging]",
        f'subscription_id = "{fake.arm.subscription}"',
        f'resource_group = "{fake.rg}"',
        f'postgres_server = "{SOURCE}"',
        f'arm_endpoint = "{fake.arm.url}"',
        f'ca_bundle = "{fake.arm.ca}"',
        "retry_total = 3",
        "poll_interval = 0.05",
        f"postgres_port = {port}",
        'postgres_sslmode = "disable"',
        'postgres_user = "augeo"',
    ]
    for k, v in extra.items():
        lines.append(f"{k} = {json.dumps(v)}")
    cfg = path / "environments.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def invoke(cfg: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(cfg), "--env", "staging", *args],
                              catch_exceptions=False)


def puts(fake: FlexibleServers, suffix: str) -> list:
    return [r for r in fake.arm.requests if r.method == "PUT" and r.path.endswith(suffix)]


def test_point_in_time_restore_into_a_new_server(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    r = invoke(cfg, "restore", "--to-time", "-1h", "--target", "pitr-staging-1", "-o", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [p["name"] for p in out["phases"]] == ["azure_restore", "reconfigure", "connect", "verify"]
    assert out["verified"] and out["tables"]["app.events"] == 2000
    assert out["reapplied"] == {"firewall_rules": 1, "server_parameters": 1}
    (put,) = puts(fake, "/flexibleServers/pitr-staging-1")
    props = put.body["properties"]
    assert props["createMode"] == "PointInTimeRestore"
    assert props["sourceServerResourceId"] == fake.server_id(SOURCE)
    assert props["pointInTimeUTC"].endswith(("Z", "+00:00"))
    assert put.body["location"] == "westeurope"
    assert put.body["tags"]["created-by"] == "augeoctl"
    # What Azure does not copy was re-applied, and only user overrides.
    assert fake.firewall["pitr-staging-1"]["office"]["properties"]["startIpAddress"] == "203.0.113.10"
    assert set(fake.configs["pitr-staging-1"]) == {"max_connections"}
    # The long-running operation was polled through InProgress.
    polls = fake.arm.calls("GET", r"/operations/")
    assert len(polls) >= 3
    # The source was only read.
    assert not [q for q in fake.arm.requests if q.method != "GET" and q.path.endswith(f"/{SOURCE}")]
    assert credential.scopes[0] == (fake.arm.url + "/.default",)


def test_failed_restore_operation_is_reported_and_cleanup_offered(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    fake.fail_next_restore = "Restore failed due to an internal error"
    r = invoke(cfg, "restore", "--latest", "--target", "broken-one")
    assert r.exit_code == 1
    assert "internal error" in r.stderr and "half-made server" in r.stderr
    assert "targets drop broken-one" in r.stderr
    assert "restored into" not in r.stdout and r.stdout == ""
    listed = invoke(cfg, "targets", "list", "-o", "json")
    assert "broken-one" in {t["name"] for t in json.loads(listed.stdout)["targets"]}
    dropped = invoke(cfg, "targets", "drop", "broken-one", "--yes")
    assert dropped.exit_code == 0, dropped.output
    assert "broken-one" not in fake.servers


def test_throttling_and_server_errors_are_survived(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    fake.arm.inject("GET", rf"/flexibleServers/{SOURCE}$", 429, times=2, retry_after=1)
    fake.arm.inject("GET", r"/firewallRules$", 503, times=1)
    r = invoke(cfg, "restore", "--to-time", "-30m", "--target", "after-throttle", "-o", "json")
    assert r.exit_code == 0, r.output
    statuses = [q.status for q in fake.arm.requests if q.path.endswith(f"/{SOURCE}") and q.method == "GET"]
    assert statuses[:3] == [429, 429, 200]
    assert any(q.status == 503 for q in fake.arm.requests)


def test_persistent_server_errors_exit_with_the_connectivity_code(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    fake.arm.inject("GET", r"/flexibleServers/", 500, times=50)
    r = invoke(cfg, "backup", "list")
    assert r.exit_code == 3
    assert "HTTP 500" in r.stderr and "Traceback" not in r.output


def test_auth_failure_is_reported_as_such(tmp_path, fake, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    azure.set_credential_factory(lambda env: TestCredential("expired-token"))
    try:
        r = invoke(cfg, "backup", "list")
    finally:
        azure.set_credential_factory(None)
    assert r.exit_code == 3
    assert "refused the credentials" in r.stderr and "az login" in r.stderr
    fake.arm.inject("GET", r"/flexibleServers/", 403, times=1)
    azure.set_credential_factory(lambda env: TestCredential())
    try:
        r = invoke(cfg, "backup", "list")
    finally:
        azure.set_credential_factory(None)
    assert r.exit_code == 3 and "403" in r.stderr


def test_time_outside_the_window_and_name_collision_are_refused_before_any_put(
        tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    r = invoke(cfg, "restore", "--to-time", "2001-01-01T00:00:00Z", "--target", "too-old")
    assert r.exit_code == 2 and "before the earliest restorable time" in r.stderr
    r = invoke(cfg, "restore", "--to-time", "+10m", "--target", "future")
    assert r.exit_code == 2 and "in the future" in r.stderr
    fake.add_server("taken", tags={"created-by": "augeoctl"})
    r = invoke(cfg, "restore", "--latest", "--target", "taken")
    assert r.exit_code == 2 and "already exists" in r.stderr
    r = invoke(cfg, "restore", "--latest", "--target", SOURCE)
    assert r.exit_code == 2
    assert not [q for q in fake.arm.requests if q.method == "PUT"]


def test_dry_run_creates_nothing(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    r = invoke(cfg, "restore", "--to-time", "-2h", "--target", "planned", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["plan"]["target"] == "planned"
    assert not [q for q in fake.arm.requests if q.method != "GET"]


def test_backup_list_and_on_demand_backup(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    r = invoke(cfg, "backup", "list", "-o", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["settings"]["retention_days"] == 30
    assert data["settings"]["geo_redundant_backup"] == "Enabled"
    assert data["window"]["earliest"] and data["window"]["latest"]
    made = invoke(cfg, "backup", "create", "-o", "json")
    assert made.exit_code == 0, made.output
    name = json.loads(made.stdout)["backups"][0]["id"]
    assert name in fake.backups[SOURCE]
    fake.servers[SOURCE]["sku"]["tier"] = "Burstable"
    refused = invoke(cfg, "backup", "create")
    assert refused.exit_code == 2 and "Burstable" in refused.stderr


def test_geo_restore_goes_to_the_paired_region_backup(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    r = invoke(cfg, "restore", "--geo", "--target", "geo-copy", "-o", "json")
    assert r.exit_code == 0, r.output
    (put,) = puts(fake, "/flexibleServers/geo-copy")
    assert put.body["properties"]["createMode"] == "GeoRestore"
    fake.servers[SOURCE]["properties"]["backup"]["geoRedundantBackup"] = "Disabled"
    r = invoke(cfg, "restore", "--geo", "--target", "geo-two")
    assert r.exit_code == 2 and "geo-redundant" in r.stderr


def test_dropping_a_server_not_made_by_augeoctl_is_refused(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox)
    fake.add_server("someone-elses")
    r = invoke(cfg, "targets", "drop", "someone-elses", "--yes")
    assert r.exit_code == 2
    assert "someone-elses" in fake.servers


def test_secrets_never_appear_in_output(tmp_path, fake, credential, sandbox) -> None:
    cfg = write_config(tmp_path, fake, sandbox, postgres_auth="password", key_vault_url=fake.arm.url,
                       postgres_secret="pg-admin-password")
    outputs = []
    for args in (["restore", "--to-time", "-10m", "--target", "secret-check", "-o", "json"],
                 ["restore", "--to-time", "-10m", "--target", "secret-check-2", "-v"],
                 ["targets", "list", "-o", "json"], ["backup", "list", "-v"]):
        r = invoke(cfg, *args)
        assert r.exit_code == 0, r.output
        outputs.append(r.stdout + r.stderr)
    # The password was fetched from Key Vault (and used), then never shown.
    assert any(q.path.startswith("/secrets/pg-admin-password") and q.status == 200 for q in fake.arm.requests)
    for text in outputs:
        assert SECRET_PASSWORD not in text
        assert TOKEN not in text


def test_drill_on_azure_restores_verifies_measures_and_deletes(tmp_path, fake, credential, sandbox) -> None:
    import jsonschema

    from augeoctl.drill import model

    cfg = write_config(tmp_path, fake, sandbox)
    home = tmp_path / "home"
    runner = CliRunner(env={"AUGEO_HOME": str(home)})
    refused = runner.invoke(cli, ["--config", str(cfg), "--env", "staging", "dr-drill"], input="")
    assert refused.exit_code == 2 and not [q for q in fake.arm.requests if q.method == "PUT"]
    r = runner.invoke(cli, ["--config", str(cfg), "--env", "staging", "dr-drill", "--yes", "-o", "json"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    jsonschema.validate(data, model.schema())
    assert data["verdict"] == "PASS" and data["environment"] == "staging"
    assert 0.9 <= data["rpo_seconds"] <= 1.1  # restored to one second before the marked disaster
    assert data["rto_seconds"] > 0
    (put,) = [q for q in fake.arm.requests if q.method == "PUT" and "/flexibleServers/drill-" in q.path
              and q.path.count("/") == 8]
    assert put.body["tags"]["augeoctl-drill"] == data["id"]
    name = put.path.rsplit("/", 1)[1]
    assert name not in fake.servers  # deleted after the drill
    assert any(q.method == "DELETE" and q.path.endswith(name) for q in fake.arm.requests)
    kept = runner.invoke(cli, ["--config", str(cfg), "--env", "staging", "dr-drill", "--keep", "-o", "json"],
                         catch_exceptions=False)
    assert kept.exit_code == 0, kept.output
    assert any(n.startswith("drill-") for n in fake.servers)
    for f in (home / "drills").iterdir():
        assert TOKEN not in f.read_text() and SECRET_PASSWORD not in f.read_text()
    hist = runner.invoke(cli, ["dr-drill", "history", "-o", "json"], catch_exceptions=False)
    assert len(json.loads(hist.stdout)["drills"]) == 2


def test_wal_search_and_before_xid_are_refused_on_azure(tmp_path, fake, credential, sandbox) -> None:
    # The WAL of a Flexible Server cannot be read: both say so and point to --to-time.
    cfg = write_config(tmp_path, fake, sandbox)
    r = invoke(cfg, "wal", "search")
    assert r.exit_code == 2 and "cannot be read with pg_waldump" in r.stderr and "--to-time" in r.stderr
    r = invoke(cfg, "restore", "--before-xid", "7352", "--target", "by-xid")
    assert r.exit_code == 2 and "restores to a time, not to a transaction" in r.stderr
    assert "by-xid" not in fake.servers
