"""``augeoctl dns audit`` against a real Knot DNS server serving the fixture zones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from augeoctl.cli import cli
from augeoctl.dns.audit import run_audit
from augeoctl.dns.resolver import Resolver

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def audit(knot, domain: str, *args: str, tls: bool = False):
    argv = ["dns", "audit", domain, "-n", knot.nameserver, "-o", "json", *args]
    if not tls:
        argv.append("--no-tls")
    r = CliRunner().invoke(cli, argv, catch_exceptions=False)
    try:
        report = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {r.exit_code}): {r.stdout!r} {r.stderr!r}") from None
    return r.exit_code, report


def statuses(report: dict, fid: str, record: str | None = None) -> list[str]:
    return [f["status"] for f in report["findings"]
            if f["id"] == fid and (record is None or record in f["record"] or record in f["message"])]


def test_correct_acs_domain_passes_everything(knot) -> None:
    code, r = audit(knot, "good.example")
    bad = [f for f in r["findings"] if f["status"] != "pass"]
    assert bad == [], bad
    assert code == 0
    assert r["verdict"] == "pass"
    ids = {f["id"] for f in r["findings"]}
    assert {"spf.record", "spf.syntax", "spf.lookup-limit", "spf.void-lookups", "spf.all", "spf.acs-include",
            "spf.acs-all", "dkim.acs-cname", "dkim.record", "dkim.key-size", "dmarc.record", "dmarc.policy",
            "dmarc.rua", "acs.ownership", "mx.present", "mx.resolvable"} <= ids
    for f in r["findings"]:
        assert f["message"] and f["reference"], f
    assert r["queries"] > 0
    assert r["spf_tree"]["lookups"] == 1


def test_text_output_groups_by_area(knot) -> None:
    r = CliRunner().invoke(cli, ["dns", "audit", "good.example", "-n", knot.nameserver, "--no-tls"],
                           catch_exceptions=False)
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    groups = [ln for ln in lines if ln in ("SPF", "DKIM", "DMARC", "ACS", "MX")]
    assert groups == ["SPF", "DKIM", "DMARC", "ACS", "MX"]
    assert "PASS" in r.stdout and "{" not in lines[0]


@pytest.mark.parametrize(("domain", "fid", "status"), [
    ("plusall.example", "spf.all", "fail"),
    ("qall.example", "spf.all", "fail"),
    ("softall.example", "spf.all", "warn"),
    ("softall.example", "spf.acs-all", "fail"),
    ("noall.example", "spf.all", "warn"),
    ("twospf.example", "spf.record", "fail"),
    ("nospf.example", "spf.record", "fail"),
    ("syntax.example", "spf.syntax", "fail"),
    ("toomany.example", "spf.lookup-limit", "fail"),
    ("voids.example", "spf.void-lookups", "fail"),
    ("loop.example", "spf.loop", "fail"),
    ("ptr.example", "spf.ptr", "warn"),
    ("noacs.example", "spf.acs-include", "fail"),
    ("bigspf.example", "spf.size", "warn"),
    ("redir.example", "spf.all", "warn"),
    ("redir.example", "spf.acs-all", "fail"),
])
def test_spf_defects(knot, domain, fid, status) -> None:
    code, r = audit(knot, domain)
    assert status in statuses(r, fid), [f for f in r["findings"] if f["group"] == "SPF"]
    assert code == (4 if r["counts"]["fail"] else 0)


def test_spf_counts_lookups_per_branch(knot) -> None:
    _, r = audit(knot, "toomany.example")
    tree = r["spf_tree"]
    assert tree["lookups"] == 11
    assert len(tree["children"]) == 11
    msg = next(f["message"] for f in r["findings"] if f["id"] == "spf.lookup-limit")
    assert "11 DNS-querying terms" in msg and "include:i1.toomany.example=1" in msg
    _, r = audit(knot, "voids.example")
    assert r["spf_tree"]["void_lookups"] == 3


def test_spf_syntax_names_each_bad_term(knot) -> None:
    _, r = audit(knot, "syntax.example")
    msg = next(f["message"] for f in r["findings"] if f["id"] == "spf.syntax")
    assert "ip4:300.1.2.3" in msg and "foo:bar" in msg


def test_dkim_acs_selectors_and_key_defects(knot) -> None:
    sels = ["revoked", "small", "k1024", "badk", "badb64", "testing"]
    code, r = audit(knot, "dkim.example", *[a for s in sels for a in ("--selector", s)])
    assert code == 4
    assert statuses(r, "dkim.acs-cname", "selector1") == ["fail"]
    assert "elsewhere.example" in next(f["message"] for f in r["findings"]
                                       if f["id"] == "dkim.acs-cname" and "selector1" in f["message"])
    assert statuses(r, "dkim.acs-cname", "selector2") == ["fail"]
    assert statuses(r, "dkim.revoked", "revoked") == ["fail"]
    assert statuses(r, "dkim.key-size", "small.") == ["fail"]
    assert statuses(r, "dkim.key-size", "k1024") == ["warn"]
    assert statuses(r, "dkim.key-type", "badk") == ["fail"]
    assert statuses(r, "dkim.key", "badb64") == ["fail"]
    assert statuses(r, "dkim.testing", "testing") == ["warn"]
    assert statuses(r, "dkim.record", "testing") == ["pass"]


def test_dkim_custom_selector_passes_and_missing_selector_fails(knot) -> None:
    code, r = audit(knot, "good.example", "-s", "custom", "-s", "nosuch")
    assert statuses(r, "dkim.record", "custom") == ["pass"]
    assert statuses(r, "dkim.key-size", "custom") == ["pass"]
    assert statuses(r, "dkim.record", "nosuch") == ["fail"]
    assert code == 4


@pytest.mark.parametrize(("domain", "fid", "status"), [
    ("dmarcnone.example", "dmarc.policy", "warn"),
    ("dmarcnone.example", "dmarc.rua", "warn"),
    ("dmarctwo.example", "dmarc.record", "fail"),
    ("dmarcsyntax.example", "dmarc.syntax", "fail"),
    ("dmarcsyntax.example", "dmarc.policy", "fail"),
    ("dmarcsp.example", "dmarc.sp", "warn"),
    ("nodmarc.example", "dmarc.record", "fail"),
    ("good.example", "dmarc.policy", "pass"),
])
def test_dmarc(knot, domain, fid, status) -> None:
    _, r = audit(knot, domain)
    assert status in statuses(r, fid), [f for f in r["findings"] if f["group"] == "DMARC"]


def test_dmarc_external_report_authorization(knot) -> None:
    _, r = audit(knot, "dmarc-ext.example")
    ext = {f["record"]: f["status"] for f in r["findings"] if f["id"] == "dmarc.external-report"}
    assert ext == {"dmarc-ext.example._report._dmarc.reports.example": "pass",
                   "dmarc-ext.example._report._dmarc.other-reports.example": "fail"}


def test_dmarc_organizational_domain_under_a_multi_label_public_suffix(knot) -> None:
    _, r = audit(knot, "augeo.co.uk")
    ext = {f["record"]: f["status"] for f in r["findings"] if f["id"] == "dmarc.external-report"}
    # reports.augeo.co.uk is inside augeo.co.uk; othercorp.co.uk is another organization
    # (co.uk is a public suffix), and only partner.co.uk has authorized the reports.
    assert ext == {"augeo.co.uk._report._dmarc.othercorp.co.uk": "fail",
                   "augeo.co.uk._report._dmarc.partner.co.uk": "pass"}
    (org,) = [f for f in r["findings"] if f["id"] == "dmarc.org-domain"]
    assert "organizational domain augeo.co.uk (Public Suffix List)" in org["message"]


def test_dmarc_psd_n_makes_the_domain_its_own_organizational_domain(knot) -> None:
    _, r = audit(knot, "dept.psd.example")
    ext = {f["record"]: f["status"] for f in r["findings"] if f["id"] == "dmarc.external-report"}
    assert ext == {"dept.psd.example._report._dmarc.psd.example": "fail"}
    (org,) = [f for f in r["findings"] if f["id"] == "dmarc.org-domain"]
    assert "dept.psd.example (RFC 9989 tree walk (psd=n))" in org["message"]


@pytest.mark.parametrize("domain", ["sub.good.example", "deep.sub.good.example"])
def test_dmarc_subdomain_falls_back_to_organizational_domain(knot, domain) -> None:
    _, r = audit(knot, domain)
    rec = next(f for f in r["findings"] if f["id"] == "dmarc.record")
    assert rec["status"] == "pass" and rec["message"].endswith("inherited from good.example")


@pytest.mark.parametrize(("domain", "fid", "status"), [
    ("mxbad.example", "mx.resolvable", "fail"),
    ("nullmx.example", "mx.present", "pass"),
    ("nomx.example", "mx.present", "warn"),
    ("noacs.example", "acs.ownership", "fail"),
    ("good.example", "acs.ownership", "pass"),
])
def test_mx_and_acs_ownership(knot, domain, fid, status) -> None:
    _, r = audit(knot, domain)
    assert statuses(r, fid) == [status], [f for f in r["findings"] if f["id"] == fid]


def test_nonexistent_domain_is_reported_clearly(knot) -> None:
    code, r = audit(knot, "nosuchname.good.example")
    assert code == 4
    assert [f["id"] for f in r["findings"]] == ["domain.exists"]
    assert "does not exist" in r["findings"][0]["message"]


def test_servfail_gives_error_findings_not_a_crash(knot) -> None:
    code, r = audit(knot, "broken.example")
    assert code == 3
    assert r["counts"]["error"] >= 5 and r["counts"]["fail"] == 0
    assert statuses(r, "spf.lookup") == ["error"]
    assert statuses(r, "mx.lookup") == ["error"]
    assert r["unreachable"] is True


def test_timeouts_give_error_findings_and_the_connectivity_code(silent_dns) -> None:
    r = CliRunner().invoke(cli, ["dns", "audit", "good.example", "-n", silent_dns, "--timeout", "0.1",
                                 "--retries", "1", "--no-tls", "-o", "json"], catch_exceptions=False)
    assert r.exit_code == 3, r.stderr
    report = json.loads(r.stdout)
    assert report["unreachable"] is True
    assert {f["status"] for f in report["findings"]} == {"error"}
    assert any("timeout" in f["message"] for f in report["findings"])


def test_nothing_answering_stops_after_the_first_probe_and_says_it_once(silent_dns) -> None:
    r = CliRunner().invoke(cli, ["dns", "audit", "good.example", "-n", silent_dns, "--timeout", "0.1",
                                 "--retries", "2", "--no-tls", "-o", "json"], catch_exceptions=False)
    assert r.exit_code == 3, r.stderr
    report = json.loads(r.stdout)
    assert [f["id"] for f in report["findings"]] == ["dns.unreachable"]
    assert "no answer in 0.1 s (3 tries)" in report["findings"][0]["message"]
    assert report["queries"] == 3  # the probe's three tries, nothing more


def test_bad_input_is_a_usage_error(knot) -> None:
    r = CliRunner().invoke(cli, ["dns", "audit", "nodots", "-n", knot.nameserver], catch_exceptions=False)
    assert r.exit_code == 2 and "not a domain name" in r.stderr
    r = CliRunner().invoke(cli, ["dns", "audit", "good.example", "-n", "not-an-ip"], catch_exceptions=False)
    assert r.exit_code == 2 and "not an IP address" in r.stderr
    r = CliRunner().invoke(cli, ["dns", "audit", "good.example", "--expected-from", "azure"], catch_exceptions=False)
    assert r.exit_code == 2 and "Azure environment" in r.stderr


def test_drift_against_terraform(knot) -> None:
    code, r = audit(knot, "good.example", "--expected-from", "terraform",
                    "--terraform-dir", str(FIXTURES / "terraform"))
    rows = {(d["name"], d["rdtype"]): d for d in r["drift"]}
    assert rows[("selector1-azurecomm-prod-net._domainkey.good.example", "CNAME")]["status"] == "match"
    assert rows[("_dmarc.good.example", "TXT")]["status"] == "match"
    assert rows[("good.example", "MX")]["status"] == "different"
    assert rows[("good.example", "MX")]["live"] == ["10 mx.good.example"]
    assert rows[("status.good.example", "A")]["status"] == "missing"
    apex = rows[("good.example", "TXT")]
    assert apex["status"] == "unresolved"
    assert any(v.startswith("unresolved, from azurerm_email_communication_service_domain") for v in apex["expected"])
    assert not any(d["name"].endswith("other.example") for d in r["drift"])
    assert code == 4  # the MX and the A record drifted


def test_drift_table_in_text(knot) -> None:
    r = CliRunner().invoke(cli, ["dns", "audit", "good.example", "-n", knot.nameserver, "--no-tls",
                                 "--expected-from", "terraform", "--terraform-dir", str(FIXTURES / "terraform")],
                           catch_exceptions=False)
    assert "Expected vs live:" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("good.example") and " MX " in ln)
    assert "20 mx2.good.example" in line and "10 mx.good.example" in line and "different" in line


def test_lookups_run_in_parallel_and_are_cached(knot) -> None:
    """Every (name, type) is asked once, however many checks need it."""
    res = Resolver([knot.nameserver])
    try:
        report = run_audit(res, "good.example")
    finally:
        res.close()
    assert report.verdict == "pass"
    assert res.queries_sent == len(res._cache)


def test_independent_lookups_are_asked_at_the_same_time(knot) -> None:
    """Behind a forwarder holding each query, an audit has many questions in flight at once."""
    from tests.dns.delayproxy import DelayForwarder

    fwd = DelayForwarder(("127.0.0.1", knot.port), delay=0.05)
    res = Resolver([f"127.0.0.1:{fwd.port}"], timeout=5)
    try:
        report = run_audit(res, "toomany.example")
    finally:
        res.close()
        fwd.stop()
    assert report.spf_tree is not None and report.spf_tree["lookups"] == 11
    assert fwd.queries == res.queries_sent
    assert fwd.max_in_flight >= 5  # the 11 includes of one level are fetched together


def test_timeouts_are_retried(silent_dns) -> None:
    res = Resolver([silent_dns], timeout=0.05, retries=2)
    try:
        ans = res.query("good.example", "TXT")
    finally:
        res.close()
    assert ans.status == "timeout" and ans.failed
    assert res.queries_sent == 3


def test_installed_command_as_a_user_runs_it(knot) -> None:
    from tests.conftest import run_cli

    r = run_cli("dns", "audit", "plusall.example", "--nameserver", knot.nameserver, "--no-tls", "-o", "json",
                timeout=120)
    assert r.returncode == 4, r
    report = r.json()
    assert [f["status"] for f in report["findings"] if f["id"] == "spf.all"] == ["fail"]
    assert "Traceback" not in r.stderr and "check(s) failed" in r.stderr


def test_vv_logs_each_dns_query_with_its_server_and_answer(knot) -> None:
    quiet = CliRunner().invoke(cli, ["dns", "audit", "good.example", "-n", knot.nameserver, "--no-tls"],
                               catch_exceptions=False)
    loud = CliRunner().invoke(cli, ["dns", "audit", "good.example", "-n", knot.nameserver, "--no-tls", "-vv"],
                              catch_exceptions=False)
    assert quiet.exit_code == loud.exit_code == 0
    assert " DNS " not in quiet.stderr
    line = next(ln for ln in loud.stderr.splitlines() if "DNS _dmarc.good.example TXT" in ln)
    assert f"@{knot.nameserver}" in line and "-> ok [v=DMARC1" in line
