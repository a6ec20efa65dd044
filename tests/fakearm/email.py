"""Fake ARM routes for the email domain: ACS Email domains and an Azure DNS zone.

``install_acs`` serves ``Microsoft.Communication/emailServices/{svc}/domains/{domain}``
(azure-mgmt-communication ``domains.get``) from ``AcsState``; ``install_dns_zone`` serves
``Microsoft.Network/dnsZones/{zone}/all`` and ``/recordsets`` (azure-mgmt-dns
``record_sets.list_all_by_dns_zone`` / ``list_by_dns_zone``), paged with ``nextLink``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakearm.server import FakeArm, Request, Response, arm_error

KINDS = ("domain", "spf", "dkim", "dkim2", "dmarc")
WIRE = {"domain": "Domain", "spf": "SPF", "dkim": "DKIM", "dkim2": "DKIM2", "dmarc": "DMARC"}  # ARM's JSON keys


@dataclass
class AcsState:
    domain: str
    records: dict[str, dict[str, Any]]  # kind -> {type, name, value, ttl}
    states: dict[str, str] = field(default_factory=lambda: {k: "Verified" for k in KINDS})


def acs_records(domain: str, verification: str) -> dict[str, dict[str, Any]]:
    """The verification records ACS hands out for a customer-managed domain."""
    return {
        "domain": {"type": "TXT", "name": domain, "value": verification, "ttl": 3600},
        "spf": {"type": "TXT", "name": domain, "value": "v=spf1 include:spf.protection.outlook.com -all", "ttl": 3600},
        "dkim": {"type": "CNAME", "name": "selector1-azurecomm-prod-net._domainkey",
                 "value": "selector1-azurecomm-prod-net._domainkey.azurecomm.net", "ttl": 3600},
        "dkim2": {"type": "CNAME", "name": "selector2-azurecomm-prod-net._domainkey",
                  "value": "selector2-azurecomm-prod-net._domainkey.azurecomm.net", "ttl": 3600},
        "dmarc": {"type": "TXT", "name": "_dmarc", "value": "v=DMARC1; p=reject", "ttl": 3600},
    }


def install_acs(arm: FakeArm, resource_group: str, email_service: str, domains: dict[str, AcsState]) -> None:
    base = (rf"/subscriptions/{arm.subscription}/resourceGroups/{resource_group}/providers/"
            rf"Microsoft\.Communication/emailServices/{email_service}/domains/(?P<domain>[^/]+)")

    @arm.route("GET", base)
    def get_domain(req: Request) -> Response:
        st = domains.get(req.match["domain"].lower())
        if st is None:
            return arm_error(404, "ResourceNotFound",
                             f"The Resource 'Microsoft.Communication/emailServices/{email_service}/domains/"
                             f"{req.match['domain']}' under resource group '{resource_group}' was not found.")
        return Response(200, {
            "id": req.path, "name": st.domain, "type": "Microsoft.Communication/emailServices/domains",
            "location": "global",
            "properties": {
                "provisioningState": "Succeeded", "dataLocation": "Europe", "fromSenderDomain": st.domain,
                "mailFromSenderDomain": st.domain, "domainManagement": "CustomerManaged",
                "verificationStates": {WIRE[k]: {"status": v} for k, v in st.states.items()},
                "verificationRecords": {WIRE[k]: v for k, v in st.records.items()},
                "userEngagementTracking": "Disabled",
            },
        })


def record_set(zone_path: str, name: str, rdtype: str, values: list[Any], ttl: int = 3600) -> dict[str, Any]:
    """An Azure DNS record set body (``properties.TXTRecords`` etc.)."""
    props: dict[str, Any] = {"TTL": ttl, "fqdn": "", "provisioningState": "Succeeded"}
    if rdtype == "TXT":
        props["TXTRecords"] = [{"value": [v[i:i + 255] for i in range(0, len(v), 255)] or [""]} for v in values]
    elif rdtype == "CNAME":
        props["CNAMERecord"] = {"cname": values[0]}
    elif rdtype == "MX":
        props["MXRecords"] = [{"preference": p, "exchange": e} for p, e in values]
    elif rdtype == "A":
        props["ARecords"] = [{"ipv4Address": v} for v in values]
    elif rdtype == "AAAA":
        props["AAAARecords"] = [{"ipv6Address": v} for v in values]
    elif rdtype == "NS":
        props["NSRecords"] = [{"nsdname": v} for v in values]
    elif rdtype == "SOA":
        props["SOARecord"] = {"host": values[0], "email": "hostmaster", "serialNumber": 1}
    return {"id": f"{zone_path}/{rdtype}/{name}", "name": name, "type": f"Microsoft.Network/dnszones/{rdtype}",
            "etag": "00000000-0000-0000-0000-000000000000", "properties": props}


def install_dns_zone(arm: FakeArm, resource_group: str, zone: str, record_sets: list[dict[str, Any]],
                     page_size: int = 3) -> None:

    base = (rf"/subscriptions/{arm.subscription}/resourceGroups/{resource_group}/providers/"
            rf"Microsoft\.Network/dnsZones/{zone}")

    def page(req: Request) -> Response:
        start = int(req.q("$skiptoken", "0") or 0)
        chunk = record_sets[start:start + page_size]
        body: dict[str, Any] = {"value": chunk}
        if start + page_size < len(record_sets):
            body["nextLink"] = (f"{arm.url}{req.path}?api-version={req.q('api-version')}"
                                f"&$skiptoken={start + page_size}")
        return Response(200, body)

    arm.route("GET", base + "/all", page)
    arm.route("GET", base + "/recordsets", page)



def zone_path(arm: FakeArm, resource_group: str, zone: str) -> str:
    return f"/subscriptions/{arm.subscription}/resourceGroups/{resource_group}/providers/Microsoft.Network/dnszones/{zone}"
