"""``augeoctl release status|deploy|promote`` and ``augeoctl rollback``: the API's two
slots, deployments held to a health gate, and the swap back to the previous version."""

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
from augeoctl.errors import UsageError
from augeoctl.timeparse import format_duration


def _backend() -> Any:
    from augeoctl.platform import platform_for

    return platform_for(settings()).release()


def _smoke(paths: tuple[str, ...]) -> tuple[str, ...]:
    from augeoctl.deploy.ops import DEFAULT_SMOKE

    for p in paths:
        if not p.startswith("/"):
            raise UsageError(f"--smoke {p!r} is not a path", hint="e.g. --smoke /api/organizations")
    return paths or DEFAULT_SMOKE


def _outcome_text(r: dict[str, Any]) -> str:
    lines = [f"{r['action']}: {r['from_version']} -> {r['to_version']}: {r['verdict']}"]
    for name, seconds in r.get("timings", {}).items():
        lines.append(f"  {name:<14}{format_duration(seconds)}")
    if r.get("objective_seconds") is not None:
        lines.append(f"  objective     {format_duration(r['objective_seconds'])}")
    lines += [f"  - {reason}" for reason in r.get("reasons", [])]
    return "\n".join(lines)


def _run_gated(fn: Any, text: Any) -> None:
    from augeoctl.deploy.ops import GateFailed

    try:
        result: Any = fn()
    except GateFailed as exc:
        emit(exc.result if isinstance(exc.result, dict) else {}, text)
        raise
    emit(result if isinstance(result, dict) else result.to_dict(), text)


timeout_option = click.option("--timeout", default="60s", show_default=True,
                              help="How long a slot may take to serve the new version and be ready.")
smoke_option = click.option("--smoke", multiple=True, metavar="PATH",
                            help="A read-only API path that must not answer 5xx (repeatable; "
                                 "default /api/organizations).")


@click.group()
@common_options
def release() -> None:
    """The API's production and staging slots: status, deploy, promote.

    Locally the slots are two gunicorn servers of the reference service; on Azure the
    web app's production slot and its `staging` slot. A slot's version is its
    AUGEO_RELEASE, also reported by /health.
    """


@release.command("status")
@common_options
def status_command() -> None:
    """Which version each slot holds and serves, and its health.

    A slot that serves another version than it holds shows a swap that did not finish;
    status finishes it (reloads) and says so.
    """
    from augeoctl.deploy import ops

    result = ops.status(_backend(), reporter())

    def text(r: dict[str, Any]) -> str:
        rows = [[s["slot"], s["holds"] or "-", s["serving"] or "-",
                 "ready" if s["ready"] else ("-" if not s["url"] else "NOT READY"),
                 "yes" if s["consistent"] else "NO", s["url"] or "-", "; ".join(s["problems"])]
                for s in r["slots"]]
        out = table(rows, ["SLOT", "HOLDS", "SERVING", "HEALTH", "CONSISTENT", "URL", "PROBLEMS"])
        return out + (f"\n{r['finished_interrupted_swap']}" if r["finished_interrupted_swap"] else "")

    emit(result, text)


@release.command("deploy")
@click.argument("artifact", metavar="ARTIFACT|VERSION")
@click.option("--slot", type=click.Choice(["staging", "production"]), default="staging", show_default=True,
              help="The slot to deploy into (production is refused: promote instead).")
@timeout_option
@smoke_option
@wait_option
@common_options
def deploy_command(artifact: str, slot: str, timeout: str, smoke: tuple[str, ...], wait: str) -> None:
    """Put a release into the staging slot and hold it to the health gate.

    Locally ARTIFACT is a release file (or a folder with release.json) or a version
    installed or shipped (1.0.0, 1.1.0, 1.2.0+unready, 1.2.0+broken-api). On Azure the
    pipeline deploys the code (azure/webapps-deploy) and this sets AUGEO_RELEASE=VERSION
    on the slot. Exits 4 when the slot is not serving VERSION and ready within --timeout.
    """
    from augeoctl.deploy import ops

    seconds = duration_seconds(timeout, "--timeout")
    paths = _smoke(smoke)
    if slot != "staging":
        raise UsageError("a release goes into the staging slot, not production",
                         hint="deploy with --slot staging, then `augeoctl release promote`")
    with command_lock(wait):
        _run_gated(lambda: ops.deploy(_backend(), artifact, slot, reporter(), timeout=seconds, smoke=paths),
                   lambda r: f"{r['slot']}: {r['version']} {'healthy' if r['healthy'] else 'NOT healthy'} "
                             f"(gate {format_duration(r['timings']['gate'])})")


@release.command("promote")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for the environment's name to be typed.")
@click.option("--watch", default="10s", show_default=True,
              help="How long production is watched after the swap before the release is kept.")
@timeout_option
@smoke_option
@wait_option
@common_options
def promote_command(yes: bool, watch: str, timeout: str, smoke: tuple[str, ...], wait: str) -> None:
    """Swap staging into production, watch it, and swap back by itself if it fails.

    Refuses (exit 2) unless staging is healthy and holds another version. Production
    must serve the new version and be ready within --timeout, then stay healthy for
    --watch (readiness, the smoke paths, no new 5xx to live traffic); otherwise the
    previous version is swapped back at once and the command exits 4, saying so. The
    previous version stays in staging, ready for `augeoctl rollback`.
    """
    from augeoctl.deploy import ops

    seconds, watching, paths = duration_seconds(timeout, "--timeout"), duration_seconds(watch, "--watch"), _smoke(smoke)
    with command_lock(wait):
        backend = _backend()
        confirm_by_name(settings().env.name, yes, "swapping staging into production")
        _run_gated(lambda: ops.promote(backend, reporter(), timeout=seconds, watch=watching, smoke=paths),
                   _outcome_text)


@click.command("rollback")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for the environment's name to be typed.")
@click.option("--dry-run", is_flag=True, help="Check that a rollback is possible and say to what; change nothing.")
@click.option("--objective", default="5m", show_default=True, help="The time a rollback must take at most.")
@timeout_option
@wait_option
@common_options
def rollback(yes: bool, dry_run: bool, objective: str, timeout: str, wait: str) -> None:
    """Swap back to the previous version (the one staging holds), timed against --objective.

    Refuses (exit 2) when staging does not hold an older, healthy version. Verifies that
    production serves that version and is ready afterwards. Exits 4 when it is not, or
    when the whole operation took longer than the objective (5 minutes).
    """
    from augeoctl.deploy import ops

    limit, seconds = duration_seconds(objective, "--objective"), duration_seconds(timeout, "--timeout")
    if dry_run:
        _run_gated(lambda: ops.rollback(_backend(), reporter(), timeout=seconds, objective=limit, dry_run=True),
                   _outcome_text)
        return
    with command_lock(wait):
        backend = _backend()
        confirm_by_name(settings().env.name, yes, "swapping production back to the previous release")
        _run_gated(lambda: ops.rollback(backend, reporter(), timeout=seconds, objective=limit), _outcome_text)
