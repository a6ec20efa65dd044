"""What Azure says the email domain's DNS should hold: ACS verification records and states
(azure-mgmt-communication ``domains.get``) and the Azure DNS zone (azure-mgmt-dns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from augeoctl.azure import client_kwargs, credential, translated
from augeoctl.config import Environment
from augeoctl.dns.drift import ExpectedRecord, fqdn
from augeoctl.errors import ConfigError, DependencyError

KINDS = ("domain", "spf", "dkim", "dkim2", "dmarc")


@dataclass(frozen=True)
class AcsDomain:
    name: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> {type,name,value,ttl}
    states: dict[str, str] = field(default_factory=dict)  # kind -> VerificationStatus


def _require(env: Environment, *keys: str) -> None:
    missing = [k for k in keys if not env.get(k)]
    if missing:
        raise ConfigError(f"environment {env.name!r} lacks {', '.join(missing)}",
                          hint=f"add {', '.join(f'{k} = ...' for k in missing)} to [environments.{env.name}]")


def acs_domain(env: Environment, domain: str) -> AcsDomain:
    _require(env, "subscription_id", "resource_group", "email_service")
    try:
        from azure.mgmt.communication import CommunicationServiceManagementClient
    except ImportError:
        raise DependencyError("azure-mgmt-communication is not installed",
                              hint="pip install azure-mgmt-communication") from None
    client = CommunicationServiceManagementClient(credential(env), str(env.get("subscription_id")),
                                                  **client_kwargs(env))
    with translated(f"ACS domain {domain} of email service {env.get('email_service')}"):
        res = client.domains.get(str(env.get("resource_group")), str(env.get("email_service")), domain)
    props = res.properties
    records: dict[str, dict[str, Any]] = {}
    states: dict[str, str] = {}
    for kind in KINDS:
        rec = getattr(props.verification_records, kind, None) if props and props.verification_records else None
        if rec is not None:
            records[kind] = {"type": rec.type, "name": rec.name, "value": rec.value, "ttl": rec.ttl}
        st = getattr(props.verification_states, kind, None) if props and props.verification_states else None
        if st is not None:
            status = st.status or "Unknown"
            states[kind] = str(getattr(status, "value", status))  # SDK enums are str subclasses
    return AcsDomain(domain, records, states)


def azure_dns_expected(env: Environment, zone: str) -> list[ExpectedRecord]:
    _require(env, "subscription_id", "resource_group")
    from azure.mgmt.dns import DnsManagementClient

    group = str(env.get("dns_resource_group") or env.get("resource_group"))
    zone_name = str(env.get("dns_zone") or zone)
    client = DnsManagementClient(credential(env), str(env.get("subscription_id")), **client_kwargs(env))
    out: list[ExpectedRecord] = []
    with translated(f"Azure DNS zone {zone_name}"):
        for rs in client.record_sets.list_all_by_dns_zone(group, zone_name):
            rdtype = str(rs.type or "").rsplit("/", 1)[-1].upper()
            values: list[str] = []
            if rdtype == "TXT":
                values = ["".join(t.value or []) for t in rs.txt_records or []]
            elif rdtype == "CNAME" and rs.cname_record:
                values = [rs.cname_record.cname or ""]
            elif rdtype == "MX":
                values = [f"{m.preference} {m.exchange}" for m in rs.mx_records or []]
            elif rdtype == "A":
                values = [a.ipv4_address or "" for a in rs.a_records or []]
            elif rdtype == "AAAA":
                values = [a.ipv6_address or "" for a in rs.aaaa_records or []]
            else:
                continue  # SOA/NS are the zone's plumbing, CAA/SRV are not audited here
            name = fqdn(str(rs.name or "@"), zone_name)
            out.append(ExpectedRecord(name, rdtype, tuple(values), f"Azure DNS {zone_name}/{rdtype}/{rs.name}"))
    return out
