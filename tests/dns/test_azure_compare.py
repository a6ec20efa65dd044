"""ACS and Azure DNS comparisons through the real Azure SDKs against the fake ARM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from augeoctl import azure
from augeoctl.cli import cli
from tests.dns.zones import VERIFY
from tests.fakearm.email import (
    AcsState,
    acs_records,
    install_acs,
    install_dns_zone,
    record_set,
    zone_path,
)
from tests.fakearm.server import FakeArm, TestCredential

pytestmark = pytest.mark.integration

RG = "rg-augeo-staging"
DNS_RG = "rg-augeo-dns"
SERVICE = "acs-email-staging"


@pytest.fixture()
def arm(tmp_path: Path):
    fake = FakeArm(tmp_path).start()
    good = AcsState("good.example", acs_records("good.example", VERIFY))
    drifted = AcsState("dmarcnone.example", acs_records("dmarcnone.example", "ms-domain-verification=other-guid"),
                       states={"domain": "VerificationFailed", "spf": "Verified", "dkim": "Verified",
                               "dkim2": "VerificationInProgress", "dmarc": "NotStarted"})
    install_acs(fake, RG, SERVICE, {"good.example": good, "dmarcnone.example": drifted})
    zp = zone_path(fake, DNS_RG, "good.example")
    install_dns_zone(fake, DNS_RG, "good.example", [
        record_set(zp, "@", "SOA", ["ns1-01.azure-dns.com."]),
        record_set(zp, "@", "NS", ["ns1-01.azure-dns.com."]),
        record_set(zp, "@", "TXT", [VERIFY, "v=spf1 include:spf.protection.outlook.com -all"]),
        record_set(zp, "selector1-azurecomm-prod-net._domainkey", "CNAME",
                   ["selector1-azurecomm-prod-net._domainkey.azurecomm.net"]),
        record_set(zp, "selector2-azurecomm-prod-net._domainkey", "CNAME",
                   ["selector2-azurecomm-prod-net._domainkey.azurecomm.net"]),
        record_set(zp, "_dmarc", "TXT", ["v=DMARC1; p=quarantine; rua=mailto:dmarc@good.example"]),
        record_set(zp, "@", "MX", [(10, "mx.good.example")]),
        record_set(zp, "admin", "A", ["127.0.0.1"]),
    ])
    yield fake
    fake.stop()


def config(tmp_path: Path, arm: FakeArm, **extra) -> Path:
    values = {"subscription_id": arm.subscription, "resource_group": RG, "postgres_server": "psql-augeo-staging",
              "email_service": SERVICE, "dns_zone": "good.example", "dns_resource_group": DNS_RG,
              "arm_endpoint": arm.url, "ca_bundle": str(arm.ca), "retry_total": 3, **extra}
    cfg = tmp_path / "environments.toml"
    cfg.write_text("[environments.staging]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return cfg


def run(cfg: Path, knot, *args: str):
    r = CliRunner().invoke(cli, ["--config", str(cfg), "--env", "staging", "dns", "audit", *args,
                                 "-n", knot.nameserver, "--no-tls", "-o", "json"], catch_exceptions=False)
    return r


def test_acs_expected_records_and_states_match(tmp_path, arm, credential, knot) -> None:
    r = run(config(tmp_path, arm), knot, "good.example")
    assert r.exit_code == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    acs = {f["id"]: f["status"] for f in report["findings"] if f["id"].startswith("acs.")}
    assert acs == {"acs.ownership": "pass", "acs.record.domain": "pass", "acs.record.spf": "pass",
                   "acs.record.dkim": "pass", "acs.record.dkim2": "pass",
                   "acs.record.dmarc": "warn",  # a stricter record than the one ACS suggests
                   "acs.state.domain": "pass", "acs.state.spf": "pass", "acs.state.dkim": "pass",
                   "acs.state.dkim2": "pass", "acs.state.dmarc": "pass"}
    assert report["acs_states"] == {k: "Verified" for k in ("domain", "spf", "dkim", "dkim2", "dmarc")}
    gets = arm.calls("GET", "/emailServices/acs-email-staging/domains/good.example")
    assert len(gets) == 1 and gets[0].query["api-version"] == ["2025-09-01"]
    assert gets[0].headers["Authorization"] == f"Bearer {credential.token}"


def test_expected_from_acs_takes_its_dmarc_value_as_a_suggestion(tmp_path, arm, credential, knot) -> None:
    """ACS suggests a bare DMARC record; a domain that adds rua= (as Terraform does) is not
    drift: it is the acs.record.dmarc warning, and the records ACS requires are compared."""
    r = run(config(tmp_path, arm), knot, "good.example", "--expected-from", "acs")
    assert r.exit_code == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    acs_rows = [d for d in report["drift"] if d["source"].startswith("ACS")]
    assert acs_rows and all(d["status"] == "match" for d in acs_rows if not d["name"].startswith("_dmarc."))
    assert not [f for f in report["findings"] if f["id"] == "drift.record" and f["status"] != "pass"]
    assert {f["id"]: f["status"] for f in report["findings"]}["acs.record.dmarc"] == "warn"


def test_acs_reports_unverified_states_and_wrong_values(tmp_path, arm, credential, knot) -> None:
    r = run(config(tmp_path, arm), knot, "dmarcnone.example")
    report = json.loads(r.stdout)
    f = {x["id"]: x for x in report["findings"] if x["id"].startswith("acs.")}
    assert f["acs.record.domain"]["status"] == "fail"  # live TXT has another verification value
    assert "ms-domain-verification=other-guid" in f["acs.record.domain"]["message"]
    assert f["acs.state.domain"]["status"] == "fail"
    assert f["acs.state.dkim2"]["status"] == "warn" and "VerificationInProgress" in f["acs.state.dkim2"]["message"]
    assert f["acs.state.dmarc"]["status"] == "warn"
    assert f["acs.state.spf"]["status"] == "pass"
    assert r.exit_code == 4


def test_expected_from_azure_dns_zone(tmp_path, arm, credential, knot) -> None:
    r = run(config(tmp_path, arm), knot, "good.example", "--expected-from", "azure")
    report = json.loads(r.stdout)
    rows = {(d["name"], d["rdtype"]): d["status"] for d in report["drift"] if d["source"].startswith("Azure DNS")}
    assert rows == {
        ("good.example", "TXT"): "match",
        ("selector1-azurecomm-prod-net._domainkey.good.example", "CNAME"): "match",
        ("selector2-azurecomm-prod-net._domainkey.good.example", "CNAME"): "match",
        ("_dmarc.good.example", "TXT"): "different",  # Azure says quarantine, the nameserver says reject
        ("good.example", "MX"): "match",
        ("admin.good.example", "A"): "match",
    }
    pages = arm.calls("GET", r"/dnsZones/good\.example/all$")
    assert len(pages) == 3  # 8 record sets, 3 a page: the SDK followed nextLink
    assert r.exit_code == 4


def test_expected_from_acs(tmp_path, arm, credential, knot) -> None:
    r = run(config(tmp_path, arm), knot, "good.example", "--expected-from", "acs")
    report = json.loads(r.stdout)
    sources = {(d["name"], d["rdtype"]): d["source"] for d in report["drift"]}
    assert sources[("good.example", "TXT")] == "ACS verification record domain; ACS verification record spf"
    assert sources[("selector1-azurecomm-prod-net._domainkey.good.example", "CNAME")] == "ACS verification record dkim"
    assert len(report["drift"]) == len(sources)  # each (name, type) once


def test_throttling_is_retried_after_retry_after(tmp_path, arm, credential, knot) -> None:
    arm.inject("GET", "/domains/good.example", 429, times=2, retry_after=0.05)
    r = run(config(tmp_path, arm), knot, "good.example")
    assert r.exit_code == 0, r.stderr
    statuses = [c.status for c in arm.calls("GET", "/domains/good.example")]
    assert statuses == [429, 429, 200]


def test_server_errors_beyond_retries_are_a_connectivity_failure(tmp_path, arm, credential, knot) -> None:
    arm.inject("GET", "/domains/good.example", 500, times=10)
    r = run(config(tmp_path, arm, retry_total=1), knot, "good.example")
    assert r.exit_code == 3
    assert "HTTP 500" in r.stderr
    assert json.loads(r.stdout)["error"]["type"] == "DependencyError"


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials(tmp_path, arm, credential, knot, status) -> None:
    arm.inject("GET", "/domains/good.example", status, times=5)
    r = run(config(tmp_path, arm), knot, "good.example")
    assert r.exit_code == 3
    assert f"HTTP {status}" in r.stderr and "hint:" in r.stderr


def test_wrong_token_is_refused_by_the_fake(tmp_path, arm, knot) -> None:
    azure.set_credential_factory(lambda env: TestCredential("not-the-token"))
    try:
        r = run(config(tmp_path, arm), knot, "good.example")
    finally:
        azure.set_credential_factory(None)
    assert r.exit_code == 3 and "refused" in r.stderr
    assert arm.calls()[0].status == 401


def test_unknown_acs_domain_is_not_found(tmp_path, arm, credential, knot) -> None:
    r = run(config(tmp_path, arm), knot, "nomx.example")
    assert r.exit_code == 2 and "not found" in r.stderr


def test_missing_email_service_for_expected_from_acs(tmp_path, arm, credential, knot) -> None:
    cfg = config(tmp_path, arm)
    cfg.write_text("\n".join(ln for ln in cfg.read_text().splitlines() if not ln.startswith("email_service")) + "\n")
    r = run(cfg, knot, "good.example", "--expected-from", "acs")
    assert r.exit_code == 2 and "email_service" in r.stderr


def test_tls_hosts_come_from_the_environment(tmp_path, arm, credential, knot, tls_servers, pki) -> None:
    port = tls_servers["valid"].port
    cfg = config(tmp_path, arm, admin_url=f"https://admin.good.example:{port}/",
                 api_url=f"https://api.good.example:{tls_servers['expired'].port}")
    r = CliRunner().invoke(cli, ["--config", str(cfg), "--env", "staging", "dns", "audit", "good.example",
                                 "-n", knot.nameserver, "--ca-file", str(pki.ca_cert), "-o", "json"],
                           catch_exceptions=False)
    report = json.loads(r.stdout)
    expiry = {f["record"]: f["status"] for f in report["findings"] if f["id"] == "tls.expiry"}
    assert expiry == {f"admin.good.example:{port}": "pass",
                      f"api.good.example:{tls_servers['expired'].port}": "fail"}
    assert r.exit_code == 4


def test_domain_and_nameservers_come_from_the_environment(tmp_path, arm, credential, knot) -> None:
    cfg = config(tmp_path, arm, dns_nameservers=f" {knot.nameserver} ,")
    r = CliRunner().invoke(cli, ["--config", str(cfg), "--env", "staging", "dns", "audit", "--no-tls", "-o", "json"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["domain"] == "good.example"  # dns_zone, no email_domain given
    other = config(tmp_path, arm, email_domain="dmarcnone.example", dns_nameservers=knot.nameserver)
    r = CliRunner().invoke(cli, ["--config", str(other), "--env", "staging", "dns", "audit", "--no-tls", "-o", "json"],
                           catch_exceptions=False)
    assert json.loads(r.stdout)["domain"] == "dmarcnone.example"
    silent = config(tmp_path, arm, dns_nameservers="127.0.0.1:9")  # nothing listens: the flag wins over it
    r = run(silent, knot, "good.example")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_no_domain_anywhere_is_a_usage_error(tmp_path) -> None:
    r = CliRunner().invoke(cli, ["dns", "audit", "--no-tls"], env={"AUGEO_HOME": str(tmp_path)})
    assert r.exit_code == 2 and "email_domain" in r.stderr and "Traceback" not in r.stderr
