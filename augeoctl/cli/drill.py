"""``augeoctl dr-drill``: disaster-recovery drills that measure RTO and RPO."""

from __future__ import annotations

from typing import Any

import click

from augeoctl.cli.common import (
    command_lock,
    common_options,
    confirm_by_name,
    duration_seconds,
    emit,
    reporter,
    settings,
    table,
    wait_option,
)
from augeoctl.drill import model
from augeoctl.errors import UsageError, VerdictFailed
from augeoctl.timeparse import format_duration


def _bytes(text: str) -> int:
    units = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    num, unit = (t[:-1], t[-1]) if t and t[-1] in units else (t, "")
    try:
        return int(float(num) * units[unit])
    except ValueError:
        raise UsageError(f'--disk-reserve "{text}" is not a size', hint="e.g. 500M, 2G") from None


@click.group(invoke_without_command=True)
@click.option("--scenario", type=click.Choice(model.SCENARIOS), default="accidental-delete",
              show_default=True, help="What goes wrong.")
@click.option("--rto", default=None, help="Recovery time objective [default: 4h; 5m for bad-deploy].")
@click.option("--rpo", default="15m", show_default=True, help="Recovery point objective.")
@click.option("--duration", default="20s", show_default=True,
              help="How long the write workload runs before the disaster.")
@click.option("--rate", default=25.0, show_default=True, type=float,
              help="Writes per second of each writer (PostgreSQL and Redis).")
@click.option("--disk-reserve", default="0", show_default=True,
              help="Disk that must stay free beyond what the restore needs (e.g. 2G).")
@click.option("--keep", is_flag=True, help="Keep the recovered target(s) for inspection.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before damaging the environment.")
@wait_option
@common_options
@click.pass_context
def dr_drill(ctx: click.Context, scenario: str, rto: str | None, rpo: str, duration: str, rate: float,
             disk_reserve: str, keep: bool, yes: bool, wait: str) -> None:
    """Run a disaster-recovery drill and judge it against RTO/RPO objectives.

    Phases: preflight (verified backup, WAL continuity, disk), a live write workload,
    the disaster, recovery into a new target with the restore code path, verification
    of every acknowledged write, a /health/ready check of the reference service against
    the recovered data, and cleanup. Exits 0 on PASS and 4 on FAIL. Reports are kept:
    `augeoctl dr-drill history` lists them. SIGINT or SIGTERM stops the drill, repairs
    the sandbox and exits 130; a drill that could not finish is refused until `augeoctl
    sandbox repair` ran (exit 4). A drill holds the AUGEO_HOME lock (one writer at a
    time): while another command holds it, exits 3 naming that command, or waits up to
    --wait (`history` takes no lock).
    """
    if ctx.invoked_subcommand is not None:
        # `dr-drill --scenario S history` lists the drills of S; the options of a run mean
        # nothing to a subcommand and are refused rather than ignored.
        given = [p for p in ctx.command.params if p.name and
                 ctx.get_parameter_source(p.name) not in (click.core.ParameterSource.DEFAULT, None)]
        unused = [p for p in given if p.name not in ("scenario", "output", "verbose", "quiet", "env",
                                                      "config", "home")]
        if unused:
            names = ", ".join(p.opts[0] for p in unused if isinstance(p, click.Option))
            raise UsageError(f"{names} apply to a drill run, not to `dr-drill {ctx.invoked_subcommand}`",
                             hint=f"drop them; `dr-drill --scenario S {ctx.invoked_subcommand}` filters by scenario")
        if any(p.name == "scenario" for p in given):
            ctx.meta["drill_scenario_filter"] = scenario
        return
    from augeoctl.drill.context import DrillConfig
    from augeoctl.drill.orchestrator import Drill
    from augeoctl.platform import platform_for

    cfg = DrillConfig(
        scenario=scenario, rto=duration_seconds(rto, "--rto") if rto else model.default_rto(scenario),
        rpo=duration_seconds(rpo, "--rpo"),
        duration=duration_seconds(duration, "--duration"), rate=rate, keep=keep,
        disk_reserve=_bytes(disk_reserve),
    )
    drill = Drill(platform_for(settings()), reporter())
    with command_lock(wait):
        drill.refuse_if_unfinished()  # before asking anything
        confirmation = drill.confirmation(cfg)  # refuses a scenario the platform does not have
        if confirmation is not None:
            confirm_by_name(confirmation.name, yes, confirmation.description)
        report = drill.run(cfg)
    data = model.to_json(report)
    emit(data, model.render_text)
    if data["verdict"] != "PASS":
        raise VerdictFailed(f"drill {data['id']} FAILED: " + "; ".join(data["reasons"][:3]))


@dr_drill.command()
@click.option("--limit", default=20, show_default=True, help="How many drills to list.")
@click.option("--plot", is_flag=True,
              help="Also chart RTO and RPO per drill against their objectives: in the terminal, and as "
                   "drills/history.svg beside the reports.")
@common_options
def history(limit: int, plot: bool) -> None:
    """List past drills with RTO, RPO, lost writes and verdicts (newest first).

    `augeoctl dr-drill --scenario S history` lists the drills of scenario S only.

    LOST: writes acknowledged before the disaster that were not recovered; MISSING:
    writes acknowledged by the recovery point that were not (a recovery defect). A report
    older than schema 2 shows LOST as "-" (not measured).
    """
    from augeoctl.drill.history import load

    only = click.get_current_context().meta.get("drill_scenario_filter")
    items = [d for d in load(settings().home) if only is None or d.get("scenario") == only][:limit]

    def text(r: dict[str, Any]) -> str:
        if not r["drills"]:
            return "no drills yet: run `augeoctl dr-drill`"
        def count(v: int | None) -> str:
            return "-" if v is None else str(v)

        rows = [[d["id"], d["scenario"], d["verdict"] + (" (interrupted)" if d.get("interrupted") else ""),
                 format_duration(d["rto_seconds"]) if d["rto_seconds"] is not None else "-",
                 format_duration(d["rpo_seconds"]) if d["rpo_seconds"] is not None else "-",
                 count(d["lost_writes"]), count(d["missing_before_recovery_point"]),
                 d.get("report_path") or ""] for d in r["drills"]]
        return table(rows, ["DRILL", "SCENARIO", "VERDICT", "RTO", "RPO", "LOST", "MISSING", "REPORT"])

    result: dict[str, Any] = {"drills": [{k: d.get(k) for k in (
        "id", "scenario", "environment", "started_at", "verdict", "rto_seconds", "rpo_seconds", "lost_writes",
        "missing_before_recovery_point", "interrupted", "reasons", "report_path")} for d in items]}
    if plot and items:
        from augeoctl import charts
        from augeoctl.drill.history import chart

        drawn = chart(items, settings().home)
        result["plot"] = str(drawn.path)
        emit(result, lambda r: f"{text(r)}\n\n{charts.terminal(drawn.chart)}svg: {r['plot']}")
        return
    emit(result, text)
