"""The Azure backend through the real Azure SDK against the fake ARM on loopback.

The fake follows the REST specification (see tests/fakearm/postgres.py). The restored
"server" answers at the address of a real local PostgreSQL set up like a Flexible Server
(tests/azure/standin.py: TLS only, SCRAM, the Key Vault password and the Entra token as
passwords), so the post-restore connection, verification and the drill's RTO run for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from augeoctl import azure
from augeoctl.cli import cli
from tests.azure import standin as standin_server
from tests.fakearm.postgres import SECRET_PASSWORD, FlexibleServers
from tests.fakearm.server import TOKEN, FakeArm, TestCredential

pytestmark = pytest.mark.integration

SOURCE = "psql-augeo-staging"
SUBNET = ("/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-augeo-staging/providers/"
          "Microsoft.Network/virtualNetworks/vnet-augeo/subnets/snet-postgres")
ZONE = ("/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-augeo-staging/providers/"
        "Microsoft.Network/privateDnsZones/augeo-staging.postgres.database.azure.com")


@pytest.fixture(scope="module")
def standin():
    server = standin_server.start(SECRET_PASSWORD, TOKEN)
    yield server
    server.stop()


@pytest.fixture()
def fake(tmp_path: Path):
    arm = FakeArm(tmp_path).start()
    pg = FlexibleServers(arm)
    pg.add_server(SOURCE)
    # Three rules: more than one page (nextLink) of the list.
    pg.add_firewall_rule(SOURCE, "office", "203.0.113.10", "203.0.113.20")
    pg.add_firewall_rule(SOURCE, "pipeline", "198.51.100.7", "198.51.100.7")
    pg.add_firewall_rule(SOURCE, "vpn", "192.0.2.1", "192.0.2.9")
    pg.add_managed_configs(SOURCE)  # read-only, shown as user-override
    pg.add_config(SOURCE, "max_connections", "400", dynamic=False)  # static
    pg.add_config(SOURCE, "statement_timeout", "30000", dynamic=True)
    pg.add_config(SOURCE, "work_mem", "4096", source="system-default")
    pg.network.add(SUBNET, "westeurope")
    pg.network.add(SUBNET.replace("snet-postgres", "snet-restore"), "westeurope")
    yield pg
    arm.stop()


def write_config(path: Path, fake: FlexibleServers, standin: standin_server.StandIn, **extra: object) -> Path:
    port = standin.port
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
    ]
    extra.setdefault("postgres_user", standin_server.ENTRA_USER)
    extra.setdefault("postgres_database", standin_server.DATABASE)
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


def test_point_in_time_restore_into_a_new_server(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "restore", "--to-time", "-1h", "--target", "pitr-staging-1", "-o", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [p["name"] for p in out["phases"]] == ["azure_restore", "reconfigure", "restart", "connect", "verify"]
    assert out["verified"] and out["tables"]["app.events"] == standin_server.ROWS
    assert {c["name"] for c in out["verification"]} == {"network", "query"}
    (put,) = puts(fake, "/flexibleServers/pitr-staging-1")
    props = put.body["properties"]
    assert props["createMode"] == "PointInTimeRestore"
    assert props["sourceServerResourceId"] == fake.server_id(SOURCE)
    assert props["pointInTimeUTC"].endswith(("Z", "+00:00"))
    assert put.body["location"] == "westeurope"
    assert put.body["tags"]["created-by"] == "augeoctl"
    # What Azure does not copy was re-applied: every firewall rule (the list has pages).
    assert set(fake.firewall["pitr-staging-1"]) == {"office", "pipeline", "vpn"}
    assert any("skipToken" in "".join(q.query) for q in fake.arm.calls("GET", r"/firewallRules$"))
    assert out["reapplied"]["firewall_rules"] == 3


def test_read_only_parameters_are_skipped_and_static_ones_restarted(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "restore", "--latest", "--target", "params-1", "-o", "json")
    assert r.exit_code == 0, r.output
    reapplied = json.loads(r.stdout)["reapplied"]
    assert reapplied["read_only_skipped"] == ["archive_command", "archive_mode", "authentication_timeout"]
    assert reapplied["parameters"] == ["max_connections", "statement_timeout"]
    assert reapplied["static"] == ["max_connections"] and reapplied["pending_restart"] == []
    assert "read-only" in r.stderr and "archive_mode" in r.stderr  # said so
    # No PUT of a read-only parameter; the static one took effect after a restart.
    assert not [q for q in puts(fake, "") if "/configurations/archive" in q.path]
    new = fake.configs["params-1"]
    assert new["max_connections"]["properties"]["source"] == "user-override"
    assert new["max_connections"]["properties"]["isConfigPendingRestart"] is False
    assert fake.restarts == ["params-1"]
    text = invoke(cfg, "restore", "--latest", "--target", "params-2")
    assert text.exit_code == 0, text.output
    assert "not re-applied  archive_command, archive_mode, authentication_timeout" in text.stdout
    assert "restarted for   max_connections" in text.stdout


def test_a_static_parameter_still_pending_after_the_restart_is_reported_as_pending(
        tmp_path, fake, credential, standin) -> None:
    """Never reported as applied while the new server says it waits for a restart."""
    fake.restart_leaves_pending = {"max_connections"}
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "restore", "--latest", "--target", "params-pending", "-o", "json")
    assert r.exit_code == 0, r.output
    reapplied = json.loads(r.stdout)["reapplied"]
    assert reapplied["pending_restart"] == ["max_connections"]
    assert "still pending a restart" in r.stderr and "max_connections" in r.stderr
    assert fake.restarts == ["params-pending"]


def test_long_running_operations_end_with_a_get_of_the_resource(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "restore", "--latest", "--target", "lro-1", "-o", "json")
    assert r.exit_code == 0, r.output
    path = fake.server_id("lro-1")
    log = [(q.method, q.path, q.status) for q in fake.arm.requests]
    i = log.index(("PUT", path, 202))
    after = log[i + 1:]
    polls = [e for e in after if "/operations/" in e[1]]
    assert len(polls) >= 3  # InProgress, InProgress, Succeeded
    last_poll = max(j for j, e in enumerate(after) if "/operations/" in e[1] and j < after.index(("GET", path, 200)))
    assert after.index(("GET", path, 200)) > last_poll


def test_failed_restore_operation_is_reported_and_cleanup_offered(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
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


def test_throttling_and_server_errors_are_survived(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    fake.arm.inject("GET", rf"/flexibleServers/{SOURCE}$", 429, times=2, retry_after=1)
    fake.arm.inject("GET", r"/firewallRules$", 503, times=1)
    r = invoke(cfg, "restore", "--to-time", "-30m", "--target", "after-throttle", "-o", "json")
    assert r.exit_code == 0, r.output
    statuses = [q.status for q in fake.arm.requests if q.path.endswith(f"/{SOURCE}") and q.method == "GET"]
    assert statuses[:3] == [429, 429, 200]
    assert any(q.status == 503 for q in fake.arm.requests)


def test_persistent_server_errors_exit_with_the_connectivity_code(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    fake.arm.inject("GET", r"/flexibleServers/", 500, times=50)
    r = invoke(cfg, "backup", "list")
    assert r.exit_code == 3
    assert "HTTP 500" in r.stderr and "Traceback" not in r.output


def test_auth_failure_is_reported_as_such(tmp_path, fake, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
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
        tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
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


def test_dry_run_creates_nothing(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "restore", "--to-time", "-2h", "--target", "planned", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["plan"]["target"] == "planned"
    assert not [q for q in fake.arm.requests if q.method != "GET"]


def test_backup_list_and_on_demand_backup(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
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


def test_geo_restore_goes_to_the_paired_region_with_a_time(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "restore", "--geo", "--target", "geo-copy", "-o", "json")
    assert r.exit_code == 0, r.output
    (put,) = puts(fake, "/flexibleServers/geo-copy")
    assert put.body["properties"]["createMode"] == "GeoRestore"
    assert put.body["location"] == "northeurope"  # the pair of westeurope
    assert put.body["properties"]["pointInTimeUTC"].endswith(("Z", "+00:00"))
    assert json.loads(r.stdout)["location"] == "northeurope"
    fake.servers[SOURCE]["properties"]["backup"]["geoRedundantBackup"] = "Disabled"
    r = invoke(cfg, "restore", "--geo", "--target", "geo-two")
    assert r.exit_code == 2 and "geo-redundant" in r.stderr


def test_geo_restore_takes_no_point_in_time(tmp_path, fake, credential, standin) -> None:
    """Microsoft's backup documentation: a geo-restore recovers the last backup data the paired
    region holds; point-in-time restore of geo-redundant backups is not offered. A time given
    with --geo is refused before anything is sent, naming the way to a point in time."""
    cfg = write_config(tmp_path, fake, standin)
    for args in (("--to-time", "-2h"), ("--to-time", "2001-01-01T00:00:00Z"), ("--latest", "--to-time", "-2h")):
        r = invoke(cfg, "restore", "--geo", *args, "--target", "geo-past")
        assert r.exit_code == 2, (args, r.output)
        assert "no --to-time" in r.stderr and "restore --to-time" in r.stderr
        assert "Traceback" not in r.stderr
    assert not puts(fake, "/flexibleServers/geo-past")
    r = invoke(cfg, "restore", "--geo", "--latest", "--target", "geo-latest", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)["plan"]
    assert plan["mode"] == "geo" and plan["to_time"] is None


def test_geo_location_setting_overrides_the_pair_and_is_validated(tmp_path, fake, credential, standin) -> None:
    fake.servers[SOURCE]["location"] = "swedencentral"
    cfg = write_config(tmp_path, fake, standin, geo_location="swedensouth")
    r = invoke(cfg, "restore", "--geo", "--target", "geo-sweden", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["plan"]["location"] == "swedensouth"
    r = invoke(cfg, "restore", "--geo", "--target", "geo-sweden", "-o", "json")
    assert r.exit_code == 0, r.output
    assert puts(fake, "/flexibleServers/geo-sweden")[0].body["location"] == "swedensouth"
    bad = write_config(tmp_path, fake, standin, geo_location="Sweden South!")
    r = invoke(bad, "restore", "--geo", "--target", "geo-bad")
    assert r.exit_code == 2 and "geo_location" in r.stderr
    same = write_config(tmp_path, fake, standin, geo_location="swedencentral")
    r = invoke(same, "restore", "--geo", "--target", "geo-same")
    assert r.exit_code == 2 and "own region" in r.stderr
    assert not puts(fake, "/flexibleServers/geo-bad") and not puts(fake, "/flexibleServers/geo-same")


def test_a_late_failure_names_the_server_left_behind(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    fake.arm.inject("PUT", r"/configurations/statement_timeout$", 400, code="InvalidParameterValue",
                    message="Invalid value given for parameter statement_timeout.")
    r = invoke(cfg, "restore", "--latest", "--target", "late-1", "-o", "json")
    assert r.exit_code == 1
    err = json.loads(r.stdout or r.stderr.strip().splitlines()[-1])["error"]
    assert "statement_timeout" in err["message"]
    assert err["hint"] and "late-1" in err["hint"] and "targets drop late-1 --env staging" in err["hint"]
    assert "late-1" in fake.servers
    dropped = invoke(cfg, "targets", "drop", "late-1", "--yes")
    assert dropped.exit_code == 0, dropped.output
    assert "late-1" not in fake.servers


def test_a_failure_while_connecting_names_the_server_left_behind(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin, postgres_database="nosuchdb", postgres_connect_wait=1)
    r = invoke(cfg, "restore", "--latest", "--target", "late-2")
    assert r.exit_code == 1
    assert "did not accept connections" in r.stderr and "targets drop late-2" in r.stderr
    assert "late-2" in fake.servers


def test_private_network_is_taken_from_the_source_and_verified(tmp_path, fake, credential, standin) -> None:
    fake.servers[SOURCE]["properties"]["network"] = {
        "publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": SUBNET, "privateDnsZoneArmResourceId": ZONE}
    fake.firewall[SOURCE] = {}
    fake.private_host = "127.0.0.1"  # augeoctl runs inside the VNet: the private name resolves
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "restore", "--latest", "--target", "private-1", "-o", "json")
    assert r.exit_code == 0, r.output
    net = puts(fake, "/flexibleServers/private-1")[0].body["properties"]["network"]
    assert net == {"publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": SUBNET,
                   "privateDnsZoneArmResourceId": ZONE}
    (check,) = [c for c in json.loads(r.stdout)["verification"] if c["name"] == "network"]
    assert check["ok"] and "snet-postgres" in check["detail"]
    other = SUBNET.replace("snet-postgres", "snet-restore")
    r = invoke(cfg, "restore", "--latest", "--target", "private-2", "--subnet", other, "-o", "json")
    assert r.exit_code == 0, r.output
    assert puts(fake, "/flexibleServers/private-2")[0].body["properties"]["network"][
        "delegatedSubnetResourceId"] == other


def test_private_server_unreachable_from_outside_the_vnet_exits_3(tmp_path, fake, credential, standin) -> None:
    fake.servers[SOURCE]["properties"]["network"] = {
        "publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": SUBNET, "privateDnsZoneArmResourceId": ZONE}
    cfg = write_config(tmp_path, fake, standin, postgres_connect_wait=1)
    r = invoke(cfg, "restore", "--latest", "--target", "private-out")
    assert r.exit_code == 3, r.output
    assert "private access only" in r.stderr and "inside the virtual network" in r.stderr
    assert "private runner" in r.stderr and "targets drop private-out" in r.stderr
    assert "Traceback" not in r.output


def test_network_options_are_validated_before_anything_changes(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "restore", "--latest", "--target", "net-bad", "--subnet", "snet-postgres")
    assert r.exit_code == 2 and "--subnet" in r.stderr and "resource id" in r.stderr
    r = invoke(cfg, "restore", "--latest", "--target", "net-bad", "--subnet", SUBNET)
    assert r.exit_code == 2 and "private DNS zone" in r.stderr
    r = invoke(cfg, "restore", "--latest", "--target", "net-bad", "--private-dns-zone", "zone")
    assert r.exit_code == 2 and "--private-dns-zone" in r.stderr
    assert not [q for q in fake.arm.requests if q.method != "GET"]


DR_SUBNET = ("/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-augeo-staging-dr/providers/"
             "Microsoft.Network/virtualNetworks/vnet-augeo-dr/subnets/snet-postgres")
DR_ZONE = ZONE.replace("rg-augeo-staging", "rg-augeo-staging-dr")


def test_a_geo_restore_of_a_private_server_goes_into_a_subnet_of_the_paired_region(
        tmp_path, fake, credential, standin) -> None:
    """The subnet a restore names is read before anything is created: it must exist, be
    delegated to Flexible Server and belong to a virtual network in the new server's region
    (VirtualNetworkGet.json, SubnetGetWithDelegation.json). Azure's own check (the fake's)
    stays behind it."""
    fake.servers[SOURCE]["properties"]["network"] = {
        "publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": SUBNET, "privateDnsZoneArmResourceId": ZONE}
    fake.firewall[SOURCE] = {}
    fake.private_host = "127.0.0.1"
    fake.network.add(DR_SUBNET, "northeurope")
    undelegated = fake.network.add(DR_SUBNET.replace("snet-postgres", "snet-apps"), "northeurope",
                                   delegations=("Microsoft.Web/serverFarms",))
    cfg = write_config(tmp_path, fake, standin)
    cases = [
        ((), "its subnet cannot hold a server in northeurope"),  # the source's subnet is in westeurope
        (("--subnet", SUBNET, "--private-dns-zone", ZONE), "in westeurope; the new server is made in northeurope"),
        (("--subnet", undelegated, "--private-dns-zone", DR_ZONE), "delegated to Microsoft.Web/serverFarms"),
        (("--subnet", DR_SUBNET.replace("snet-postgres", "snet-none"), "--private-dns-zone", DR_ZONE),
         "does not exist"),
    ]
    for args, message in cases:
        r = invoke(cfg, "restore", "--geo", "--target", "geo-private", *args)
        assert r.exit_code == 2, (args, r.output)
        assert message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.output
    assert not puts(fake, "/flexibleServers/geo-private")
    r = invoke(cfg, "restore", "--geo", "--target", "geo-private", "--subnet", DR_SUBNET,
               "--private-dns-zone", DR_ZONE, "-o", "json")
    assert r.exit_code == 0, r.output
    put = puts(fake, "/flexibleServers/geo-private")[0].body
    assert put["location"] == "northeurope"
    assert put["properties"]["network"]["delegatedSubnetResourceId"] == DR_SUBNET


def test_a_subnet_the_identity_may_not_read_is_warned_and_left_to_azure(tmp_path, fake, credential, standin) -> None:
    """Joining a subnet needs no read right on it: a 403 on the read is a warning, and
    Azure's placement check (the fake's) still refuses a subnet of another region."""
    fake.servers[SOURCE]["properties"]["network"] = {
        "publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": SUBNET, "privateDnsZoneArmResourceId": ZONE}
    fake.firewall[SOURCE] = {}
    fake.private_host = "127.0.0.1"
    cfg = write_config(tmp_path, fake, standin)
    fake.arm.inject("GET", r"/subnets/snet-postgres$", 403, times=10)
    r = invoke(cfg, "restore", "--geo", "--target", "geo-unread", "--subnet", SUBNET, "--private-dns-zone", ZONE)
    assert "could not check subnet" in r.stderr
    assert r.exit_code == 1, r.output  # refused by Azure when asked: no server made
    assert "VirtualNetworkInDifferentRegion" in r.stderr or "westeurope" in r.stderr
    assert "geo-unread" not in fake.servers
    assert "Traceback" not in r.output


def test_backup_list_text_has_no_none(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "backup", "list")
    assert r.exit_code == 0, r.output
    assert "daily" in r.stdout and "None" not in r.stdout


def test_dropping_a_server_not_made_by_augeoctl_is_refused(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    fake.add_server("someone-elses")
    r = invoke(cfg, "targets", "drop", "someone-elses", "--yes")
    assert r.exit_code == 2
    assert "someone-elses" in fake.servers


def test_secrets_never_appear_in_output(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin, postgres_auth="password", key_vault_url=fake.arm.url,
                       postgres_secret="pg-admin-password", postgres_user=standin_server.ADMIN)
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


def test_drill_on_azure_restores_verifies_measures_and_deletes(tmp_path, fake, credential, standin) -> None:
    import jsonschema

    from augeoctl.drill import model

    cfg = write_config(tmp_path, fake, standin)
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


def test_wal_search_and_before_xid_are_refused_on_azure(tmp_path, fake, credential, standin) -> None:
    # The WAL of a Flexible Server cannot be read: both say so and point to --to-time.
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "wal", "search")
    assert r.exit_code == 2 and "cannot be read with pg_waldump" in r.stderr and "--to-time" in r.stderr
    r = invoke(cfg, "restore", "--before-xid", "7352", "--target", "by-xid")
    assert r.exit_code == 2 and "restores to a time, not to a transaction" in r.stderr
    assert "by-xid" not in fake.servers


def test_a_failed_drill_deletes_its_server(tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    fake.arm.inject("PUT", r"/configurations/statement_timeout$", 400, code="InvalidParameterValue",
                    message="Invalid value given for parameter statement_timeout.")
    runner = CliRunner(env={"AUGEO_HOME": str(tmp_path / "home")})
    r = runner.invoke(cli, ["--config", str(cfg), "--env", "staging", "dr-drill", "--yes", "-o", "json"],
                      catch_exceptions=False)
    assert r.exit_code == 4, r.output
    assert json.loads(r.stdout)["verdict"] == "FAIL"
    made = [q.path.rsplit("/", 1)[1] for q in fake.arm.requests
            if q.method == "PUT" and "/flexibleServers/drill-" in q.path and q.path.count("/") == 8]
    assert made and not [n for n in made if n in fake.servers]
    assert any(q.method == "DELETE" and q.path.endswith(made[0]) for q in fake.arm.requests)


def test_network_options_are_refused_outside_azure(tmp_path) -> None:
    from augeoctl.config import Environment, Settings
    from augeoctl.errors import UsageError
    from augeoctl.platform import platform_for

    local = platform_for(Settings(env=Environment("local", "local"), home=tmp_path))
    with pytest.raises(UsageError, match="--subnet and --private-dns-zone"):
        local.place_restore(None, SUBNET, None)  # type: ignore[arg-type]


def test_backup_expire_shows_the_retention_azure_applies_and_removes_nothing(
        tmp_path, fake, credential, standin) -> None:
    cfg = write_config(tmp_path, fake, standin)
    r = invoke(cfg, "backup", "expire", "-o", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["managed"]["managed_by"] == "azure" and data["managed"]["retention_days"] == 30
    assert data["expired"] == []
    refused = invoke(cfg, "backup", "expire", "--retention-full", "2", "--yes")
    assert refused.exit_code == 2 and "kept and expired by Azure (30 days)" in refused.stderr
    assert not [q for q in fake.arm.requests if q.method in ("PUT", "PATCH", "DELETE", "POST")]
