"""Real servers for the DNS audit tests: Knot DNS serving the fixture zones, TLS servers.

Knot runs as whoever starts it (root here needs no ``user:``), listens on a free
loopback port, and is stopped at teardown. A zone configured without a file makes Knot
answer SERVFAIL for it; a UDP socket that never answers gives timeouts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dns import zones as fixture_zones
from tests.dns.knot import KnotServer


@pytest.fixture(scope="session")
def dkim_keys() -> dict[int, str]:
    return {bits: fixture_zones.spki_b64(bits) for bits in (2048, 1024, 512)}


@pytest.fixture(scope="session")
def knot(dkim_keys) -> Iterator[KnotServer]:
    folder = Path(tempfile.mkdtemp(prefix="augeo-knot-"))
    server = KnotServer(folder, fixture_zones.build(dkim_keys), broken=(fixture_zones.BROKEN,))
    server.start("good.example")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def silent_dns() -> Iterator[str]:
    """A UDP port that receives queries and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


# -- TLS --------------------------------------------------------------------------


@dataclass
class Pki:
    folder: Path
    ca_cert: Path
    ca_key: object
    ca_name: object

    def leaf(self, name: str, hosts: list[str], *, days_from: float = -1, days_to: float = 90,
             self_signed: bool = False) -> tuple[Path, Path]:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
        now = dt.datetime.now(dt.UTC)
        sans: list[x509.GeneralName] = []
        for h in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                sans.append(x509.DNSName(h))
        issuer, signer = (subject, key) if self_signed else (self.ca_name, self.ca_key)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now + dt.timedelta(days=days_from))
                .not_valid_after(now + dt.timedelta(days=days_to))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .sign(signer, hashes.SHA256()))
        cert_path, key_path = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path


@pytest.fixture(scope="session")
def pki() -> Iterator[Pki]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(tempfile.mkdtemp(prefix="augeo-pki-"))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Augeo Test Root")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=2)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    ca = folder / "ca.pem"
    ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    yield Pki(folder, ca, key, name)
    shutil.rmtree(folder, ignore_errors=True)


class TlsServer:
    """Completes TLS handshakes on a loopback port with one certificate, then closes."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(2)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="session")
def tls_servers(pki) -> Iterator[dict[str, TlsServer]]:
    hosts = ["admin.good.example", "api.good.example", "localhost"]
    specs = {
        "valid": pki.leaf("valid", hosts),
        "expiring": pki.leaf("expiring", hosts, days_to=10),
        "expired": pki.leaf("expired", hosts, days_from=-90, days_to=-3),
        "wronghost": pki.leaf("wronghost", ["portal.elsewhere.example"]),
        "selfsigned": pki.leaf("selfsigned", hosts, self_signed=True),
    }
    servers = {name: TlsServer(*paths) for name, paths in specs.items()}
    yield servers
    for s in servers.values():
        s.stop()
