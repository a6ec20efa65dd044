"""The one DR drill orchestrator, for every platform.

``Drill(platform, reporter, hooks).run(config)`` looks the scenario up for the platform
(``drill.scenarios``) and runs its phases in order, timing each::

    preflight, workload, disaster, recovery, verification, service_check, cleanup

``workload``, ``verification`` and ``service_check`` run only for scenarios that have
them. A failed preflight stops the drill before the disaster: the report is kept with
``aborted`` set and the verdict is FAIL. Cleanup always runs once the preflight passed.
The write workload (a PostgreSQL and a Redis writer) runs from the workload phase until
the end of the disaster phase. Every report goes to the drill history.

A phase failed when it raised an ``AugeoError``: that is a finding, recorded with its
message, and the drill goes on. Any other exception is a bug: it stops the drill (after
the cleanup) and reaches the caller as an internal error, never as a FAIL verdict.

Hooks: ``DrillHooks(before={"recovery": fn}, after={"disaster": fn})`` calls
``fn(ctx: DrillContext)`` just before a named phase starts, or just after it ended
(after ``disaster``, the writers have stopped and their logs are final). A hook may
change the environment (a test removes a WAL segment after the disaster), or raise to
stop the drill at that phase: the cleanup still runs and the exception reaches the
caller, with no report.

Interruption: for the drill's duration SIGINT and SIGTERM both interrupt the phase
running (or the pause between two); the cleanup, which repairs what the disaster
damaged, then runs with further signals held until it is done, the report is kept with
``interrupted`` set, and ``DrillInterrupted`` (exit 130) reaches the caller. The
previous handlers are restored afterwards.

Journal: a scenario that damages the sandbox (``journaled``) gets a ``drill.journal``
file once the preflight passed; it is removed when the cleanup repaired everything, and
otherwise left for ``augeoctl sandbox repair``. While it exists no drill starts.

Test hook: the ``drill_stop_at`` setting (``AUGEO_DRILL_STOP_AT=after:disaster``) makes
the drill stop at that phase boundary: it writes ``AUGEO_HOME/drills/stopped-at.json``
and waits until the file is removed, so a test can signal or kill it at exactly that
point.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from augeoctl.drill import history, journal
from augeoctl.drill.context import DrillConfig, DrillContext
from augeoctl.drill.journal import Journal
from augeoctl.drill.model import DrillPhase, DrillReport
from augeoctl.drill.scenario import Confirmation, Outcome, Scenario
from augeoctl.drill.scenarios import REGISTRY, ScenarioType, scenario_for
from augeoctl.drill.workload import Workload
from augeoctl.errors import AugeoError, ConfigError, Interrupted, UnfinishedDrill
from augeoctl.platform import Platform
from augeoctl.progress import NullReporter, Reporter

PHASES = ("preflight", "workload", "disaster", "recovery", "verification", "service_check", "cleanup")
STOP_FILE = "stopped-at.json"  # written by the drill_stop_at test hook, in the drill history folder

Hook = Callable[[DrillContext], None]


class DrillInterrupted(Interrupted):
    """A drill stopped by SIGINT or SIGTERM; its cleanup ran and ``report`` was kept."""

    def __init__(self, message: str, report: DrillReport) -> None:
        super().__init__(message, hint=f"report: {report.report_path}")
        self.report = report


@dataclass(frozen=True)
class StopAt:
    """Where the ``drill_stop_at`` test hook stops a drill: ``when`` is before or after."""

    when: str
    phase: str

    @classmethod
    def parse(cls, text: str | None) -> StopAt | None:
        if not text:
            return None
        when, _, phase = str(text).partition(":")
        if when not in ("before", "after") or phase not in PHASES:
            raise ValueError(f"drill_stop_at {text!r}: use before:PHASE or after:PHASE, "
                             f"PHASE one of {', '.join(PHASES)}")
        return cls(when, phase)


class _Signals:
    """SIGINT and SIGTERM, for the drill's duration, both interrupt it: the handler raises
    KeyboardInterrupt in the main thread, until ``held``, when a signal is only noted so
    that the repair of the sandbox is never cut short. Installed only in the main thread
    (Python delivers signals there); the previous handlers come back on exit."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.received: str | None = None
        self.holding = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        first = self.received is None
        self.received = self.received or name
        if not self.holding:
            raise KeyboardInterrupt
        if first:
            self.reporter.warn(f"{name} received: the repair of the sandbox finishes first")

    def hold(self) -> None:
        self.holding = True

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold signals for a step that must not be cut in two; one that came meanwhile
        interrupts right after it."""
        before, self.holding = self.holding, True
        try:
            yield
        finally:
            self.holding = before
        if self.received and not before:
            raise KeyboardInterrupt


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DrillHooks:
    """Calls into a running drill, keyed by phase name (see the module docstring)."""

    before: Mapping[str, Hook] = field(default_factory=dict)
    after: Mapping[str, Hook] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted((set(self.before) | set(self.after)) - set(PHASES))
        if unknown:
            raise ValueError(f"no drill phase named {', '.join(unknown)}; phases: {', '.join(PHASES)}")


class Drill:
    """Runs drills on one platform; ``scenarios`` is the registry to pick them from."""

    def __init__(self, platform: Platform, reporter: Reporter | None = None,
                 hooks: DrillHooks | None = None, scenarios: Iterable[ScenarioType] = REGISTRY) -> None:
        self.platform = platform
        self.reporter = reporter or NullReporter()
        self.hooks = hooks or DrillHooks()
        self.scenarios = tuple(scenarios)

    def scenario(self, name: str) -> Scenario[Any]:
        """A new scenario object; UsageError when the platform has no such scenario."""
        return scenario_for(self.platform, name, self.reporter, self.scenarios)

    def confirmation(self, config: DrillConfig) -> Confirmation | None:
        """What the user must confirm before ``run(config)``, or None."""
        return self.scenario(config.scenario).confirmation(config)

    def refuse_if_unfinished(self) -> None:
        """``UnfinishedDrill`` while a drill runs or left the sandbox damaged (its journal)."""
        journal.refuse_if_unfinished(self.platform)

    def _stop_at(self) -> StopAt | None:
        try:
            return StopAt.parse(self.platform.settings.env.get("drill_stop_at"))
        except ValueError as exc:  # the config layer validates it; a built Settings may not
            raise ConfigError(str(exc)) from None

    def run(self, config: DrillConfig) -> DrillReport:
        """Run one drill and keep its report; ``DrillInterrupted`` after a signal (the
        report is kept and the sandbox repaired), ``UnfinishedDrill`` when the repair after
        a signal failed."""
        scenario = self.scenario(config.scenario)
        self.refuse_if_unfinished()
        protection = self.platform.wal_protection()
        ctx = DrillContext(history.new_id(self.platform.home), config, self.platform)
        started = _now()
        with _Signals(self.reporter) as signals:
            run = _Run(ctx, scenario, self.reporter, self.hooks, self._stop_at(), signals)
            interrupted: str | None = None
            try:
                preflight = run.phase("preflight", "preflight", lambda: scenario.preflight(ctx))
            except (KeyboardInterrupt, Interrupted):
                interrupted = run.interruption()
                preflight = DrillPhase("preflight", started, _now(), False, interrupted)
            if interrupted or not preflight.ok:
                # Stopped before the disaster: nothing was damaged, nothing to repair.
                report = DrillReport(
                    id=ctx.drill_id, scenario=config.scenario, environment=self.platform.name,
                    started_at=started, finished_at=_now(), disaster_at=None, service_ready_at=None,
                    recovery_point=None, rto_target=config.rto, rpo_target=config.rpo,
                    phases=tuple(run.phases), wal_mode=protection.mode, rpo_bound=protection.rpo_bound,
                    aborted=preflight.detail, interrupted=interrupted,
                )
                saved = history.save(self.platform.home, report)
                if interrupted:
                    raise DrillInterrupted(f"drill {ctx.drill_id} interrupted ({interrupted}) before the "
                                           "disaster: nothing was damaged", saved)
                return saved
            try:
                if scenario.journaled:
                    with signals.held():
                        ctx.journal = Journal.begin(self.platform.home, ctx.drill_id, config.scenario,
                                                    self.platform.name, config.keep)
                run.through_service_check()
            except (KeyboardInterrupt, Interrupted):
                interrupted = run.interruption()
            finally:
                signals.hold()
                run.stop_workload()
                cleanup = run.phase("cleanup", scenario.cleanup_label, lambda: scenario.cleanup(ctx))
                if cleanup.ok:
                    ctx.journal.finish()
            if interrupted is None and signals.received:
                interrupted = f"{signals.received} during the cleanup phase"
            report = DrillReport(
                id=ctx.drill_id, scenario=config.scenario, environment=self.platform.name,
                started_at=started, finished_at=_now(), disaster_at=ctx.disaster_at,
                service_ready_at=ctx.service_ready_at, recovery_point=ctx.recovery_point,
                rto_target=config.rto, rpo_target=config.rpo, phases=tuple(run.phases),
                integrity=tuple(ctx.integrity), checks=tuple(ctx.checks),
                wal_mode=protection.mode, rpo_bound=protection.rpo_bound, recovery=ctx.recovery,
                workload=ctx.workload, service=ctx.service, interrupted=interrupted,
            )
            saved = history.save(self.platform.home, report)
        if interrupted is None:
            return saved
        if not cleanup.ok and scenario.journaled:
            raise UnfinishedDrill(
                f"drill {ctx.drill_id} was interrupted ({interrupted}) and the sandbox was not "
                f"repaired: {cleanup.detail}",
                hint=f"run `{journal.REPAIR_COMMAND}`; report: {saved.report_path}")
        done = "the sandbox was repaired" if scenario.journaled else "cleanup done"
        if not cleanup.ok:
            done = f"cleanup failed: {cleanup.detail}"
        raise DrillInterrupted(f"drill {ctx.drill_id} interrupted ({interrupted}); {done}", saved)


class _Run:
    """One drill run: its phases so far and its workload."""

    def __init__(self, ctx: DrillContext, scenario: Scenario[Any], reporter: Reporter,
                 hooks: DrillHooks, stop_at: StopAt | None = None, signals: _Signals | None = None) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.reporter = reporter
        self.hooks = hooks
        self.stop_at = stop_at
        self.signals = signals
        self.phases: list[DrillPhase] = []
        self.workload: Workload | None = None
        self.position = "before the preflight phase"  # where an interruption finds the drill

    def interruption(self) -> str:
        """What interrupted the drill, and where: "SIGTERM after the disaster phase"."""
        received = self.signals.received if self.signals else None
        return f"{received or 'interrupted'} {self.position}"

    def phase(self, name: str, label: str, fn: Callable[[], Outcome | None]) -> DrillPhase:
        """Run one phase between its hooks; an AugeoError marks it failed, an interruption
        marks it failed and goes on to the caller."""
        self.position = f"before the {name} phase"
        self._stop("before", name)
        if name in self.hooks.before:
            self.hooks.before[name](self.ctx)
        self.ctx.journal.note("phase", name)
        self.position = f"during the {name} phase"
        start = _now()
        try:
            with self.reporter.step(label):
                outcome = fn() or Outcome()
        except (KeyboardInterrupt, Interrupted) as exc:
            detail = exc.message if isinstance(exc, Interrupted) else self.interruption()
            self.phases.append(DrillPhase(name, start, _now(), False, f"interrupted: {detail}"))
            raise
        except AugeoError as exc:
            outcome = Outcome(exc.message, ok=False)
        result = DrillPhase(name, start, _now(), outcome.ok, outcome.detail, outcome.parts)
        self.phases.append(result)
        self.position = f"after the {name} phase"
        if name in self.hooks.after:
            self.hooks.after[name](self.ctx)
        self._stop("after", name)
        return result

    def _stop(self, when: str, name: str) -> None:
        """The ``drill_stop_at`` test hook: wait at this boundary until the marker goes."""
        if self.stop_at != StopAt(when, name):
            return
        marker = history.folder(self.ctx.platform.home) / STOP_FILE
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"drill_id": self.ctx.drill_id, "at": f"{when}:{name}",
                                      "pid": os.getpid()}))
        self.reporter.info(f"drill stopped {when} the {name} phase (drill_stop_at): "
                           f"remove {marker} to go on")
        try:
            while marker.exists():
                time.sleep(0.05)
        finally:
            marker.unlink(missing_ok=True)

    def through_service_check(self) -> None:
        scenario, ctx = self.scenario, self.ctx
        cfg = ctx.config
        if scenario.runs_workload:
            self.phase("workload", f"workload ({cfg.duration:g} s at {cfg.rate:g} writes/s)", self.run_workload)
        self.phase("disaster", f"disaster: {cfg.scenario}", self.disaster)
        self.phase("recovery", "recovery", lambda: scenario.recover(ctx))
        if scenario.verifies:
            self.phase("verification", "verification", lambda: scenario.verify(ctx))
        if scenario.checks_service:
            self.phase("service_check", "service check (/health/ready)", lambda: scenario.check_service(ctx))

    def run_workload(self) -> Outcome:
        ctx = self.ctx
        target = self.scenario.prepare_workload(ctx)
        self.workload = Workload(target, ctx.drill_id, ctx.config.rate)
        self.workload.start()
        start = time.monotonic()
        deadline, midpoint = start + ctx.config.duration, start + ctx.config.duration / 2
        midpoint_done = False
        while (now := time.monotonic()) < deadline:
            if not midpoint_done and now >= midpoint:
                self.scenario.at_workload_midpoint(ctx)
                midpoint_done = True
            self.reporter.status(f"{max(0.0, deadline - now):.0f} s to the disaster")
            time.sleep(0.05)
        errors = self.workload.errors
        return Outcome("; ".join(errors), ok=not errors)

    def disaster(self) -> Outcome:
        try:
            return self.scenario.disaster(self.ctx)
        finally:
            self.stop_workload()

    def stop_workload(self) -> None:
        """Stop the writers and keep their logs (again is harmless)."""
        if self.workload is None:
            return
        self.workload.stop()
        self.ctx.pg_log = self.workload.postgres.log
        self.ctx.redis_log = self.workload.redis.log
        self.ctx.workload = self.workload.summary()
