"""``augeoctl runbook list | show | run``: the runbooks, rendered and executed with records."""

from __future__ import annotations

import sys
from typing import Any

import click

from augeoctl.cli.common import (
    _command_line,
    common_options,
    complete_runbooks,
    emit,
    reporter,
    settings,
    table,
)
from augeoctl.platform import platform_for
from augeoctl.runbook import model
from augeoctl.runbook.run import Runner, read_records, runs_dir
from augeoctl.timeparse import format_duration


@click.group()
@common_options
def runbook() -> None:
    """The runbooks: list them, read one, run its steps with a record as evidence."""


@runbook.command("list")
@common_options
def runbook_list() -> None:
    """Runbooks with the environments they run on, and their last run and its result."""
    home = settings().home
    last = {r.runbook: r for r in read_records(home)}
    items = []
    for rb in model.all_runbooks():
        run = last.get(rb.name)
        items.append({
            "name": rb.name, "title": rb.title, "environments": list(rb.environments), "steps": len(rb.steps),
            "last_run": {"id": run.id, "started_at": run.started_at, "environment": run.environment,
                         "result": run.result} if run else None,
        })

    def text(r: dict[str, Any]) -> str:
        return table([[i["name"], ",".join(i["environments"]) or "-",
                       i["last_run"]["started_at"] if i["last_run"] else "never",
                       i["last_run"]["result"] if i["last_run"] else "-", i["title"]] for i in r["runbooks"]],
                     ["NAME", "ENVIRONMENTS", "LAST RUN", "RESULT", "TITLE"])

    emit({"runbooks": items, "folder": str(model.runbooks_dir()), "records": str(runs_dir(home))}, text)


@runbook.command("show")
@click.argument("name", shell_complete=complete_runbooks)
@common_options
def runbook_show(name: str) -> None:
    """Render a runbook (NAME, or a path ending in .md) in the terminal (its steps, with --output json)."""
    rb = model.load(name)
    if settings().output == "json":
        emit({**rb.to_dict(), "text": rb.text})
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console(soft_wrap=False).print(Markdown(rb.text))


@runbook.command("run")
@click.argument("name", shell_complete=complete_runbooks)
@click.option("--yes", "-y", is_flag=True, help="Confirm every destructive step (no questions).")
@click.option("--from-step", "from_step", type=int, default=1, show_default=True, metavar="N",
              help="Start at step N (resume a failed run; values captured before N come from the last run).")
@common_options
def runbook_run(name: str, yes: bool, from_step: int) -> None:
    """Run the runbook's steps for the environment (--env), in order, and record the run.

    NAME is a runbook of `runbook list`, or the path of a Markdown file (ending in .md)
    that follows the same convention (runbooks/README.md).

    Runs the steps tagged for the environment's kind (local or azure), each as a bash
    script with `augeoctl` on the PATH and AUGEO_ENV set; values captured from an
    earlier step's JSON are passed on as variables. Asks before each destructive step
    unless --yes (with no terminal and no --yes: exit 2, nothing run). Stops at the first
    failure (exit 1) with the step, its output and the next thing to try. The record
    (JSON and Markdown: who, when, each step's output excerpt, time and result) is
    written under AUGEO_HOME/runbook-runs.

    Takes no command lock itself: each step's command takes its own.
    """
    rb = model.load(name)
    s = settings()
    platform = platform_for(s)
    interactive = sys.stdin.isatty() and sys.stderr.isatty()

    def confirm(step: model.Step) -> bool:
        click.echo(f"\nstep {step.number} ({step.title}) is destructive:\n{step.script.rstrip()}", err=True)
        return click.confirm("run it?", default=False, err=True)

    record = Runner(rb, kind=platform.kind, environment=platform.name, home=s.home, reporter=reporter(),
                    yes=yes, confirm=confirm if interactive else None, from_step=from_step,
                    command=_command_line(click.get_current_context()),
                    environ={"AUGEO_HOME": str(s.home), "AUGEO_ENV": platform.name,
                             **({"AUGEO_CONFIG": str(s.config_path)} if s.config_path else {})}).run()
    out = {**record.to_dict(), "record": str(runs_dir(s.home) / f"{record.id}.json"),
           "report": str(runs_dir(s.home) / f"{record.id}.md")}

    def text(r: dict[str, Any]) -> str:
        rows = [[str(st["number"]), st["title"], st["status"],
                 format_duration(st["seconds"])] for st in r["steps"]]
        return "\n".join([f"runbook {r['runbook']} on {r['environment']}: {r['result'].upper()}", "",
                          table(rows, ["STEP", "TITLE", "RESULT", "TIME"]), "", f"record: {r['report']}"])

    emit(out, text)
