"""The fake ARM itself, driven by the real azure-mgmt-dns client: routes, log, faults, LRO, auth."""

from __future__ import annotations

import pytest

from tests.fakearm.email import install_dns_zone, record_set, zone_path
from tests.fakearm.server import FakeArm, Response, TestCredential

RG = "rg-test"


@pytest.fixture()
def arm(tmp_path):
    with FakeArm(tmp_path) as fake:
        yield fake


def client(arm: FakeArm, **kw):
    from azure.mgmt.dns import DnsManagementClient

    return DnsManagementClient(TestCredential(), arm.subscription, **{**arm.client_kwargs(), **kw})


def zone_route(arm: FakeArm, state: dict) -> str:
    path = f"/subscriptions/{arm.subscription}/resourceGroups/{RG}/providers/Microsoft.Network/dnsZones/z.example"

    @arm.route("GET", path.replace(".", r"\."))
    def get_zone(req):
        if state.get("deleted"):
            return Response(404, {"error": {"code": "ResourceNotFound", "message": "gone"}})
        return Response(200, {"id": req.path, "name": "z.example", "location": "global", "properties": {}})

    @arm.route("DELETE", path.replace(".", r"\."))
    def delete_zone(req):
        headers = arm.lro(polls=state.get("polls", 2), outcome=state.get("outcome", "Succeeded"),
                          on_done=lambda: state.__setitem__("deleted", True))
        return Response(202, None, headers)

    return path


def test_long_running_operation_polls_through_in_progress(arm) -> None:
    state: dict = {"polls": 3}
    zone_route(arm, state)
    poller = client(arm).zones.begin_delete(RG, "z.example", polling_interval=0)
    poller.result()
    assert poller.status() == "Succeeded"
    assert state["deleted"] is True
    polls = arm.calls("GET", "/providers/FakeArm/locations/westeurope/operations/")
    assert [p.status for p in polls] == [200, 200, 200, 200]
    assert len(polls) == 4  # three InProgress, then Succeeded


def test_failed_operation_raises_in_the_sdk(arm) -> None:
    from azure.core.exceptions import HttpResponseError

    zone_route(arm, {"polls": 1, "outcome": "Failed"})
    poller = client(arm).zones.begin_delete(RG, "z.example", polling_interval=0)
    with pytest.raises(HttpResponseError, match="the operation failed"):
        poller.result()


def test_429_with_retry_after_is_retried_by_the_sdk(arm) -> None:
    zone_route(arm, {})
    arm.inject("GET", r"/dnsZones/z\.example$", 429, times=2, retry_after=0.01)
    zone = client(arm).zones.get(RG, "z.example")
    assert zone.name == "z.example"
    log = arm.calls("GET", r"/dnsZones/z\.example$")
    assert [r.status for r in log] == [429, 429, 200]
    assert [r.route for r in log][:2] == ["fault", "fault"]


@pytest.mark.parametrize(("status", "exc"), [(500, "HttpResponseError"), (401, "ClientAuthenticationError"),
                                             (403, "HttpResponseError")])
def test_injected_errors_reach_the_sdk(arm, status, exc) -> None:
    import azure.core.exceptions as errors

    zone_route(arm, {})
    arm.inject("GET", r"/dnsZones/z\.example$", status, times=10)
    with pytest.raises(getattr(errors, exc)) as info:
        client(arm, retry_total=1).zones.get(RG, "z.example")
    assert info.value.status_code == status
    expected = 2 if status == 500 else 1  # 5xx is retried, 401/403 are not
    assert len(arm.calls("GET", r"/dnsZones/z\.example$")) == expected


def test_wrong_token_gets_arm_401(arm) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.mgmt.dns import DnsManagementClient

    zone_route(arm, {})
    c = DnsManagementClient(TestCredential("wrong"), arm.subscription, **arm.client_kwargs())
    with pytest.raises(ClientAuthenticationError, match="InvalidAuthenticationToken"):
        c.zones.get(RG, "z.example")


def test_paged_record_sets(arm) -> None:
    zp = zone_path(arm, RG, "z.example")
    sets = [record_set(zp, f"h{i}", "A", [f"192.0.2.{i}"]) for i in range(7)]
    install_dns_zone(arm, RG, "z.example", sets, page_size=3)
    c = client(arm)
    names = [rs.name for rs in c.record_sets.list_all_by_dns_zone(RG, "z.example")]
    assert names == [f"h{i}" for i in range(7)]
    assert [rs.a_records[0].ipv4_address for rs in c.record_sets.list_by_dns_zone(RG, "z.example")][-1] == "192.0.2.6"
    assert len(arm.calls("GET", r"/all$")) == 3


def test_plain_http_needs_enforce_https_false_per_call(tmp_path) -> None:
    """azure-core refuses a bearer token over http unless the *operation* passes enforce_https=False."""
    from azure.core.exceptions import ServiceRequestError

    with FakeArm(tmp_path, tls=False) as arm:
        zone_route(arm, {})
        c = client(arm)
        with pytest.raises(ServiceRequestError, match="non-TLS"):
            c.zones.get(RG, "z.example")
        assert arm.requests == []
        c2 = client(arm, enforce_https=False)  # a constructor kwarg does not reach the policy
        with pytest.raises(ServiceRequestError, match="non-TLS"):
            c2.zones.get(RG, "z.example")
        assert c.zones.get(RG, "z.example", enforce_https=False).name == "z.example"


def test_unknown_route_and_missing_api_version(arm) -> None:
    import json
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(arm.ca))
    req = urllib.request.Request(arm.url + "/subscriptions/x/nothing?api-version=1",
                                 headers={"Authorization": f"Bearer {arm.token}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, context=ctx)
    assert info.value.code == 404 and json.loads(info.value.read())["error"]["code"] == "NoRoute"
    req = urllib.request.Request(arm.url + "/subscriptions/x/nothing",
                                 headers={"Authorization": f"Bearer {arm.token}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, context=ctx)
    assert info.value.code == 400
