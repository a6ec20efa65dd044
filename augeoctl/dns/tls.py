"""TLS certificate checks of the platform's hosts: chain, hostname, days to expiry."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from dataclasses import dataclass

from augeoctl.dns.findings import ERROR, FAIL, PASS, WARN, Finding
from augeoctl.errors import UsageError

WARN_DAYS = 30
RFC5280 = "RFC 5280 §6 (path validation)"
RFC6125 = "RFC 6125 §6 (hostname)"


@dataclass(frozen=True)
class Target:
    host: str  # the name the certificate must carry (SNI)
    port: int = 443
    address: str | None = None  # connect here instead of resolving ``host``

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def parse_target(text: str, default_port: int = 443) -> Target:
    host, port = text, default_port
    if text.startswith("["):
        h, _, rest = text[1:].partition("]")
        host = h
        if rest.startswith(":"):
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = _port(p, text)
    if not host:
        raise UsageError(f"{text!r} names no host", hint="give HOST or HOST:PORT")
    return Target(host.rstrip("."), port)


def _port(p: str, text: str) -> int:
    if not p.isdigit() or not 0 < int(p) < 65536:
        raise UsageError(f"{text!r}: {p!r} is not a port number")
    return int(p)


@dataclass(frozen=True)
class CertInfo:
    subject: str
    issuer: str
    not_after: dt.datetime
    days_left: float
    names: tuple[str, ...]


def _peer_cert(target: Target, timeout: float) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((target.address or target.host, target.port), timeout=timeout) as sock:
        with ctx.wrap_socket(sock, server_hostname=target.host) as tls:
            der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der


def _info(der: bytes, now: dt.datetime) -> CertInfo:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(san.get_values_for_type(x509.DNSName)) + tuple(
            str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        names = ()
    not_after = cert.not_valid_after_utc
    return CertInfo(cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), not_after,
                    (not_after - now).total_seconds() / 86400, names)


def check_target(target: Target, *, ca_file: str | None = None, timeout: float = 5.0,
                 warn_days: int = WARN_DAYS, now: dt.datetime | None = None) -> list[Finding]:
    now = now or dt.datetime.now(dt.UTC)
    label = target.label
    try:
        der = _peer_cert(target, timeout)
    except (OSError, ssl.SSLError) as exc:
        return [Finding("tls.connect", ERROR, f"{label}: cannot complete a TLS handshake: {exc}", label, "RFC 8446")]
    info = _info(der, now)
    out: list[Finding] = []
    # Chain: a second, verifying handshake against the trust store.
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    ctx.check_hostname = False
    try:
        with socket.create_connection((target.address or target.host, target.port), timeout=timeout) as sock:
            with ctx.wrap_socket(sock, server_hostname=target.host):
                pass
        out.append(Finding("tls.chain", PASS, f"{label}: chain to a trusted root (issuer {info.issuer})", label, RFC5280))
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
        out.append(Finding("tls.chain", FAIL, f"{label}: chain does not verify: {reason}", label, RFC5280))
    except (OSError, ssl.SSLError) as exc:
        out.append(Finding("tls.chain", ERROR, f"{label}: verifying handshake failed: {exc}", label, RFC5280))
    if _matches(target.host, info.names):
        out.append(Finding("tls.hostname", PASS, f"{label}: certificate names {target.host}", label, RFC6125))
    else:
        shown = ", ".join(info.names) or info.subject
        out.append(Finding("tls.hostname", FAIL, f"{label}: certificate is for {shown}, not {target.host}", label, RFC6125))
    days = info.days_left
    expiry = info.not_after.strftime("%Y-%m-%d %H:%M UTC")
    if days < 0:
        out.append(Finding("tls.expiry", FAIL, f"{label}: expired {-days:.0f} days ago ({expiry})", label, RFC5280))
    elif days < warn_days:
        out.append(Finding("tls.expiry", WARN, f"{label}: expires in {days:.0f} days ({expiry})", label, RFC5280))
    else:
        out.append(Finding("tls.expiry", PASS, f"{label}: {days:.0f} days to expiry ({expiry})", label, RFC5280))
    return out


def _matches(host: str, names: tuple[str, ...]) -> bool:
    """Exact or single left-most wildcard label (RFC 6125 §6.4.3); no CN fallback."""
    host = host.lower().rstrip(".")
    for name in names:
        n = name.lower().rstrip(".")
        if n == host:
            return True
        if n.startswith("*.") and "." in host and host.split(".", 1)[1] == n[2:]:
            return True
    return False


def check_all(targets: list[Target], *, ca_file: str | None = None, timeout: float = 5.0,
              warn_days: int = WARN_DAYS) -> list[Finding]:
    from concurrent.futures import ThreadPoolExecutor

    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
        results = list(pool.map(lambda t: check_target(t, ca_file=ca_file, timeout=timeout, warn_days=warn_days),
                                targets))
    return [f for r in results for f in r]
