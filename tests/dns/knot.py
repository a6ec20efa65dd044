"""Knot DNS on a loopback port, serving zone files written from ``tests.dns.zones``.

Knot runs as whoever starts it (as root it needs no ``user:`` in its config), listens on
a free loopback port, and is stopped by ``stop()``. A zone configured without a file
makes Knot answer SERVFAIL for it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.dns import zones as fixture_zones

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


class KnotServer:
    def __init__(self, folder: Path, zones: dict[str, fixture_zones.Zone], broken: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.port = free_port()
        (folder / "zones").mkdir()
        (folder / "run").mkdir()
        (folder / "db").mkdir()
        for origin, zone in zones.items():
            (folder / "zones" / f"{origin}.zone").write_text(zone.text())
        zone_list = "\n".join(f"  - domain: {z}" for z in [*zones, *broken])
        self.conf = folder / "knot.conf"
        self.conf.write_text(f"""server:
    rundir: "{folder / 'run'}"
    listen: 127.0.0.1@{self.port}
database:
    storage: "{folder / 'db'}"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "{folder / 'zones'}"
    file: "%s.zone"
    journal-content: none
zone:
{zone_list}
""")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "knotd.log"

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, expect: str) -> KnotServer:
        if not Path(KNOTD).exists():
            raise RuntimeError("knotd is not installed: apt-get install -y knot")
        self.proc = subprocess.Popen([KNOTD, "-c", str(self.conf)], stdout=self.log.open("wb"),
                                     stderr=subprocess.STDOUT)
        import dns.resolver

        res = dns.resolver.Resolver(configure=False)
        res.nameservers = ["127.0.0.1"]
        res.nameserver_ports = {"127.0.0.1": self.port}
        res.lifetime = 0.2
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"knotd exited: {self.log.read_text()[-2000:]}")
            try:
                res.resolve(expect, "SOA")
                return self
            except Exception:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"knotd did not answer for {expect}: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
