"""Status, deploy, promote and rollback over any ``ReleaseBackend``.

- ``deploy`` puts a release into staging and holds it to the health gate: staging must
  serve that version and answer ``/health/ready`` 200 within the timeout.
- ``promote`` refuses unless staging is healthy and holds another version; it swaps,
  waits for production to serve the new version and be ready, then watches it for a
  while (readiness, smoke GETs, new 5xx served to live traffic). Any failure swaps back
  at once and is reported with the timings; the previous version stays in staging.
- ``rollback`` refuses unless staging holds an older, healthy version; it swaps and
  times the whole operation against the objective (5 minutes).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from augeoctl.backends.release import PRODUCTION, SLOTS, STAGING, ReleaseBackend, older
from augeoctl.backends.slot_probe import Health, look
from augeoctl.errors import UsageError, VerdictFailed
from augeoctl.progress import Reporter

DEFAULT_SMOKE = ("/api/organizations",)
POLL = 0.25


class ReleaseRefused(UsageError):
    """A release operation that must not run in the slots' present state; nothing changed."""


class GateFailed(VerdictFailed):
    """A health gate failed (the tool worked; the release did not); ``result`` says what
    was done (the CLI renders it before the error)."""


@dataclass(frozen=True)
class SlotStatus:
    slot: str
    holds: str | None  # the version the slot's record (app setting) names
    serving: str | None  # the version its /health reports
    ready: bool
    url: str | None
    problems: tuple[str, ...] = ()

    @property
    def consistent(self) -> bool:
        return self.url is None or self.serving is None or self.serving == self.holds

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "consistent": self.consistent}


@dataclass(frozen=True)
class Outcome:
    """How a promote or rollback went."""

    action: str
    from_version: str | None
    to_version: str | None
    verdict: str  # PASS | FAIL
    reasons: tuple[str, ...] = ()
    swapped_back: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    objective_seconds: float | None = None

    @property
    def total_seconds(self) -> float:
        return round(self.timings.get("total", 0.0), 3)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_seconds": self.total_seconds}


def slot_status(backend: ReleaseBackend, name: str, smoke: tuple[str, ...] = ()) -> SlotStatus:
    info = backend.slot(name)
    if not info.url:
        return SlotStatus(name, info.version, None, False, None,
                          ("not running",) if info.version else ())
    h = look(info.url, smoke)
    return SlotStatus(name, info.version, h.serving, h.ready, info.url, h.problems)


def status(backend: ReleaseBackend, reporter: Reporter, smoke: tuple[str, ...] = ()) -> dict[str, Any]:
    finished = backend.finish_interrupted_swap(reporter)
    slots = [slot_status(backend, name, smoke) for name in SLOTS]
    return {"slots": [s.to_dict() for s in slots], "finished_interrupted_swap": finished}


def wait_serving(backend: ReleaseBackend, slot: str, version: str, timeout: float,
                 smoke: tuple[str, ...] = ()) -> tuple[float, Health | None]:
    """Seconds until ``slot`` serves ``version`` and is healthy; (elapsed, last look) —
    the look is None when the slot had no URL."""
    start = time.monotonic()
    last: Health | None = None
    while True:
        info = backend.slot(slot)
        if info.url:
            last = look(info.url, smoke)
            if last.serving == version and last.ok:
                return time.monotonic() - start, last
        if time.monotonic() - start >= timeout:
            return time.monotonic() - start, last
        time.sleep(POLL)


def _why(slot: str, version: str, last: Health | None, timeout: float) -> str:
    if last is None:
        return f"{slot} has no running server"
    if last.serving != version:
        return f"{slot} serves {last.serving or 'nothing'} instead of {version} after {timeout:g} s"
    return f"{slot} is not healthy after {timeout:g} s: " + "; ".join(last.problems)


def deploy(backend: ReleaseBackend, artifact: str, slot: str, reporter: Reporter, *,
           timeout: float, smoke: tuple[str, ...] = DEFAULT_SMOKE) -> dict[str, Any]:
    started = time.monotonic()
    info = backend.deploy(artifact, slot, reporter)
    assert info.version is not None
    with reporter.step(f"health gate of {slot} ({info.version})"):
        waited, last = wait_serving(backend, slot, info.version, timeout, smoke)
    result = {"slot": slot, "version": info.version, "url": info.url,
              "timings": {"gate": round(waited, 3), "total": round(time.monotonic() - started, 3)},
              "healthy": bool(last and last.serving == info.version and last.ok)}
    if not result["healthy"]:
        raise GateFailed(f"the {slot} slot failed its health gate: {_why(slot, info.version, last, timeout)}",
                         hint=f"it holds {info.version}; production is untouched; deploy a fixed release",
                         result=result)
    return result


def _preflight(backend: ReleaseBackend, action: str) -> tuple[SlotStatus, SlotStatus]:
    prod, stag = slot_status(backend, PRODUCTION), slot_status(backend, STAGING)
    if not stag.holds:
        raise ReleaseRefused(f"nothing to {action}: the staging slot holds no release",
                             hint="`augeoctl release deploy VERSION --slot staging` first")
    if not (stag.ready and stag.serving == stag.holds and not stag.problems):
        why = "; ".join(stag.problems) or f"it serves {stag.serving or 'nothing'}, its record says {stag.holds}"
        raise ReleaseRefused(f"refusing to {action}: the staging slot ({stag.holds}) is not healthy: {why}",
                             hint="deploy a release that passes the health gate into staging")
    if stag.holds == prod.holds:
        raise ReleaseRefused(f"refusing to {action}: both slots hold {stag.holds}",
                             hint="deploy another release into staging")
    return prod, stag


def _swap_and_wait(backend: ReleaseBackend, reporter: Reporter, version: str, timeout: float,
                   smoke: tuple[str, ...], timings: dict[str, float]) -> Health | None:
    t0 = time.monotonic()
    backend.swap(reporter)
    timings["swap"] = round(time.monotonic() - t0, 3)
    with reporter.step(f"production: waiting for {version} to be healthy"):
        waited, last = wait_serving(backend, PRODUCTION, version, timeout, smoke)
    timings["healthy"] = round(waited, 3)
    return last


def promote(backend: ReleaseBackend, reporter: Reporter, *, timeout: float, watch: float,
            smoke: tuple[str, ...] = DEFAULT_SMOKE) -> Outcome:
    backend.finish_interrupted_swap(reporter)
    prod, stag = _preflight(backend, "promote")
    assert stag.holds is not None
    started = time.monotonic()
    timings: dict[str, float] = {}
    last = _swap_and_wait(backend, reporter, stag.holds, timeout, smoke, timings)
    problems: list[str] = []
    if last is None or not last.ok or last.serving != stag.holds:
        problems.append(_why(PRODUCTION, stag.holds, last, timeout))
    else:
        problems += watch_production(backend, reporter, stag.holds, watch, smoke, timings)
    if not problems:
        timings["total"] = round(time.monotonic() - started, 3)
        return Outcome("promote", prod.holds, stag.holds, "PASS", timings=timings)
    # Swap back at once: the previous version is in staging, untouched.
    reporter.warn(f"production failed its health gate ({'; '.join(problems)}): swapping back to {prod.holds}")
    timings["detected"] = round(time.monotonic() - started, 3)
    t: dict[str, float] = {}
    back = _swap_and_wait(backend, reporter, str(prod.holds), timeout, smoke, t)
    timings.update({"swap_back": t.get("swap", 0.0), "healthy_again": t.get("healthy", 0.0),
                    "total": round(time.monotonic() - started, 3)})
    reasons = tuple(problems) + (() if back and back.ok else
                                 (f"after the swap back: {_why(PRODUCTION, str(prod.holds), back, timeout)}",))
    outcome = Outcome("promote", prod.holds, stag.holds, "FAIL", reasons, swapped_back=True, timings=timings)
    raise GateFailed(f"promote of {stag.holds} failed its health gate and was swapped back to {prod.holds}: "
                     + "; ".join(reasons), hint=f"{stag.holds} stays in staging for inspection",
                     result=outcome.to_dict())


def watch_production(backend: ReleaseBackend, reporter: Reporter, version: str, watch: float,
                     smoke: tuple[str, ...], timings: dict[str, float]) -> list[str]:
    """Problems seen in production during the watch window (empty: healthy throughout)."""
    base = backend.server_errors(PRODUCTION)
    start = time.monotonic()
    with reporter.step(f"production: watching {version} for {watch:g} s"):
        while time.monotonic() - start < watch:
            info = backend.slot(PRODUCTION)
            h = look(info.url, smoke) if info.url else Health("", None, False, ("no server",))
            problems = list(h.problems)
            if h.serving != version:
                problems.append(f"production serves {h.serving or 'nothing'} instead of {version}")
            errors = backend.server_errors(PRODUCTION)
            if base is not None and errors is not None and errors > base:
                problems.append(f"{errors - base} request(s) of live traffic answered 5xx")
            if problems:
                timings["watch"] = round(time.monotonic() - start, 3)
                return problems
            time.sleep(POLL)
    timings["watch"] = round(time.monotonic() - start, 3)
    return []


def rollback(backend: ReleaseBackend, reporter: Reporter, *, timeout: float, objective: float,
             dry_run: bool = False, smoke: tuple[str, ...] = DEFAULT_SMOKE) -> Outcome:
    started = time.monotonic()
    if not dry_run:
        backend.finish_interrupted_swap(reporter)
    prod, stag = _preflight(backend, "roll back")
    assert stag.holds is not None and prod.holds is not None
    if not older(stag.holds, prod.holds):
        raise ReleaseRefused(f"refusing to roll back: staging holds {stag.holds}, which is not older than "
                             f"production's {prod.holds}", hint="`augeoctl release promote` moves forward")
    if dry_run:
        return Outcome("rollback (dry run)", prod.holds, stag.holds, "PASS", objective_seconds=objective)
    timings: dict[str, float] = {}
    last = _swap_and_wait(backend, reporter, stag.holds, timeout, smoke, timings)
    timings["total"] = round(time.monotonic() - started, 3)
    reasons = []
    if last is None or not last.ok or last.serving != stag.holds:
        reasons.append(_why(PRODUCTION, stag.holds, last, timeout))
    if timings["total"] > objective:
        reasons.append(f"took {timings['total']:.1f} s, over the objective of {objective:g} s")
    outcome = Outcome("rollback", prod.holds, stag.holds, "FAIL" if reasons else "PASS", tuple(reasons),
                      timings=timings, objective_seconds=objective)
    if reasons:
        raise GateFailed(f"rollback to {stag.holds}: " + "; ".join(reasons), result=outcome.to_dict())
    return outcome
