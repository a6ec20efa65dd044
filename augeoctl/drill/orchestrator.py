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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from augeoctl.drill import history
from augeoctl.drill.context import DrillConfig, DrillContext
from augeoctl.drill.model import DrillPhase, DrillReport
from augeoctl.drill.scenario import Confirmation, Outcome, Scenario
from augeoctl.drill.scenarios import REGISTRY, ScenarioType, scenario_for
from augeoctl.drill.workload import Workload
from augeoctl.errors import AugeoError, Interrupted
from augeoctl.platform import Platform
from augeoctl.progress import NullReporter, Reporter

PHASES = ("preflight", "workload", "disaster", "recovery", "verification", "service_check", "cleanup")

Hook = Callable[[DrillContext], None]


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

    def run(self, config: DrillConfig) -> DrillReport:
        scenario = self.scenario(config.scenario)
        protection = self.platform.wal_protection()
        ctx = DrillContext(history.new_id(self.platform.home), config, self.platform)
        run = _Run(ctx, scenario, self.reporter, self.hooks)
        started = _now()
        preflight = run.phase("preflight", "preflight", lambda: scenario.preflight(ctx))
        if not preflight.ok:
            report = DrillReport(
                id=ctx.drill_id, scenario=config.scenario, environment=self.platform.name,
                started_at=started, finished_at=_now(), disaster_at=None, service_ready_at=None,
                recovery_point=None, rto_target=config.rto, rpo_target=config.rpo,
                phases=tuple(run.phases), wal_mode=protection.mode, rpo_bound=protection.rpo_bound,
                aborted=preflight.detail,
            )
            return history.save(self.platform.home, report)
        try:
            run.through_service_check()
        finally:
            run.stop_workload()
            run.phase("cleanup", scenario.cleanup_label, lambda: scenario.cleanup(ctx))
        report = DrillReport(
            id=ctx.drill_id, scenario=config.scenario, environment=self.platform.name,
            started_at=started, finished_at=_now(), disaster_at=ctx.disaster_at,
            service_ready_at=ctx.service_ready_at, recovery_point=ctx.recovery_point,
            rto_target=config.rto, rpo_target=config.rpo, phases=tuple(run.phases),
            integrity=tuple(ctx.integrity), checks=tuple(ctx.checks),
            wal_mode=protection.mode, rpo_bound=protection.rpo_bound, recovery=ctx.recovery,
            workload=ctx.workload, service=ctx.service,
        )
        return history.save(self.platform.home, report)


class _Run:
    """One drill run: its phases so far and its workload."""

    def __init__(self, ctx: DrillContext, scenario: Scenario[Any], reporter: Reporter,
                 hooks: DrillHooks) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.reporter = reporter
        self.hooks = hooks
        self.phases: list[DrillPhase] = []
        self.workload: Workload | None = None

    def phase(self, name: str, label: str, fn: Callable[[], Outcome | None]) -> DrillPhase:
        """Run one phase between its hooks; an AugeoError marks it failed."""
        if name in self.hooks.before:
            self.hooks.before[name](self.ctx)
        start = _now()
        try:
            with self.reporter.step(label):
                outcome = fn() or Outcome()
        except Interrupted:
            raise
        except AugeoError as exc:
            outcome = Outcome(exc.message, ok=False)
        result = DrillPhase(name, start, _now(), outcome.ok, outcome.detail, outcome.parts)
        self.phases.append(result)
        if name in self.hooks.after:
            self.hooks.after[name](self.ctx)
        return result

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
