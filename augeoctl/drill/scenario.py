"""What a drill scenario is: one class per way things go wrong on one kind of platform.

A scenario carries its own preflight additions, disaster, recovery, verification,
service check and repair; the orchestrator (``drill.orchestrator``) runs them as phases,
times them and judges the result. A phase method returns an ``Outcome`` (its detail and
sub-phases) or None, fills in the ``DrillContext``, and raises an ``AugeoError`` when
the phase failed; any other exception is a bug and stops the drill. The flags say which
optional phases a scenario has: a write workload before the disaster, a verification of
the recovered data, a check of the reference service against it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from augeoctl.drill.context import DrillConfig, DrillContext
from augeoctl.drill.workload import WriteTarget
from augeoctl.platform import Platform
from augeoctl.progress import Reporter

P = TypeVar("P", bound=Platform)


@dataclass(frozen=True)
class Confirmation:
    """Before the drill starts, the user types ``name`` to allow ``description``."""

    name: str
    description: str


@dataclass(frozen=True)
class Outcome:
    """How a phase went: a sentence for the report, its timed sub-phases, and ``ok``
    False for a finding that is not an error (the workload's writers failing)."""

    detail: str = ""
    parts: tuple[tuple[str, float], ...] = ()
    ok: bool = True


class Scenario(ABC, Generic[P]):
    """One scenario on one kind of platform; a new object for every drill run."""

    name: ClassVar[str]
    platform_type: ClassVar[type[Platform]]
    runs_workload: ClassVar[bool] = False
    verifies: ClassVar[bool] = False
    checks_service: ClassVar[bool] = False
    journaled: ClassVar[bool] = False  # damages something a killed drill must let be repaired
    cleanup_label: ClassVar[str] = "cleanup"

    def __init__(self, platform: P, reporter: Reporter) -> None:
        self.platform = platform
        self.reporter = reporter

    @abstractmethod
    def confirmation(self, config: DrillConfig) -> Confirmation | None:
        """What the user must confirm before the drill, or None when it damages nothing."""

    @abstractmethod
    def preflight(self, ctx: DrillContext) -> None:
        """Refuse to start (``PreflightFailed``) unless recovery can be expected to work."""

    def prepare_workload(self, ctx: DrillContext) -> WriteTarget:
        """Before the writers start (``runs_workload``): where they write."""
        raise NotImplementedError(f"{type(self).__name__} runs no workload")

    def at_workload_midpoint(self, ctx: DrillContext) -> None:  # noqa: B027 - optional step
        """Halfway through the workload (a scheduled backup, for instance)."""

    @abstractmethod
    def disaster(self, ctx: DrillContext) -> Outcome:
        """Cause (or mark) the disaster; sets ``ctx.disaster_at`` and ``ctx.expected_point``."""

    @abstractmethod
    def recover(self, ctx: DrillContext) -> Outcome:
        """Recover into new targets (recorded in ``ctx.targets``) as a runbook would."""

    def verify(self, ctx: DrillContext) -> None:
        """Compare the recovered data with the workload and the reference (``verifies``)."""
        raise NotImplementedError(f"{type(self).__name__} has no verification phase")

    def check_service(self, ctx: DrillContext) -> None:
        """Check the reference service against the recovered data (``checks_service``)."""
        raise NotImplementedError(f"{type(self).__name__} has no service check")

    @abstractmethod
    def cleanup(self, ctx: DrillContext) -> Outcome:
        """Repair what the disaster damaged and drop the targets unless they are kept.

        A ``journaled`` scenario repairs from ``ctx.journal`` and the environment as they
        are, not from what this object remembers: the same cleanup finishes the repair of
        a drill that was killed (``drill.repair.repair``). It raises ``RepairFailed``
        when the damage could not be undone and verified; the journal then stays.
        """
