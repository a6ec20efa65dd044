"""What a drill is asked to do (``DrillConfig``) and what it knows while it runs
(``DrillContext``): the typed state the orchestrator and the scenarios share, and that
hooks read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from augeoctl.backends.base import RestoreResult
from augeoctl.drill import model
from augeoctl.drill.journal import Journal
from augeoctl.drill.model import Check, Integrity
from augeoctl.drill.workload import WriterLog
from augeoctl.errors import UsageError
from augeoctl.platform import Platform


@dataclass(frozen=True)
class DrillConfig:
    scenario: str
    rto: float = model.DEFAULT_RTO_SECONDS
    rpo: float = model.DEFAULT_RPO_SECONDS
    duration: float = 20.0  # seconds of workload before the disaster
    rate: float = 25.0  # writes per second per writer
    keep: bool = False
    disk_reserve: int = 0  # bytes that must stay free beyond the restore's own need
    service_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.scenario not in model.SCENARIOS:
            raise UsageError(
                f'unknown scenario "{self.scenario}"', hint="choose " + ", ".join(model.SCENARIOS)
            )
        if self.duration < 0.5:
            raise UsageError("the workload must run for at least 0.5 s before the disaster")
        if not 0 < self.rate <= 2000:
            raise UsageError("--rate must be between 0 and 2000 writes per second")
        if self.rto <= 0 or self.rpo < 0:
            raise UsageError("--rto must be positive and --rpo not negative")


@dataclass(frozen=True)
class Target:
    """Something the recovery made: a PostgreSQL target or a Redis target."""

    kind: str  # "postgres" | "redis"
    name: str


@dataclass
class DrillContext:
    """What a drill knows while it runs; scenarios fill it in, hooks read it."""

    drill_id: str
    config: DrillConfig
    platform: Platform
    disaster_at: datetime | None = None
    expected_point: datetime | None = None  # every write acknowledged by then must survive
    recovery_point: datetime | None = None  # the newest point the recovered data holds
    service_ready_at: datetime | None = None
    reference: dict[str, int] = field(default_factory=dict)  # app row counts before the disaster
    restore: RestoreResult | None = None  # the PostgreSQL restore, when there was one
    recovery: dict[str, Any] = field(default_factory=dict)  # the report's "recovery" section
    targets: list[Target] = field(default_factory=list)  # dropped at cleanup unless kept
    integrity: list[Integrity] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    service: dict[str, Any] = field(default_factory=dict)  # the service check's findings
    workload: dict[str, Any] = field(default_factory=dict)  # the writers' summaries
    pg_log: WriterLog = field(default_factory=WriterLog)
    redis_log: WriterLog = field(default_factory=WriterLog)
    journal: Journal = field(default_factory=Journal.in_memory)  # what a repair needs to know

    def add_target(self, target: Target) -> None:
        """A target the recovery is about to make: journaled first, so it is never orphaned."""
        self.journal.add("targets", {"kind": target.kind, "name": target.name})
        self.targets.append(target)

    def target_name(self, prefix: str) -> str:
        """A target name unique to this drill: ``PREFIX-20261124t101500z``."""
        return f"{prefix}-" + self.drill_id.split("-", 1)[1].lower()
