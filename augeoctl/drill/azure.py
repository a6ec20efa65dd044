"""DR drill scenarios on Azure: restore-to-new-server drills against a marked disaster time.

The cloud cannot be made to lose a server on purpose, so the drill marks a disaster time
D, restores the production server to a point just before D (``accidental-delete``) or to
D itself (``server-loss``) into a NEW server tagged as the drill's, verifies it with
queries, measures RTO (D to verified) and RPO (D minus the restore point), and deletes
the drill server unless it is kept. There is no write workload against production.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from augeoctl.drill import model
from augeoctl.drill.context import DrillConfig, DrillContext, Target
from augeoctl.drill.model import Check
from augeoctl.drill.scenario import Confirmation, Outcome, Scenario
from augeoctl.errors import PreflightFailed
from augeoctl.platform.azure import AzurePlatform

BEFORE_DISASTER = timedelta(seconds=1)
DRILL_TAG = "augeoctl-drill"  # on the drill's server: the id of the drill that made it


class MarkedDisaster(Scenario[AzurePlatform]):
    """A disaster marked at a time, recovered by a point-in-time restore to a new server."""

    platform_type = AzurePlatform

    def confirmation(self, config: DrillConfig) -> Confirmation | None:
        if config.keep:
            return None  # nothing is deleted, and the source is only read
        # Asked before anything is created: the drill deletes the server it makes.
        return Confirmation(self.platform.name, f"a drill that restores {self.platform.postgres_server} "
                            f"into a new server in {self.platform.name} and deletes that server afterwards")

    def preflight(self, ctx: DrillContext) -> None:
        pg = self.platform.postgres()
        window = pg.window()
        if window.earliest is None:
            raise PreflightFailed("the server reports no restorable window")
        problem = pg.source_problem()
        if problem:
            raise PreflightFailed(problem)
        ctx.checks.append(Check("preflight", True, f"restorable since {model.format_time(window.earliest)}"))

    @abstractmethod
    def restore_point(self, disaster_at: datetime) -> datetime:
        """The point the restore recovers to, for a disaster marked at ``disaster_at``."""

    def disaster(self, ctx: DrillContext) -> Outcome:
        ctx.disaster_at = datetime.now(UTC)
        ctx.expected_point = ctx.recovery_point = self.restore_point(ctx.disaster_at)
        return Outcome("disaster time marked")

    def recover(self, ctx: DrillContext) -> Outcome:
        pg = self.platform.postgres()
        plan = pg.plan_restore(ctx.expected_point, ctx.target_name("drill"), now=datetime.now(UTC))
        ctx.targets.append(Target("postgres", plan.target))
        result = pg.restore(replace(plan, labels={DRILL_TAG: ctx.drill_id}, verify="full"), self.reporter)
        ctx.restore = result
        recovery = result.to_dict()
        recovery.pop("dsn", None)
        recovery["target"] = plan.target
        ctx.recovery = recovery
        ctx.service_ready_at = result.phases[-1].ended_at
        ctx.checks.extend(result.verification)
        ctx.checks.append(Check("application-data", bool(result.tables),
                                f"{len(result.tables)} table(s), {sum(result.tables.values())} rows"))
        return Outcome(parts=tuple((p.name, p.seconds) for p in result.phases))

    def cleanup(self, ctx: DrillContext) -> Outcome:
        if ctx.config.keep:
            for t in ctx.targets:
                self.reporter.info(f"drill server {t.name} kept")
            return Outcome()
        pg = self.platform.postgres()
        for t in ctx.targets:
            if pg.has_target(t.name):
                pg.drop_target(t.name, self.reporter)
        return Outcome()


class AccidentalDelete(MarkedDisaster):
    name = "accidental-delete"

    def restore_point(self, disaster_at: datetime) -> datetime:
        return disaster_at - BEFORE_DISASTER


class ServerLoss(MarkedDisaster):
    name = "server-loss"

    def restore_point(self, disaster_at: datetime) -> datetime:
        return disaster_at


SCENARIOS: tuple[type[MarkedDisaster], ...] = (AccidentalDelete, ServerLoss)
