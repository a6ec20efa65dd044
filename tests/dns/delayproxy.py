"""A DNS forwarder on loopback that holds every query for a fixed delay and counts them.

UDP and TCP on one port, forwarding to an upstream server (Knot in the tests). It plays
a distant resolver for the benchmark and shows, by ``max_in_flight``, whether a client
asks its questions in parallel.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time


class DelayForwarder:
    """UDP and TCP on one loopback port: wait ``delay`` seconds, forward to ``upstream``, count."""

    def __init__(self, upstream: tuple[str, int], delay: float, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream, self.delay = upstream, delay
        self.queries = 0
        self.in_flight = 0
        self.max_in_flight = 0  # most queries held at once: shows whether a client asks in parallel
        self.asked: list[tuple[str, str]] = []  # (name, type) of each query, in arrival order
        self.lock = threading.Lock()
        fwd = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                fwd._enter(data)
                try:
                    time.sleep(fwd.delay)
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                        up.settimeout(5)
                        up.sendto(data, fwd.upstream)
                        try:
                            answer, _ = up.recvfrom(65535)
                        except OSError:
                            return
                    sock.sendto(answer, self.client_address)
                finally:
                    fwd._leave()

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn = self.request
                conn.settimeout(5)
                with socket.create_connection(fwd.upstream, timeout=5) as up:
                    while True:
                        head = _recv(conn, 2)
                        if not head:
                            return
                        msg = _recv(conn, int.from_bytes(head, "big"))
                        fwd._count(msg)
                        time.sleep(fwd.delay)
                        up.sendall(head + msg)
                        rhead = _recv(up, 2)
                        conn.sendall(rhead + _recv(up, int.from_bytes(rhead, "big")))

        self.udp = socketserver.ThreadingUDPServer((host, port), Udp)
        self.udp.daemon_threads = True
        self.port = self.udp.server_address[1]
        self.tcp = socketserver.ThreadingTCPServer((host, self.port), Tcp)
        self.tcp.daemon_threads = True
        self.host = host
        for srv in (self.udp, self.tcp):
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _question(self, wire: bytes) -> None:
        import dns.message

        try:
            q = dns.message.from_wire(wire).question[0]
            self.asked.append((q.name.to_text().rstrip(".").lower(), dns.rdatatype.to_text(q.rdtype)))
        except Exception:  # noqa: BLE001 - a malformed query is still counted
            self.asked.append(("?", "?"))

    def _count(self, wire: bytes = b"") -> None:
        with self.lock:
            self.queries += 1
            self._question(wire)

    def _enter(self, wire: bytes = b"") -> None:
        with self.lock:
            self.queries += 1
            self._question(wire)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def take(self) -> int:
        with self.lock:
            n, self.queries = self.queries, 0
            return n

    def take_asked(self) -> list[tuple[str, str]]:
        """The (name, type) pairs asked since the last call; also resets ``max_in_flight``."""
        with self.lock:
            asked, self.asked = self.asked, []
            self.max_in_flight = self.in_flight
            return asked

    def stop(self) -> None:
        for srv in (self.udp, self.tcp):
            srv.shutdown()
            srv.server_close()


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return buf
        buf += chunk
    return buf
