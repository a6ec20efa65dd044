"""DR drills on Azure: restore-to-new-server drills against a marked disaster time.

The cloud cannot be made to lose a server on purpose, so the drill marks a disaster time
D, restores the production server to a point just before D (``accidental-delete``) or to
the newest point (``server-loss``) into a NEW server tagged as a drill, verifies it with
queries, measures RTO (D to verified) and RPO (D minus the restore point), and deletes
the drill server unless it is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from augeoctl.backends.azure_pg import AzurePostgresBackend
from augeoctl.drill import history, model
from augeoctl.drill.local import DrillConfig
from augeoctl.drill.model import Check, DrillPhase, DrillReport
from augeoctl.errors import AugeoError, UsageError
from augeoctl.progress import NullReporter, Reporter

BEFORE_DISASTER = timedelta(seconds=1)


def _now() -> datetime:
    return datetime.now(UTC)


class AzureDrill:
    def __init__(self, backend: AzurePostgresBackend, home: Path, reporter: Reporter | None = None,
                 confirm_delete: Callable[[str], bool] | None = None) -> None:
        self.backend = backend
        self.reporter = reporter or NullReporter()
        self.home = home
        self.confirm_delete = confirm_delete or (lambda name: True)

    def run(self, cfg: DrillConfig) -> DrillReport:
        if cfg.scenario == "redis-loss":
            raise UsageError("the redis-loss drill runs on the local sandbox only",
                             hint="on Azure, `augeoctl backup verify --redis --env ENV` checks the Redis backups")
        drill_id = history.new_id(self.home)
        started = _now()
        phases: list[DrillPhase] = []
        checks: list[Check] = []
        recovery: dict[str, Any] = {}
        disaster_at = ready_at = point = None
        aborted = None
        target = "drill-" + drill_id.split("-", 1)[1].lower()

        def phase(name: str, fn: Callable[[], Any]) -> Any:
            start = _now()
            try:
                with self.reporter.step(name):
                    value = fn()
                phases.append(DrillPhase(name, start, _now()))
                return value
            except AugeoError as exc:
                phases.append(DrillPhase(name, start, _now(), False, exc.message))
                return None

        def preflight() -> None:
            win = self.backend.window()
            if win.earliest is None:
                raise AugeoError("the server reports no restorable window")
            src = self.backend.source()
            state = getattr(src.properties, "state", None)
            if str(getattr(state, "value", state)).lower() != "ready":
                raise AugeoError(f"the server is {state}, not Ready")
            checks.append(Check("preflight", True, f"restorable since {model.format_time(win.earliest)}"))

        phase("preflight", preflight)
        if not phases[-1].ok:
            aborted = phases[-1].detail
        else:
            disaster_at = _now()
            phases.append(DrillPhase("disaster", disaster_at, disaster_at, True, "disaster time marked"))
            point = disaster_at - BEFORE_DISASTER if cfg.scenario == "accidental-delete" else disaster_at

            def recover() -> Any:
                plan = self.backend.plan_restore(point, target, now=_now())
                return self.backend.restore(plan, self.reporter, tags={"augeoctl-drill": drill_id})

            result = phase("recovery", recover)
            if result is not None:
                recovery = result.to_dict()
                recovery.pop("dsn", None)
                recovery["target"] = target
                ready_at = result.phases[-1].ended_at
                checks.extend(result.verification)
                checks.append(Check("application-data", bool(result.tables),
                                    f"{len(result.tables)} table(s), {sum(result.tables.values())} rows"))
                last = phases.pop()
                phases.append(replace(last, parts=tuple((p.name, p.seconds) for p in result.phases)))

            def cleanup() -> None:
                if cfg.keep:
                    self.reporter.info(f"drill server {target} kept")
                    return
                if self.backend._exists(target) is None:
                    return
                if not self.confirm_delete(target):
                    raise AugeoError(f"deletion of drill server {target} was not confirmed; it is kept")
                self.backend.drop_target(target, self.reporter)

            phase("cleanup", cleanup)

        report = DrillReport(
            id=drill_id, scenario=cfg.scenario, environment=self.backend.env.name, started_at=started,
            finished_at=_now(), disaster_at=disaster_at, service_ready_at=ready_at, recovery_point=point,
            rto_target=cfg.rto, rpo_target=cfg.rpo, phases=tuple(phases), checks=tuple(checks),
            wal_mode="azure-continuous", rpo_bound="Azure point-in-time restore: RPO up to 5 minutes",
            recovery=recovery, aborted=aborted,
        )
        return history.save(self.home, report)
