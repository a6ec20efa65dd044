"""A fake Azure Resource Manager on loopback that the real Azure SDK clients talk to.

Build one, register routes (method + path regex -> handler), start it, and point a
management client at ``arm.url`` with a ``TestCredential`` and ``connection_verify=arm.ca``::

    arm = FakeArm(tmp_path).start()

    @arm.route("GET", r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)")
    def get_group(req):
        return Response(200, {"id": req.path, "name": req.match["rg"], "location": "westeurope"})

What it gives a test:

- **request log**: ``arm.requests`` (every request, with the status answered) and
  ``arm.calls(method, pattern)``;
- **fault injection**: ``arm.inject(method, pattern, status, times=N, retry_after=S)``
  answers the next N matching requests with 429 (+ ``Retry-After``), 5xx, 401, 403 ...;
- **long-running operations**: ``arm.lro(resource_url, polls=2, outcome="Succeeded",
  on_done=callback)`` returns the headers of a 201/202 answer; the SDK then polls
  ``Azure-AsyncOperation`` through ``InProgress`` to ``Succeeded`` or ``Failed``;
- **auth**: every request must carry ``Authorization: Bearer <arm.token>``, else 401
  ``InvalidAuthenticationToken`` the way ARM answers; ``api-version`` is required.

HTTPS or HTTP. azure-core's ``BearerTokenCredentialPolicy`` refuses to send a token to
an ``http://`` URL unless the *operation call* passes ``enforce_https=False``: the flag
is read from each request's options (``_enforce_https`` in
``azure/core/pipeline/policies/_authentication.py``), not from the client's constructor.
Production code does not pass it, so the default here is HTTPS with a self-signed
certificate made at start (``arm.ca`` is the PEM to trust). ``tls=False`` serves plain
HTTP for tests that pass the flag per call.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "fakearm-token-8d41e0c2"
SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"


class TestCredential:
    """A TokenCredential handing out the fake's token (or another one, to test 401)."""

    __test__ = False

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None):
        from azure.core.credentials import AccessTokenInfo

        self.scopes.append(scopes)
        return AccessTokenInfo(self.token, int(time.time()) + 3600)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    match: dict[str, str] = field(default_factory=dict)

    def q(self, name: str, default: str | None = None) -> str | None:
        return (self.query.get(name) or [default])[0]


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0
    route: str = ""  # the pattern that answered, "" for none, "fault" for an injected fault


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    code: str
    message: str


@dataclass
class Operation:
    id: str
    polls_left: int
    outcome: str  # "Succeeded", "Failed", "Canceled"
    error: dict[str, str] | None
    on_done: Callable[[], None] | None
    done: bool = False
    polls: int = 0


Handler = Callable[[Request], "Response | tuple[int, Any] | tuple[int, Any, dict[str, str]]"]


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error body the way ARM writes it (the SDK reads error.code / error.message)."""
    return Response(status, {"error": {"code": code, "message": message}}, headers or {})


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for two days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fakearm.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fakearm.pem", folder / "fakearm.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class FakeArm:
    """The server. Thread-safe: handlers run one at a time under ``arm.lock``."""

    def __init__(self, folder: Path | None = None, *, tls: bool = True, token: str = TOKEN,
                 subscription: str = SUBSCRIPTION, location: str = "westeurope") -> None:
        self.folder = Path(folder or tempfile.mkdtemp(prefix="fakearm-"))
        self.tls = tls
        self.token = token
        self.subscription = subscription
        self.location = location
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.operations: dict[str, Operation] = {}
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        # Endpoints that authenticate otherwise (Key Vault's bearer challenge, Blob SAS):
        # each may answer a request before the ARM token check, or pass with None.
        self.public: list[Callable[[Request], Response | None]] = []
        self.require_api_version = True
        self.ca: Path | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        if tls:
            self.ca, key = self_signed(self.folder)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(self.ca), str(key))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self.route("GET", r"/subscriptions/[^/]+/providers/FakeArm/locations/[^/]+/operations/(?P<op>[^/]+)",
                   self._operation_status)

    # -- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> FakeArm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeArm:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a management client constructor."""
        kw: dict[str, Any] = {"base_url": self.url, "credential_scopes": [self.url + "/.default"],
                              "retry_backoff_factor": 0.01, "retry_backoff_max": 0.1}
        if self.ca is not None:
            kw["connection_verify"] = str(self.ca)
        return kw

    # -- routes, log, faults --------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler | None = None):
        """Register ``handler`` for ``method`` and a full-path regex; usable as a decorator.

        Later registrations win, so a test can override a default route.
        """
        def add(fn: Handler) -> Handler:
            with self.lock:
                self._routes.insert(0, (method.upper(), re.compile("^" + pattern + "/?$"), fn))
            return fn

        return add(handler) if handler is not None else add

    def calls(self, method: str | None = None, pattern: str = "") -> list[Recorded]:
        rx = re.compile(pattern)
        with self.lock:
            return [r for r in self.requests
                    if (method is None or r.method == method.upper()) and rx.search(r.path)]

    def inject(self, method: str, pattern: str, status: int, *, times: int = 1,
               retry_after: float | None = None, code: str | None = None, message: str | None = None,
               headers: dict[str, str] | None = None) -> Fault:
        """Answer the next ``times`` requests matching (method, path regex) with ``status``."""
        h = dict(headers or {})
        if retry_after is not None:
            h["Retry-After"] = f"{retry_after:g}"
        default_code = {401: "InvalidAuthenticationToken", 403: "AuthorizationFailed", 404: "ResourceNotFound",
                        409: "Conflict", 429: "TooManyRequests", 500: "InternalServerError",
                        503: "ServiceUnavailable"}.get(status, "Injected")
        fault = Fault(method.upper(), re.compile(pattern), status, times, h, code or default_code,
                      message or f"injected HTTP {status}")
        with self.lock:
            self.faults.append(fault)
        return fault

    # -- long-running operations ----------------------------------------------------

    def lro(self, resource_url: str | None = None, *, polls: int = 2, outcome: str = "Succeeded",
            error: dict[str, str] | None = None, on_done: Callable[[], None] | None = None) -> dict[str, str]:
        """Start an operation; returns the headers for the 201/202 that starts it.

        The status URL answers ``InProgress`` ``polls`` times, then ``outcome`` (with
        ``error`` when Failed); ``on_done`` runs once, before the end state is reported.
        ``resource_url`` (a path) becomes ``Location`` for POST-style final GETs.
        """
        op = Operation(uuid.uuid4().hex, polls, outcome,
                       error or ({"code": "InternalServerError", "message": "the operation failed"}
                                 if outcome == "Failed" else None), on_done)
        with self.lock:
            self.operations[op.id] = op
        status_url = (f"{self.url}/subscriptions/{self.subscription}/providers/FakeArm/locations/"
                      f"{self.location}/operations/{op.id}?api-version=2024-01-01")
        headers = {"Azure-AsyncOperation": status_url, "Retry-After": "0"}
        headers["Location"] = f"{self.url}{resource_url}" if resource_url else status_url
        return headers

    def _operation_status(self, req: Request) -> Response:
        op = self.operations.get(req.match["op"])
        if op is None:
            return arm_error(404, "OperationNotFound", "no such operation")
        op.polls += 1
        if op.polls_left > 0:
            op.polls_left -= 1
            return Response(200, {"id": op.id, "status": "InProgress"}, {"Retry-After": "0"})
        if not op.done:
            op.done = True
            if op.on_done is not None:
                op.on_done()
        body: dict[str, Any] = {"id": op.id, "status": op.outcome}
        if op.error and op.outcome != "Succeeded":
            body["error"] = op.error
        return Response(200, body)

    # -- HTTP -------------------------------------------------------------------------

    def _dispatch(self, req: Request) -> tuple[Response, str]:
        for public in self.public:
            answer = public(req)
            if answer is not None:
                return answer, "public"
        if req.headers.get("Authorization") != f"Bearer {self.token}":
            return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.",
                             {"WWW-Authenticate": 'Bearer authorization_uri="https://login.invalid", error="invalid_token"'}), "auth"
        for fault in self.faults:
            if fault.times > 0 and fault.method == req.method and fault.pattern.search(req.path):
                fault.times -= 1
                return arm_error(fault.status, fault.code, fault.message, dict(fault.headers)), "fault"
        if self.require_api_version and "api-version" not in req.query:
            return arm_error(400, "MissingApiVersionParameter",
                             "The api-version query parameter (?api-version=) is required for all requests."), ""
        for method, pattern, fn in self._routes:
            if method != req.method:
                continue
            m = pattern.match(req.path)
            if m:
                req.match = m.groupdict()
                out = fn(req)
                if isinstance(out, tuple):
                    out = Response(*out)
                return out, pattern.pattern
        return arm_error(404, "NoRoute", f"{req.method} {req.path} is not implemented by the fake"), ""

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                req = Request(self.command, parsed.path, parse_qs(parsed.query), dict(self.headers.items()), body)
                rec = Recorded(req.method, req.path, req.query, req.headers, body)
                with fake.lock:
                    fake.requests.append(rec)
                    try:
                        resp, route = fake._dispatch(req)
                    except Exception as exc:  # a bug in a handler: answer 500, keep the message
                        resp, route = arm_error(500, "FakeArmHandlerError", f"{type(exc).__name__}: {exc}"), "error"
                rec.status, rec.route = resp.status, route
                if resp.body is None:
                    data = b""
                elif isinstance(resp.body, bytes):
                    data = resp.body
                elif isinstance(resp.body, str):
                    data = resp.body.encode()
                else:
                    data = json.dumps(resp.body).encode()
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ms-request-id", uuid.uuid4().hex)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve

        return H
