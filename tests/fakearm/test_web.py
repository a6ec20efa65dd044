"""The fake App Service itself, driven by the bare azure-mgmt-web client: slots, settings
that replace, the swap as a long-running operation, a failed swap, an unknown slot."""

from __future__ import annotations

import pytest

from tests.fakearm.server import FakeArm, TestCredential
from tests.fakearm.web import WebApps

RG = "rg-augeo-staging"
APP = "app-augeo-staging-api"


@pytest.fixture()
def web(tmp_path):
    with FakeArm(tmp_path) as arm:
        yield WebApps(arm, APP, RG)


def client(web: WebApps):
    from azure.mgmt.web import WebSiteManagementClient

    return WebSiteManagementClient(TestCredential(), web.arm.subscription, **web.arm.client_kwargs())


def test_sites_slots_and_settings_have_the_spec_shapes(web) -> None:
    from azure.mgmt.web.models import StringDictionary

    apps = client(web).web_apps
    assert apps.get(RG, APP).default_host_name == f"{APP}.azurewebsites.net"
    slot = apps.get_slot(RG, APP, "staging")
    assert (slot.name, slot.default_host_name) == (f"{APP}/staging", f"{APP}-staging.azurewebsites.net")
    assert apps.list_application_settings_slot(RG, APP, "staging").properties["AUGEO_RELEASE"] == "1.2.0"
    # An update replaces the settings: what the body leaves out is gone.
    apps.update_application_settings_slot(RG, APP, "staging", StringDictionary(properties={"ONLY": "1"}))
    assert web.settings["staging"] == {"ONLY": "1"}
    assert apps.list_slot_configuration_names(RG, APP).app_setting_names == ["AUGEO_ENVIRONMENT", "POSTGRES_DATABASE"]
    apps.restart_slot(RG, APP, "staging")
    assert web.restarts["staging"] == 1


def test_swap_is_a_long_running_operation_polled_to_its_end(web) -> None:
    from azure.mgmt.web.models import CsmSlotEntity

    web.lro_polls = 3
    poller = client(web).web_apps.begin_swap_slot_with_production(
        RG, APP, CsmSlotEntity(target_slot="staging", preserve_vnet=True), polling_interval=0)
    assert web.settings["production"]["AUGEO_RELEASE"] == "1.3.0"  # not before the operation ends
    poller.result()
    assert poller.status() == "Succeeded"
    assert (web.release("production"), web.release("staging")) == ("1.2.0", "1.3.0")
    assert web.settings["production"]["AUGEO_ENVIRONMENT"] == "staging"  # sticky
    statuses = [r.status for r in web.arm.calls("GET", r"/operations/")]
    assert len(statuses) >= 4 and set(statuses) == {200}


def test_a_failed_swap_fails_in_the_sdk_and_swaps_nothing(web) -> None:
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.web.models import CsmSlotEntity

    web.fail_next_swap = "the staging slot did not warm up"
    poller = client(web).web_apps.begin_swap_slot_with_production(
        RG, APP, CsmSlotEntity(target_slot="staging", preserve_vnet=True), polling_interval=0)
    with pytest.raises(HttpResponseError, match="did not warm up"):
        poller.result()
    assert (web.release("production"), web.release("staging")) == ("1.3.0", "1.2.0")


def test_unknown_slot_and_bad_swap_target_are_refused(web) -> None:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.mgmt.web.models import CsmSlotEntity

    apps = client(web).web_apps
    with pytest.raises(ResourceNotFoundError):
        apps.get_slot(RG, APP, "canary")
    with pytest.raises(HttpResponseError, match="targetSlot"):
        apps.begin_swap_slot_with_production(RG, APP, CsmSlotEntity(target_slot="canary", preserve_vnet=True), polling_interval=0)
    assert web.swaps == []
