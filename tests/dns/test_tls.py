"""``augeoctl tls check`` and the audit's TLS part against loopback TLS servers."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from augeoctl.cli import cli
from augeoctl.dns.tls import parse_target

pytestmark = pytest.mark.integration


def check(tls_servers, pki, name: str, host: str = "localhost", *extra: str):
    port = tls_servers[name].port
    r = CliRunner().invoke(cli, ["tls", "check", f"{host}:{port}", "--ca-file", str(pki.ca_cert), "-o", "json",
                                 *extra], catch_exceptions=False)
    report = json.loads(r.stdout)
    return r.exit_code, {f["id"]: f for f in report["findings"]}


def test_valid_certificate(tls_servers, pki) -> None:
    code, f = check(tls_servers, pki, "valid")
    assert code == 0
    assert {k: v["status"] for k, v in f.items()} == {"tls.chain": "pass", "tls.hostname": "pass", "tls.expiry": "pass"}
    assert "days to expiry" in f["tls.expiry"]["message"]


def test_expiring_in_ten_days_warns(tls_servers, pki) -> None:
    code, f = check(tls_servers, pki, "expiring")
    assert code == 0
    assert f["tls.expiry"]["status"] == "warn" and "expires in" in f["tls.expiry"]["message"]
    code, f = check(tls_servers, pki, "expiring", "localhost", "--warn-days", "5")
    assert f["tls.expiry"]["status"] == "pass"


def test_expired_fails(tls_servers, pki) -> None:
    code, f = check(tls_servers, pki, "expired")
    assert code == 4
    assert f["tls.expiry"]["status"] == "fail" and "expired" in f["tls.expiry"]["message"]


def test_wrong_hostname_fails(tls_servers, pki) -> None:
    code, f = check(tls_servers, pki, "wronghost")
    assert code == 4
    assert f["tls.hostname"]["status"] == "fail" and "portal.elsewhere.example" in f["tls.hostname"]["message"]
    assert f["tls.chain"]["status"] == "pass"


def test_self_signed_chain_fails(tls_servers, pki) -> None:
    code, f = check(tls_servers, pki, "selfsigned")
    assert code == 4
    assert f["tls.chain"]["status"] == "fail"
    assert f["tls.hostname"]["status"] == "pass"


def test_unreachable_host_is_an_error(tls_servers, pki) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = CliRunner().invoke(cli, ["tls", "check", f"127.0.0.1:{port}", "-o", "json"], catch_exceptions=False)
    assert r.exit_code == 3
    assert json.loads(r.stdout)["findings"][0]["status"] == "error"


def test_audit_checks_platform_hosts_through_its_nameserver(knot, tls_servers, pki) -> None:
    port = tls_servers["expiring"].port
    r = CliRunner().invoke(cli, ["dns", "audit", "good.example", "-n", knot.nameserver, "-o", "json",
                                 "--tls-host", f"admin.good.example:{port}", "--tls-host", f"api.good.example:{port}",
                                 "--tls-host", "nohost.good.example", "--ca-file", str(pki.ca_cert)],
                           catch_exceptions=False)
    report = json.loads(r.stdout)
    tls = [f for f in report["findings"] if f["group"] == "TLS"]
    assert [f["status"] for f in tls if f["id"] == "tls.expiry"] == ["warn", "warn"]
    assert [f["status"] for f in tls if f["id"] == "tls.hostname"] == ["pass", "pass"]
    assert [f["status"] for f in tls if f["id"] == "tls.resolve"] == ["warn"]
    assert r.exit_code == 0


def test_target_parsing() -> None:
    assert parse_target("api.example.com") == parse_target("api.example.com:443")
    assert parse_target("[::1]:8443").port == 8443
    with pytest.raises(Exception, match="not a port"):
        parse_target("host:99999")
