"""Releases on the sandbox: two gunicorn slots of the reference service, deployments held
to a health gate, promote with its automatic swap back, rollback, refusals, and a swap
interrupted half-way. Client threads count failed requests during every swap."""

from __future__ import annotations

import json
import signal
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from augeoctl.backends.release import PRODUCTION, STAGING
from augeoctl.local import service as runner
from augeoctl.local.slots import SlotStore
from tests.conftest import SandboxHandle, run_cli, wait_for
from tests.faults.commands import Command, flat

pytestmark = pytest.mark.integration


def slots(sb: SandboxHandle) -> dict:
    r = run_cli("release", "status", "-o", "json", home=sb.home)
    assert r.returncode == 0, r
    return {s["slot"]: s for s in r.json()["slots"]}


def prod_url(sb: SandboxHandle) -> str:
    return slots(sb)[PRODUCTION]["url"]


def arrange(sb: SandboxHandle, production: str, staging: str | None) -> None:
    """Builder: the slots holding these shipped releases, served (staging deployed first)."""
    if staging is not None:
        r = run_cli("release", "deploy", staging, "--timeout", "5s", home=sb.home)
        assert r.returncode in (0, 4), r
    store = SlotStore(sb.sandbox.dir, sb.home)
    held = store.load()
    held[PRODUCTION] = store.resolve(production)
    if staging is not None:
        held[STAGING] = store.resolve(staging)
    store.save(held)
    runner.reload_service(sb.sandbox.app_pidfile)
    runner.reload_service(sb.sandbox.staging_pidfile)
    wait_for(lambda: slots(sb)[PRODUCTION]["serving"] == production, 60, f"production serving {production}")
    if staging is not None:
        wait_for(lambda: slots(sb)[STAGING]["serving"] == staging, 60, f"staging serving {staging}")


class Client(threading.Thread):
    """Requests a path of production without pause until stopped; keeps every failure."""

    def __init__(self, url: str, path: str = "/api/organizations") -> None:
        super().__init__(daemon=True)
        self.url, self.path = url, path
        self.stop_event = threading.Event()
        self.sent = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sent += 1
            try:
                with urllib.request.urlopen(self.url + self.path, timeout=10) as resp:
                    resp.read()
            except urllib.error.HTTPError as exc:
                self.failures.append(f"{exc.code}")
            except OSError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")

    def __enter__(self) -> Client:
        self.start()
        wait_for(lambda: self.sent > 5, 30, "the client's first requests")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_event.set()
        self.join(30)


def test_status_shows_both_slots(sandbox: SandboxHandle) -> None:
    s = slots(sandbox)
    assert s[PRODUCTION]["holds"] == s[PRODUCTION]["serving"] and s[PRODUCTION]["ready"]
    assert s[PRODUCTION]["url"].startswith("http://127.0.0.1:") and s[PRODUCTION]["consistent"]


def test_refusals_change_nothing(sandbox: SandboxHandle) -> None:
    home = sandbox.home
    for args, fragment in [
        (["release", "deploy", "1.1.0", "--slot", "production"], "staging slot, not production"),
        (["release", "deploy", "not a version"], "is not a release version"),
        (["release", "deploy", "9.9.9"], "no release 9.9.9"),
        (["release", "deploy", "/nonexistent/release.json"], "no release at"),
        (["rollback", "--objective", "soon", "--yes"], "--objective"),
    ]:
        r = run_cli(*args, home=home)
        assert r.returncode == 2 and fragment in r.stderr, (args, r)
    arrange(sandbox, "1.1.0", "1.1.0")
    same = run_cli("release", "promote", "--yes", home=home)
    assert same.returncode == 2 and "both slots hold 1.1.0" in same.stderr, same
    arrange(sandbox, "1.0.0", "1.1.0")
    newer = run_cli("rollback", "--yes", home=home)
    assert newer.returncode == 2 and "not older than production's 1.0.0" in newer.stderr, newer
    assert slots(sandbox)[PRODUCTION]["serving"] == "1.0.0"


def test_an_unready_release_fails_its_gate_and_cannot_be_promoted(sandbox: SandboxHandle) -> None:
    arrange(sandbox, "1.0.0", None)
    r = run_cli("release", "deploy", "1.2.0+unready", "--timeout", "3s", "-o", "json", home=sandbox.home)
    assert r.returncode == 4 and "failed its health gate" in r.stderr, r
    assert r.json()["healthy"] is False
    refused = run_cli("release", "promote", "--yes", home=sandbox.home)
    assert refused.returncode == 2 and "is not healthy" in refused.stderr, refused
    nothing = run_cli("rollback", "--yes", home=sandbox.home)
    assert nothing.returncode == 2, nothing
    assert slots(sandbox)[PRODUCTION]["serving"] == "1.0.0"


def test_promote_then_rollback_with_no_failed_request(sandbox: SandboxHandle) -> None:
    arrange(sandbox, "1.0.0", None)
    deployed = run_cli("release", "deploy", "1.1.0", "-o", "json", home=sandbox.home)
    assert deployed.returncode == 0 and deployed.json()["healthy"], deployed
    with Client(prod_url(sandbox)) as client:
        promoted = run_cli("release", "promote", "--yes", "--watch", "2s", "-o", "json", home=sandbox.home)
        assert promoted.returncode == 0, promoted
        rolled = run_cli("rollback", "--yes", "-o", "json", home=sandbox.home)
        assert rolled.returncode == 0, rolled
    assert client.failures == [] and client.sent > 20
    p = promoted.json()
    assert (p["from_version"], p["to_version"], p["verdict"]) == ("1.0.0", "1.1.0", "PASS")
    r = rolled.json()
    assert (r["from_version"], r["to_version"], r["verdict"]) == ("1.1.0", "1.0.0", "PASS")
    assert r["objective_seconds"] == 300 and r["total_seconds"] == r["timings"]["total"]
    s = slots(sandbox)
    assert s[PRODUCTION]["serving"] == "1.0.0" and s[STAGING]["serving"] == "1.1.0"  # kept for the next try


def test_a_release_that_breaks_live_traffic_is_swapped_back(sandbox: SandboxHandle) -> None:
    arrange(sandbox, "1.0.0", None)
    deployed = run_cli("release", "deploy", "1.2.0+broken-api", "-o", "json", home=sandbox.home)
    assert deployed.returncode == 0, deployed  # its readiness and smoke paths are fine
    with Client(prod_url(sandbox), "/api/users/1/events"):
        r = run_cli("release", "promote", "--yes", "--watch", "30s", "-o", "json", home=sandbox.home)
    assert r.returncode == 4, r
    out = r.json()
    assert out["swapped_back"] is True and out["verdict"] == "FAIL"
    assert any("answered 5xx" in reason for reason in out["reasons"])
    assert "swapped back to 1.0.0" in r.stderr
    s = slots(sandbox)
    assert s[PRODUCTION]["serving"] == "1.0.0" and s[PRODUCTION]["ready"]
    assert s[STAGING]["holds"] == "1.2.0+broken-api"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_swap_interrupted_half_way_is_told_and_finished(sandbox: SandboxHandle, tmp_path: Path,
                                                          sig: signal.Signals) -> None:
    arrange(sandbox, "1.0.0", "1.1.0")
    promote = Command(sandbox.home, ["release", "promote", "--yes", "-o", "json"], tmp_path,
                      pause_at="swap: reload production")
    try:
        promote.paused()
        promote.proc.send_signal(sig)
        promote.wait(60)
    finally:
        (sandbox.home / "paused-at.json").unlink(missing_ok=True)
        if promote.proc.poll() is None:
            promote.proc.kill()
    # The records are exchanged, the servers not reloaded: status says so and finishes it.
    r = run_cli("release", "status", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    assert "interrupted swap" in (r.json()["finished_interrupted_swap"] or "")
    assert "a swap was interrupted" in flat(r.stderr)
    wait_for(lambda: slots(sandbox)[PRODUCTION]["serving"] == "1.1.0", 60, "production serving 1.1.0")
    s = slots(sandbox)
    assert s[PRODUCTION]["consistent"] and s[STAGING]["consistent"]
    assert (s[PRODUCTION]["holds"], s[STAGING]["holds"]) == ("1.1.0", "1.0.0")
    assert json.loads((sandbox.sandbox.dir / "slots.json").read_text())[PRODUCTION]["version"] == "1.1.0"
