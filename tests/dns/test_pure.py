"""Pure logic of the DNS audit: parsers, verdicts, Terraform reading; no servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from augeoctl.dns import dkim, dmarc, spf
from augeoctl.dns.drift import Unresolved, fqdn, normalize, terraform_expected
from augeoctl.dns.findings import Finding, verdict
from augeoctl.dns.resolver import parse_nameserver
from augeoctl.errors import UsageError
from tests.dns.zones import spki_b64

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def f(status: str) -> Finding:
    return Finding("spf.x", status, "m")


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], "pass"), (["pass"], "pass"), (["pass", "warn"], "warn"), (["warn", "error"], "error"),
    (["error", "fail", "warn"], "fail"),
])
def test_verdict(statuses, expected) -> None:
    assert verdict([f(s) for s in statuses]) == expected


def test_finding_rejects_unknown_status_and_derives_group() -> None:
    with pytest.raises(ValueError):
        Finding("spf.x", "ok", "m")
    assert Finding("dmarc.policy", "pass", "m").group == "DMARC"


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("::1", ("::1", 53)), ("[::1]:5300", ("::1", 5300)),
])
def test_parse_nameserver(text, expected) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["ns1.example.com", "127.0.0.1:0", "127.0.0.1:x", "[::1]x"])
def test_parse_nameserver_rejects(text) -> None:
    with pytest.raises(UsageError):
        parse_nameserver(text)


@pytest.mark.parametrize(("term", "ok"), [
    ("include:spf.protection.outlook.com", True), ("a/24", True), ("mx:example.com/24//64", True),
    ("ip4:192.0.2.0/24", True), ("ip6:2001:db8::/32", True), ("exists:%{i}.x.example", True),
    ("ip4:300.1.1.1", False), ("ip4:1.2.3.4/33", False), ("a:foo", False), ("include:", False),
    ("all:x", False), ("foo:bar", False), ("redirect=%{z}.example", False), ("1x=y", False),
])
def test_spf_term_syntax(term, ok) -> None:
    if ok:
        spf.parse_term(term)
    else:
        with pytest.raises(spf.PermError):
            spf.parse_term(term)


def test_dkim_tags_and_key_sizes() -> None:
    key = dkim.parse_tags("v=DKIM1; k=rsa; p=AB CD\tEF")
    assert key.tags["p"] == "ABCDEF" and not key.errors
    assert dkim.parse_tags("v=DKIM1; p=").revoked
    assert dkim.parse_tags("v=DKIM1; garbage").errors
    assert dkim.key_bits("rsa", spki_b64(1024)) == 1024
    assert dkim.key_bits("rsa", spki_b64(512)) == 512
    with pytest.raises(ValueError):
        dkim.key_bits("rsa", "bm90IGEga2V5")  # base64 of "not a key"
    with pytest.raises(ValueError):
        dkim.key_bits("ed25519", "AAAA")


def test_dmarc_parse() -> None:
    tags, errors = dmarc.parse("v=DMARC1; p=reject; sp=quarantine; rua=mailto:a@b.example; pct=50")
    assert tags["p"] == "reject" and not errors
    _, errors = dmarc.parse("p=reject; v=DMARC1")
    assert any("first" in e for e in errors)
    _, errors = dmarc.parse("v=DMARC1; p=reject; pct=150; aspf=x")
    assert len(errors) == 2
    assert dmarc.organizational_domain("a.b.example.org") == "example.org"
    # Multi-label public suffixes (the Public Suffix List, not the last two labels).
    assert dmarc.organizational_domain("augeo.co.uk") == "augeo.co.uk"
    assert dmarc.organizational_domain("mail.othercorp.co.uk") == "othercorp.co.uk"
    assert dmarc.organizational_domain("x.y.city.kawasaki.jp") == "city.kawasaki.jp"  # !exception rule
    assert dmarc.organizational_domain("x.y.other.kawasaki.jp") == "y.other.kawasaki.jp"  # *.kawasaki.jp
    assert dmarc.organizational_domain("shop.example.com.au") == "example.com.au"
    assert dmarc.organizational_domain("co.uk") == "co.uk"  # a public suffix is its own
    assert dmarc.tree_walk_names("a.b.example.org") == ["b.example.org", "example.org"]
    assert dmarc.tree_walk_names("example.org") == []
    assert len(dmarc.tree_walk_names(".".join(["l"] * 12) + ".example.org")) <= 7
    assert dmarc.is_dmarc("v=DMARC1; p=none") and not dmarc.is_dmarc("v=DMARC10")


def test_names_and_values_normalize() -> None:
    assert fqdn("@", "example.org") == "example.org"
    assert fqdn("_dmarc", "Example.org.") == "_dmarc.example.org"
    assert fqdn("x.example.org", "example.org") == "x.example.org"
    assert normalize("CNAME", "Target.Example.") == "target.example"
    assert normalize("MX", "10 MX.Example.") == "10 mx.example"
    assert normalize("AAAA", "2001:DB8:0::1") == "2001:db8::1"


def test_terraform_unresolvable_references_are_reported_not_fatal(tmp_path) -> None:
    (tmp_path / "main.tf").write_text('''
resource "azurerm_dns_txt_record" "x" {
  name                = "@"
  zone_name           = module.dns.zone_name
  resource_group_name = "rg"
  ttl                 = 300
  record {
    value = "v=spf1 -all"
  }
}
resource "azurerm_dns_cname_record" "y" {
  for_each            = toset(["a", "b"])
  name                = each.key
  zone_name           = "example.org"
  resource_group_name = "rg"
  ttl                 = 300
  record              = "t.example.net"
}
resource "azurerm_dns_txt_record" "z" {
  name                = "dyn"
  zone_name           = "example.org"
  resource_group_name = "rg"
  ttl                 = 300
  dynamic "record" {
    for_each = var.values
    content {
      value = record.value
    }
  }
}
''')
    recs, notes = terraform_expected(tmp_path, "example.org")
    assert [(r.name, r.rdtype) for r in recs] == [("example.org", "TXT"), ("dyn.example.org", "TXT")]
    assert isinstance(recs[1].values[0], Unresolved)
    assert any("module.dns.zone_name" in n for n in notes)
    assert any("each.key" in n for n in notes)


def test_terraform_bad_input(tmp_path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        terraform_expected(tmp_path / "nope", "example.org")
    (tmp_path / "bad.tf").write_text("resource {{{")
    with pytest.raises(UsageError, match="not valid HCL"):
        terraform_expected(tmp_path, "example.org")


def test_terraform_fixture_resolves_variables_and_locals() -> None:
    recs, notes = terraform_expected(FIXTURES / "terraform", "good.example")
    by = {(r.name, r.rdtype): r for r in recs}
    assert by[("_dmarc.good.example", "TXT")].values == ("v=DMARC1; p=reject; rua=mailto:dmarc@good.example",)
    assert by[("good.example", "MX")].values == ("20 mx2.good.example",)
    assert notes == []
