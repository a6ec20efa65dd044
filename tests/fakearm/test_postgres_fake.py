"""The fake Flexible Server follows the REST specification, checked with the real SDK client.

Each test names the azure-rest-api-specs example (or SDK model) the behaviour comes from.
"""

from __future__ import annotations

import datetime as dt

import pytest
from azure.core.exceptions import HttpResponseError

from tests.fakearm.postgres import FlexibleServers
from tests.fakearm.server import FakeArm, TestCredential

SOURCE = "src"


@pytest.fixture()
def fake(tmp_path):
    with FakeArm(tmp_path) as arm:
        pg = FlexibleServers(arm)
        pg.add_server(SOURCE)
        pg.lro_polls = 1
        yield pg


def client(fake: FlexibleServers):
    from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

    return PostgreSQLManagementClient(TestCredential(), fake.arm.subscription, **fake.arm.client_kwargs())


def restore_body(fake: FlexibleServers, mode: str, location: str, point: dt.datetime | None):
    from azure.mgmt.postgresqlflexibleservers import models

    props = models.ServerProperties(create_mode=mode, source_server_resource_id=fake.server_id(SOURCE),
                                    point_in_time_utc=point)
    return models.Server(location=location, properties=props)


def test_read_only_parameter_put_is_refused_with_arms_error_shape(fake) -> None:
    # ConfigurationListByServer.json lists archive_command as user-override but read-only.
    from azure.mgmt.postgresqlflexibleservers import models

    fake.add_managed_configs(SOURCE)
    body = models.ConfigurationForUpdate(properties=models.ConfigurationProperties(value="x", source="user-override"))
    with pytest.raises(HttpResponseError) as err:
        client(fake).configurations.begin_put(fake.rg, SOURCE, "archive_command", body, polling_interval=0).result()
    assert err.value.status_code == 400
    assert err.value.error.code == "ConfigurationReadOnly" and "read-only" in err.value.error.message


def test_static_parameter_is_pending_restart_until_a_restart(fake) -> None:
    from azure.mgmt.postgresqlflexibleservers import models

    fake.add_config(SOURCE, "max_connections", "100", source="system-default", dynamic=False)
    c = client(fake)
    body = models.ConfigurationForUpdate(properties=models.ConfigurationProperties(value="400", source="user-override"))
    c.configurations.begin_put(fake.rg, SOURCE, "max_connections", body, polling_interval=0).result()
    got = c.configurations.get(fake.rg, SOURCE, "max_connections").properties
    assert got.value == "400" and got.is_dynamic_config is False and got.is_config_pending_restart is True
    c.servers.begin_restart(fake.rg, SOURCE, polling_interval=0).result()
    assert c.configurations.get(fake.rg, SOURCE, "max_connections").properties.is_config_pending_restart is False


def test_lists_are_paged_with_next_link(fake) -> None:
    # FirewallRuleListByServer.json / ConfigurationListByServer.json carry nextLink.
    for i in range(5):
        fake.add_firewall_rule(SOURCE, f"r{i}", "192.0.2.1", "192.0.2.1")
    names = [r.name for r in client(fake).firewall_rules.list_by_server(fake.rg, SOURCE)]
    assert names == [f"r{i}" for i in range(5)]
    assert len(fake.arm.calls("GET", r"/firewallRules$")) == 3  # pages of 2, 2, 1


def test_point_in_time_is_required_and_inside_the_window(fake) -> None:
    # The SDK: pointInTimeUTC "required when 'createMode' is 'PointInTimeRestore', 'GeoRestore'".
    c = client(fake)
    now = dt.datetime.now(dt.UTC)
    for mode, location in (("PointInTimeRestore", "westeurope"), ("GeoRestore", "northeurope")):
        with pytest.raises(HttpResponseError) as err:
            c.servers.begin_create_or_update(fake.rg, "new", restore_body(fake, mode, location, None))
        assert err.value.error.code == "MissingRequiredParameter"
    for when in (now - dt.timedelta(days=30), now + dt.timedelta(hours=1)):
        with pytest.raises(HttpResponseError) as err:
            c.servers.begin_create_or_update(fake.rg, "new", restore_body(fake, "PointInTimeRestore", "westeurope",
                                                                          when))
        assert err.value.error.code == "PointInTimeOutOfRange"
    assert "new" not in fake.servers


def test_region_checks_of_point_in_time_and_geo_restore(fake) -> None:
    # ServerCreatePointInTimeRestore.json (same region), ServerCreateGeoRestore.json (paired region).
    c = client(fake)
    point = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with pytest.raises(HttpResponseError, match="source's region"):
        c.servers.begin_create_or_update(fake.rg, "n1", restore_body(fake, "PointInTimeRestore", "northeurope", point))
    with pytest.raises(HttpResponseError, match="paired"):
        c.servers.begin_create_or_update(fake.rg, "n2", restore_body(fake, "GeoRestore", "westeurope", point))
    fake.servers[SOURCE]["properties"]["backup"]["geoRedundantBackup"] = "Disabled"
    with pytest.raises(HttpResponseError, match="geo-redundant"):
        c.servers.begin_create_or_update(fake.rg, "n3", restore_body(fake, "GeoRestore", "northeurope", point))
    fake.servers[SOURCE]["properties"]["backup"]["geoRedundantBackup"] = "Enabled"
    made = c.servers.begin_create_or_update(fake.rg, "n4", restore_body(fake, "GeoRestore", "northeurope", point),
                                            polling_interval=0).result()
    assert made.location == "northeurope" and made.properties.state == "Ready"
    # 202 + Azure-AsyncOperation + Location, polled, then the resource read with a GET.
    (put,) = [q for q in fake.arm.requests if q.method == "PUT" and q.status == 202]
    assert [q.method for q in fake.arm.requests][-1] == "GET"
    assert fake.arm.requests[-1].path == fake.server_id("n4") and put.path == fake.server_id("n4")
