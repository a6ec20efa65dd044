"""Credentials in ``loadtest run --host http://user:password@host`` are used and never shown."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import pytest

from augeoctl.loadtest.target import redact, split_credentials
from augeoctl.local import tools
from tests.conftest import RUN_HOME, run_cli
from tests.http_server import Answer, JsonServer
from tests.loadtest.test_loadtest import QUICK

USER = "augeo"


def leaks(secret: str, texts: dict[str, str | bytes]) -> list[str]:
    """Where any form of the secret appears: as typed, percent-encoded, or in a Basic header."""
    forms = {secret, quote(secret, safe=""), base64.b64encode(f"{USER}:{secret}".encode()).decode()}
    found = []
    for where, text in texts.items():
        raw = text.encode() if isinstance(text, str) else text
        found += [f"{where}: {form!r}" for form in forms if form.encode() in raw]
    return found


class BasicAuthServer(JsonServer):
    """An HTTP server on 127.0.0.1 that answers 200 only with the right Basic credentials."""

    def __init__(self, user: str, password: str) -> None:
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.authorized = 0
        self.refused = 0
        lock = threading.Lock()

        def answer(_path: str, headers: Mapping[str, str]) -> Answer:
            ok = headers.get("Authorization") == expected
            with lock:
                if ok:
                    self.authorized += 1
                else:
                    self.refused += 1
            if ok:
                return 200, b'{"ok": true}', {}
            return 401, b'{"error": "unauthorized"}', {"WWW-Authenticate": 'Basic realm="augeo"'}

        super().__init__(answer)


def test_credentials_are_split_out_and_redacted() -> None:
    url = "http://augeo:p%40ss%3Aword@127.0.0.1:8080/base"
    assert split_credentials(url) == ("http://127.0.0.1:8080/base", "augeo:p@ss:word")
    assert redact(url) == "http://augeo:***@127.0.0.1:8080/base"
    assert redact("https://token@api.example.test") == "https://***@api.example.test"
    assert redact("http://127.0.0.1:8080") == "http://127.0.0.1:8080"


@pytest.mark.integration
def test_a_password_in_the_host_reaches_the_server_and_appears_nowhere(tmp_path: Path) -> None:
    secret = f"Sw0rd@{secrets.token_hex(8)}"  # "@" must be percent-encoded in the URL
    server = BasicAuthServer(USER, secret)
    slo = tmp_path / "slo.toml"
    slo.write_text(QUICK)
    out = tmp_path / "results"
    host = f"http://{USER}:{quote(secret, safe='')}@127.0.0.1:{server.port}"
    try:
        r = run_cli("loadtest", "run", "--profile", "quick", "--slo-file", str(slo), "--workers", "1",
                    "--host", host, "--results", str(out), "-v")
    finally:
        server.stop()
    assert server.authorized > 0, r  # the reachability check and Locust used the credentials
    assert server.refused == 0, r  # and no request went without them
    assert r.returncode == 0, r
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert {"report.html", "locust_stats.csv", "summary.json", "locust.log"} <= set(files), sorted(files)
    kept = {p.name: p.read_bytes() for p in (RUN_HOME / "loadtests").glob("run-*.json")
            if str(out).encode() in p.read_bytes()}  # the run's record in the history
    assert len(kept) == 1, sorted(kept)
    assert leaks(secret, {"stdout": r.stdout, "stderr": r.stderr, **files, **kept}) == []
    shown = f"http://{USER}:***@127.0.0.1:{server.port}"
    assert shown in r.stdout
    assert f'"host": "{shown}"' in files["summary.json"].decode()


def test_a_password_in_an_unreachable_or_bad_host_is_not_shown(tmp_path: Path) -> None:
    secret = f"Sw0rd{secrets.token_hex(8)}"
    slo = tmp_path / "slo.toml"
    slo.write_text(QUICK)
    common = ["--profile", "quick", "--slo-file", str(slo), "--results", str(tmp_path / "r")]
    dead = run_cli("loadtest", "run", *common, "--host", f"http://{USER}:{secret}@127.0.0.1:{tools.free_port()}")
    assert dead.returncode == 3 and "unreachable" in dead.stderr and f"{USER}:***@" in dead.stderr, dead
    bad = run_cli("loadtest", "run", *common, "--host", f"ftp://{USER}:{secret}@127.0.0.1")
    assert bad.returncode == 2 and f"{USER}:***@" in bad.stderr, bad
    port = run_cli("loadtest", "run", *common, "--host", f"http://{USER}:{secret}@127.0.0.1:99999")
    assert port.returncode == 2 and "not a valid URL" in port.stderr, port
    export = run_cli("loadtest", "export-azure", "--profile", "smoke", "--host",
                     f"https://{USER}:{secret}@api.example.test")
    assert export.returncode == 2 and "AUGEO_LOAD_BASIC_AUTH" in export.stderr, export
    runs = {"dead": dead, "bad": bad, "port": port, "export": export}
    assert leaks(secret, {f"{k} {s}": getattr(v, s) for k, v in runs.items() for s in ("stdout", "stderr")}) == []
