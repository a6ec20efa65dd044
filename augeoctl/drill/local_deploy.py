"""The ``bad-deploy`` DR drill on the local sandbox: a release that breaks an API route is
promoted into production under the write workload and a client reading the API; the
health gate's watch detects it from live traffic and the previous version is rolled back.

Measured: the time to detection, the time to a healthy previous version (the RTO, judged
against 5 minutes by default), the failed requests the client saw over the whole episode,
and the lost writes (a swap changes code, not data: must be 0). The slots' records before
the drill are journaled, so a killed drill is repaired (`augeoctl sandbox repair`) by
putting them back and reloading.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from augeoctl import drivers
from augeoctl.backends.release import PRODUCTION, STAGING
from augeoctl.drill.context import DrillConfig, DrillContext, Target
from augeoctl.drill.integrity import pg_integrity
from augeoctl.drill.local_base import SandboxScenario
from augeoctl.drill.model import Check
from augeoctl.drill.scenario import Confirmation, Outcome
from augeoctl.drill.workload import DRILL_TABLE
from augeoctl.errors import OperationFailed, PreflightFailed
from augeoctl.local import service as runner

BROKEN_RELEASE = "1.2.0+broken-api"  # GET /api/users/{id}/events answers 500; readiness is fine
READ_PATH = "/api/users/1/events"
WATCH_SECONDS = 60.0  # how long the gate watches production before calling it healthy


class ApiReader(threading.Thread):
    """Reads one API path of a slot until stopped (``pause`` seconds between requests);
    counts requests and failures (connection errors and HTTP errors)."""

    def __init__(self, url: str, path: str = READ_PATH, pause: float = 0.02) -> None:
        super().__init__(name="drill-api-reader", daemon=True)
        self.url = url.rstrip("/") + path
        self.pause = pause
        self.stop_event = threading.Event()
        self.sent = 0
        self.failed = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sent += 1
            try:
                with urllib.request.urlopen(self.url, timeout=10) as resp:
                    resp.read()
            except (urllib.error.URLError, OSError):
                self.failed += 1
            time.sleep(self.pause)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(30)


class BadDeploy(SandboxScenario):
    name = "bad-deploy"
    damage = (f"promote release {BROKEN_RELEASE} (a broken API route) into the sandbox's production "
              "slot and roll it back")

    reader: ApiReader | None = None
    previous: str | None = None
    before: dict[str, Any] | None = None

    def confirmation(self, config: DrillConfig) -> Confirmation:
        return Confirmation(self.name, f"a drill that will {self.damage}")

    def preflight(self, ctx: DrillContext) -> None:
        super().preflight(ctx)
        backend = self.platform.release()
        prod = backend.slot(PRODUCTION)
        if not prod.version or not prod.url:
            raise PreflightFailed("the production slot runs no release")
        if prod.version == BROKEN_RELEASE:
            raise PreflightFailed(f"production already runs {BROKEN_RELEASE}: `augeoctl rollback` first")
        self.previous = prod.version
        self.before = self.platform.sandbox.slots.load()  # journaled before the swap
        from augeoctl.deploy import ops

        deployed = ops.deploy(backend, BROKEN_RELEASE, STAGING, self.reporter, timeout=60)
        ctx.checks.append(Check("staging-gate", bool(deployed["healthy"]),
                                f"{BROKEN_RELEASE} passed the staging slot's health gate (its readiness is "
                                "fine: only live traffic shows the broken route)"))

    def disaster(self, ctx: DrillContext) -> Outcome:
        backend = self.platform.release()
        ctx.journal.note("slots", self.before)  # what the repair puts back
        url = str(backend.slot(PRODUCTION).url)
        self.reader = ApiReader(url)
        self.reader.start()
        ctx.disaster_at = datetime.now(UTC)
        ctx.expected_point = ctx.disaster_at  # a swap loses nothing: every write must be there
        backend.swap(self.reporter)
        from augeoctl.deploy.ops import wait_serving

        waited, _ = wait_serving(backend, PRODUCTION, BROKEN_RELEASE, 60)
        return Outcome(f"{BROKEN_RELEASE} swapped into production (serving after {waited:.2f} s), "
                       f"{self.previous} kept in staging", parts=(("swap", waited),))

    def recover(self, ctx: DrillContext) -> Outcome:
        from augeoctl.deploy import ops

        backend = self.platform.release()
        timings: dict[str, float] = {}
        problems = ops.watch_production(backend, self.reporter, BROKEN_RELEASE, WATCH_SECONDS, (), timings)
        detected = datetime.now(UTC)
        if not problems:
            raise OperationFailed(f"the health gate did not detect {BROKEN_RELEASE} within {WATCH_SECONDS:g} s")
        outcome = ops.rollback(backend, self.reporter, timeout=60, objective=ctx.config.rto)
        ctx.service_ready_at = datetime.now(UTC)
        assert ctx.disaster_at is not None
        ctx.recovery = {"detected": "; ".join(problems),
                        "detection_seconds": round((detected - ctx.disaster_at).total_seconds(), 3),
                        "rollback": outcome.to_dict(), "from": BROKEN_RELEASE, "to": self.previous}
        return Outcome(f"detected after {ctx.recovery['detection_seconds']:.2f} s ({problems[0]}); rolled back "
                       f"to {self.previous} in {outcome.total_seconds:.2f} s",
                       parts=(("detection", ctx.recovery["detection_seconds"]),
                              ("rollback", outcome.total_seconds)))

    def verify(self, ctx: DrillContext) -> None:
        import psycopg

        if self.reader is not None:
            self.reader.stop()
            ctx.recovery["client_requests"] = self.reader.sent
            ctx.recovery["failed_requests"] = self.reader.failed
            ctx.checks.append(Check("client-requests", True,
                                    f"the API reader saw {self.reader.failed} of {self.reader.sent} requests fail "
                                    "during the episode"))
        dsn = self.platform.pg_dsn()
        with drivers.translated("reading the sandbox"), psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute(
                f"SELECT seq, pg_xact_commit_timestamp(xmin) FROM {DRILL_TABLE} WHERE drill_id = %s",
                (ctx.drill_id,),
            ).fetchall()
        log = ctx.pg_log
        ctx.integrity.append(pg_integrity(log.acks, [(int(s), t) for s, t in rows], ctx.expected_point,
                                          None, log.attempted, ctx.disaster_at))
        ctx.recovery_point = datetime.now(UTC)  # the data never left: nothing to recover

    def recovered_endpoints(self, ctx: DrillContext) -> tuple[str, str]:
        return self.platform.pg_dsn(), self.platform.redis_url()

    def check_service(self, ctx: DrillContext) -> None:
        from augeoctl.deploy.ops import slot_status

        s = slot_status(self.platform.release(), PRODUCTION)
        ok = s.serving == self.previous and s.ready and not s.problems
        ctx.service = {"url": s.url, "ready": s.ready,
                       "body": {"serving": s.serving, "holds": s.holds, "problems": list(s.problems)}}
        ctx.checks.append(Check("service-ready", ok,
                                f"production serves {s.serving} and is ready" if ok
                                else f"production serves {s.serving}, problems: {'; '.join(s.problems)}"))

    def repair(self, ctx: DrillContext) -> list[str]:
        if self.reader is not None:
            self.reader.stop()
        before: dict[str, Any] | None = ctx.journal.get("slots")
        if not before:
            return []
        slots = self.platform.sandbox.slots
        if slots.load() == before:
            return []
        slots.save(before)
        runner.reload_service(self.platform.sandbox.app_pidfile)
        if before.get(STAGING):
            runner.reload_service(self.platform.sandbox.staging_pidfile)
        else:  # staging held nothing before the drill
            runner.stop_service(self.platform.sandbox.staging_pidfile)
        return ["the slots' records put back as before the drill and both servers reloaded"]

    def drop(self, target: Target) -> None:  # the drill makes no target
        return None


SCENARIOS = (BadDeploy,)
