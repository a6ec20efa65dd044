"""Finishing the repair of a drill that did not finish (SIGKILL, power cut, a repair that
failed), from its journal: the scenario's own cleanup, run again on the sandbox as it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from augeoctl.drill.context import DrillConfig, DrillContext, Target
from augeoctl.drill.journal import running_message, unfinished
from augeoctl.drill.scenarios import scenario_for
from augeoctl.errors import UnfinishedDrill
from augeoctl.platform import Platform
from augeoctl.progress import Reporter


@dataclass(frozen=True)
class RepairResult:
    """What ``repair`` did: the drill it finished (None: there was none) and its notes."""

    drill_id: str | None
    scenario: str | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"repaired": self.drill_id, "scenario": self.scenario, "notes": list(self.notes)}


def repair(platform: Platform, reporter: Reporter) -> RepairResult:
    """Finish the repair of a drill that did not finish, from its journal.

    Runs the scenario's cleanup as the drill would have: puts back what was moved aside
    (anything created in its place is moved aside too, never deleted), copies deleted rows
    back, stops the drill's leftover processes, restarts the sandbox, drops the drill's
    targets (unless the drill kept them), and removes the journal. ``RepairFailed`` when
    the sandbox could not be repaired: the journal and the targets stay.
    """
    journal = unfinished(platform)
    if journal is None:
        return RepairResult(None, None, ("no unfinished drill: nothing to repair",))
    if journal.owner_alive():
        raise UnfinishedDrill(running_message(journal),
                         hint=f"wait for it; SIGINT or SIGTERM to pid {journal.owner_pid} stops it "
                              "and runs its repair")
    if journal.scenario is None:
        raise UnfinishedDrill(f"the drill journal {journal.path} is damaged: it does not say what the drill did",
                         hint="check the sandbox by hand (`augeoctl sandbox status`), then remove the file")
    scenario = scenario_for(platform, journal.scenario, reporter)
    ctx = DrillContext(journal.drill_id, DrillConfig(journal.scenario, keep=journal.keep), platform,
                       journal=journal)
    ctx.targets = [Target(str(t["kind"]), str(t["name"])) for t in journal.get("targets", [])]
    reporter.info(f"repairing the sandbox after drill {journal.drill_id} ({journal.scenario}, "
                  f"stopped in its {journal.get('phase') or 'first'} phase)")
    outcome = scenario.cleanup(ctx)
    journal.finish()
    notes = tuple(n for n in outcome.detail.split("; ") if n)
    return RepairResult(journal.drill_id, journal.scenario, notes)
