"""What a DR drill measures, and the pure verdict over it.

A drill report is a frozen record: phases with their times, the disaster time D, the
recovery point reached, the writer's acknowledged commits compared with what the
recovered system holds. ``judge`` turns it into PASS/FAIL with reasons; it needs no
servers, so every rule is tested on built states.

Two figures count acknowledged writes that did not come back. ``lost_writes``: every
write acknowledged before the disaster that the recovered system lacks, what the
business loses (with archiving only, the writes after the newest archived segment).
``missing_before_recovery_point``: a write acknowledged at or before the point the
recovery must reach that it lacks, a recovery defect. The verdict judges RPO against
its objective, so lost writes alone fail nothing; a missing write always fails.

Schema version 2 (``report.schema.json``): ``lost_writes`` took the meaning above (in
version 1 it counted what is now ``missing_before_recovery_point``), and ``interrupted``
says which signal stopped the drill, and where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from augeoctl.core import Check, Phase
from augeoctl.timeparse import format_duration, format_time

__all__ = ["Check", "DrillPhase", "DrillReport", "Integrity", "judge", "to_json", "schema"]

SCHEMA_VERSION = 2
SCENARIOS = ("accidental-delete", "server-loss", "redis-loss", "bad-migration", "bad-deploy")
DEFAULT_RTO_SECONDS = 4 * 3600.0
# A failed deployment is rolled back within 5 minutes (FR-020, SC-006).
SCENARIO_RTO_SECONDS = {"bad-deploy": 300.0}


def default_rto(scenario: str) -> float:
    """The RTO objective a drill of ``scenario`` is judged against unless --rto is given."""
    return SCENARIO_RTO_SECONDS.get(scenario, DEFAULT_RTO_SECONDS)
DEFAULT_RPO_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class DrillPhase(Phase):
    """A restore's phase plus whether it succeeded and its sub-phases."""

    ok: bool = True
    detail: str = ""
    parts: tuple[tuple[str, float], ...] = ()  # sub-phases (name, seconds), e.g. copy/replay

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "ok": self.ok,
            "detail": self.detail,
            "parts": [{"name": n, "seconds": round(s, 3)} for n, s in self.parts],
        }


@dataclass(frozen=True)
class Integrity:
    """The writer's acknowledged writes compared with what was recovered."""

    store: str  # "postgres" | "redis"
    acknowledged: int
    expected_present: int  # acknowledged at or before the recovery point
    present: int
    missing_before_recovery_point: int  # expected but missing: a recovery defect
    extra: int  # present but committed after the recovery point, or never written
    duplicates: int
    after_recovery_point: int  # acknowledged after the recovery point: the RPO's loss
    lost_writes: int = 0  # acknowledged before the disaster and missing, whatever the cause
    missing_sample: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.missing_before_recovery_point == 0 and self.extra == 0 and self.duplicates == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "acknowledged": self.acknowledged,
            "expected_present": self.expected_present,
            "present": self.present,
            "lost_writes": self.lost_writes,
            "missing_before_recovery_point": self.missing_before_recovery_point,
            "extra": self.extra,
            "duplicates": self.duplicates,
            "after_recovery_point": self.after_recovery_point,
            "missing_sample": list(self.missing_sample),
            "ok": self.ok,
        }


@dataclass(frozen=True)
class DrillReport:
    id: str
    scenario: str
    environment: str
    started_at: datetime
    finished_at: datetime
    disaster_at: datetime | None
    service_ready_at: datetime | None
    recovery_point: datetime | None
    rto_target: float
    rpo_target: float
    phases: tuple[DrillPhase, ...]
    integrity: tuple[Integrity, ...] = ()
    checks: tuple[Check, ...] = ()
    wal_mode: str = "archive"
    rpo_bound: str = ""
    recovery: dict[str, Any] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)
    service: dict[str, Any] = field(default_factory=dict)
    aborted: str | None = None  # preflight failure: the drill stopped before the disaster
    interrupted: str | None = None  # the signal that stopped the drill, and where
    report_path: str | None = None

    @property
    def rto_seconds(self) -> float | None:
        if self.disaster_at is None or self.service_ready_at is None:
            return None
        return (self.service_ready_at - self.disaster_at).total_seconds()

    @property
    def rpo_seconds(self) -> float | None:
        if self.disaster_at is None or self.recovery_point is None:
            return None
        return max(0.0, (self.disaster_at - self.recovery_point).total_seconds())

    @property
    def lost_writes(self) -> int:
        return sum(i.lost_writes for i in self.integrity)

    @property
    def missing_before_recovery_point(self) -> int:
        return sum(i.missing_before_recovery_point for i in self.integrity)


def judge(report: DrillReport) -> tuple[str, list[str]]:
    """PASS or FAIL, with every reason for a FAIL."""
    reasons: list[str] = []
    if report.aborted:
        return "FAIL", [f"preflight: {report.aborted}"]
    if report.interrupted:
        reasons.append(f"interrupted: {report.interrupted}")
    for phase in report.phases:
        if not phase.ok:
            reasons.append(f"phase {phase.name} failed: {phase.detail}")
    rto, rpo = report.rto_seconds, report.rpo_seconds
    if rto is None:
        reasons.append("RTO not measured: the service never became ready")
    elif rto > report.rto_target:
        reasons.append(
            f"RTO {format_duration(rto)} exceeds the objective {format_duration(report.rto_target)}"
        )
    if rpo is None:
        reasons.append("RPO not measured: no recovered transaction")
    elif rpo > report.rpo_target:
        reasons.append(
            f"RPO {format_duration(rpo)} exceeds the objective {format_duration(report.rpo_target)}"
        )
    for i in report.integrity:
        # Lost writes alone are the RPO's price, judged by the RPO objective above.
        if i.missing_before_recovery_point:
            sample = ", ".join(str(s) for s in i.missing_sample[:5])
            reasons.append(
                f"{i.store}: {i.missing_before_recovery_point} acknowledged write(s) before the recovery point are missing"
                + (f" (e.g. seq {sample})" if sample else "")
            )
        if i.extra:
            reasons.append(f"{i.store}: {i.extra} row(s) present that were committed after the recovery point")
        if i.duplicates:
            reasons.append(f"{i.store}: {i.duplicates} duplicate row(s)")
    for c in report.checks:
        if not c.ok:
            reasons.append(f"{c.name}: {c.detail}")
    return ("PASS" if not reasons else "FAIL"), reasons


def to_json(report: DrillReport) -> dict[str, Any]:
    verdict, reasons = judge(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "id": report.id,
        "scenario": report.scenario,
        "environment": report.environment,
        "started_at": format_time(report.started_at),
        "finished_at": format_time(report.finished_at),
        "disaster_at": format_time(report.disaster_at),
        "service_ready_at": format_time(report.service_ready_at),
        "recovery_point": format_time(report.recovery_point),
        "rto_seconds": None if report.rto_seconds is None else round(report.rto_seconds, 3),
        "rpo_seconds": None if report.rpo_seconds is None else round(report.rpo_seconds, 3),
        "lost_writes": report.lost_writes,
        "missing_before_recovery_point": report.missing_before_recovery_point,
        "objectives": {"rto_seconds": report.rto_target, "rpo_seconds": report.rpo_target},
        "wal_mode": report.wal_mode,
        "rpo_bound": report.rpo_bound,
        "phases": [p.to_dict() for p in report.phases],
        "integrity": [i.to_dict() for i in report.integrity],
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in report.checks],
        "recovery": report.recovery,
        "workload": report.workload,
        "service": report.service,
        "aborted": report.aborted,
        "interrupted": report.interrupted,
        "verdict": verdict,
        "reasons": reasons,
        "report_path": report.report_path,
    }


def schema() -> dict[str, Any]:
    """The JSON Schema of ``to_json``'s output (``augeoctl/drill/report.schema.json``)."""
    text = resources.files("augeoctl.drill").joinpath("report.schema.json").read_text()
    return json.loads(text)


def timeline(phases: list[dict[str, Any]], width: int = 40) -> list[str]:
    """One line per phase with a bar proportional to its duration."""
    longest = max((p["seconds"] for p in phases), default=0) or 1
    name_w = max((len(p["name"]) for p in phases), default=5)
    lines = []
    for p in phases:
        n = max(1, round(width * p["seconds"] / longest)) if p["seconds"] > 0 else 0
        mark = "" if p["ok"] else "  FAILED"
        lines.append(f"  {p['name']:<{name_w}}  {'█' * n:<{width}}  {format_duration(p['seconds'])}{mark}")
        for part in p.get("parts", []):
            lines.append(f"  {'':<{name_w}}    {part['name']}: {format_duration(part['seconds'])}")
    return lines


def render_text(data: dict[str, Any]) -> str:
    obj = data["objectives"]
    lines = [
        f"DR drill {data['id']}: {data['scenario']} on {data['environment']}  →  {data['verdict']}",
        "",
    ]
    if data["aborted"]:
        lines.append(f"stopped before the disaster: {data['aborted']}")
    if data.get("interrupted"):
        lines.append(f"interrupted: {data['interrupted']}")
    lines.extend(timeline(data["phases"]))
    lines.append("")

    def sec(v: float | None) -> str:
        return "-" if v is None else format_duration(v)

    lines.append(f"RTO  {sec(data['rto_seconds']):>12}   objective {format_duration(obj['rto_seconds'])}")
    # Lost writes beside the RPO: what the WAL protection costs shows at a glance
    # (archiving only loses the writes after the newest archived segment; sync streaming none).
    lines.append(f"RPO  {sec(data['rpo_seconds']):>12}   objective {format_duration(obj['rpo_seconds'])}"
                 f"   lost writes {data['lost_writes']}"
                 + (f"   ({data['rpo_bound']})" if data["rpo_bound"] else ""))
    lines.append(f"missing before the recovery point: {data['missing_before_recovery_point']}"
                 + ("  (a recovery defect)" if data["missing_before_recovery_point"] else ""))
    for i in data["integrity"]:
        lines.append(
            f"  {i['store']}: {i['acknowledged']} acknowledged, {i['present']} present, "
            f"{i['lost_writes']} lost; {i['expected_present']} expected by the recovery point, "
            f"{i['missing_before_recovery_point']} of them missing; {i['extra']} extra, "
            f"{i['duplicates']} duplicate, {i['after_recovery_point']} acknowledged after it"
        )
    for c in data["checks"]:
        lines.append(f"  {'ok  ' if c['ok'] else 'FAIL'} {c['name']}: {c['detail']}")
    if data["reasons"]:
        lines.append("")
        lines.append("reasons:")
        lines.extend(f"  - {r}" for r in data["reasons"])
    if data.get("report_path"):
        lines.append("")
        lines.append(f"report: {data['report_path']}")
    return "\n".join(lines)


RTO_PHASES = ("disaster", "recovery", "verification", "service_check")


def _mermaid_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def _timeline(data: dict[str, Any]) -> list[str]:
    """A Mermaid gantt of the disaster: the writes after the recovery point (the RPO gap),
    the recovery point, and the phases from the disaster to the service check (the RTO)."""
    def at(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    disaster, point = at(data.get("disaster_at")), at(data.get("recovery_point"))
    phases = [p for p in data["phases"] if p["name"] in RTO_PHASES and p.get("started_at")]
    if disaster is None or not phases:
        return []
    out = ["", "## Timeline", "", "```mermaid", "gantt",
           f"    title {data['id']} ({data['scenario']}), UTC",
           "    dateFormat YYYY-MM-DDTHH:mm:ss.SSS", "    axisFormat %H:%M:%S", "    section Data"]
    if point is not None and point < disaster:
        out.append(f"    lost: after the recovery point (RPO) :crit, {_mermaid_time(point)}, {_mermaid_time(disaster)}")
    if point is not None:
        out.append(f"    recovery point :milestone, {_mermaid_time(point)}, 0d")
    out.append(f"    disaster declared :milestone, {_mermaid_time(disaster)}, 0d")
    out.append("    section Recovery (RTO)")
    for p in phases:
        start = at(p["started_at"])
        assert start is not None
        end = datetime.fromtimestamp(start.timestamp() + max(p["seconds"], 0.001), start.tzinfo)
        out.append(f"    {p['name']} :{'crit, ' if not p['ok'] else ''}{_mermaid_time(start)}, {_mermaid_time(end)}")
    out.append("```")
    return out


def render_markdown(data: dict[str, Any]) -> str:
    obj = data["objectives"]

    def sec(v: float | None) -> str:
        return "-" if v is None else format_duration(v)

    out = [
        f"# DR drill {data['id']}: {data['scenario']}",
        "",
        f"- Environment: `{data['environment']}`",
        f"- Started: {data['started_at']}; disaster declared: {data['disaster_at'] or '-'}",
        f"- **Verdict: {data['verdict']}**",
        f"- RTO: {sec(data['rto_seconds'])} (objective {format_duration(obj['rto_seconds'])})",
        f"- RPO: {sec(data['rpo_seconds'])} (objective {format_duration(obj['rpo_seconds'])})"
        + (f"; {data['rpo_bound']}" if data["rpo_bound"] else ""),
        f"- Lost writes (acknowledged before the disaster, not recovered): {data['lost_writes']}",
        f"- Missing before the recovery point (a recovery defect): {data['missing_before_recovery_point']}",
        f"- WAL mode: {data['wal_mode']}",
    ]
    if data.get("interrupted"):
        out.append(f"- Interrupted: {data['interrupted']}")
    out += [
        "",
        "## Phases",
        "",
        "| phase | start | seconds | result |",
        "|---|---|---:|---|",
    ]
    for p in data["phases"]:
        out.append(f"| {p['name']} | {p['started_at']} | {p['seconds']:.3f} | {'ok' if p['ok'] else 'FAILED: ' + p['detail']} |")
        for part in p.get("parts", []):
            out.append(f"| &nbsp;&nbsp;{part['name']} | | {part['seconds']:.3f} | |")
    out += _timeline(data)
    if data["integrity"]:
        out += ["", "## Integrity", "",
                "| store | acknowledged | present | lost | expected | missing before recovery point "
                "| extra | duplicates | after recovery point |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for i in data["integrity"]:
            out.append(f"| {i['store']} | {i['acknowledged']} | {i['present']} | {i['lost_writes']} | "
                       f"{i['expected_present']} | {i['missing_before_recovery_point']} | {i['extra']} | "
                       f"{i['duplicates']} | {i['after_recovery_point']} |")
    if data["checks"]:
        out += ["", "## Checks", ""]
        out += [f"- {'ok' if c['ok'] else 'FAIL'} **{c['name']}**: {c['detail']}" for c in data["checks"]]
    if data["reasons"]:
        out += ["", "## Reasons for the verdict", ""] + [f"- {r}" for r in data["reasons"]]
    rec = data.get("recovery") or {}
    if rec:
        out += ["", "## Recovery", "", f"- Target: `{rec.get('target')}` from backup `{rec.get('backup_id')}`",
                f"- Requested: {rec.get('requested') or 'latest'}; reached: {data['recovery_point']}"]
    return "\n".join(out) + "\n"
