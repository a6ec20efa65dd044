"""``augeoctl loadtest``: Locust runs judged by SLO gates, their history, and their Azure Load
Testing export."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from importlib.resources import as_file
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import click

from augeoctl.cli.common import common_options, complete_profiles, emit, reporter, settings, table
from augeoctl.errors import UsageError, VerdictFailed


def _slo(path: str | None) -> Path | Traversable:
    from augeoctl.loadtest.gates import SLO_FILE

    return Path(path) if path else SLO_FILE


def _with_unit(gate: str, value: float | None) -> str:
    """A gate's value with its unit: ms for latencies, % for the error rate, req/s for throughput."""
    if value is None:
        return "-"
    if gate.endswith("_ms"):
        return f"{value:g} ms"
    if gate == "error_rate":
        return f"{value * 100:g} %"
    if gate == "min_rps":
        return f"{value:g} req/s"
    return f"{value:g}"


def _text(r: dict[str, Any]) -> str:
    rows = [[g["scope"], g["gate"], _with_unit(g["gate"], g["threshold"]), _with_unit(g["gate"], g["measured"]),
             "pass" if g["passed"] else "FAIL"] for g in r["gates"]]
    t = r["totals"]
    where = {"standalone": "1 process", "local": f"{r['workers']} local workers",
             "master": f"{r['workers']} remote workers"}[r["mode"]]
    cpu = r.get("generator_basis") or "busiest local Locust process: " + (
        "not sampled" if r["generator_cpu_max"] is None else f"{r['generator_cpu_max']:g}% of a core")
    lines = [f"load test {r['profile']} against {r['host']}: {r['verdict']}",
             f"{t.get('requests', 0)} requests, {t.get('failures', 0)} failures, {t.get('rps', 0):.1f} req/s; "
             f"generator: {where}; {cpu}", "",
             table(rows, ["SCOPE", "GATE", "THRESHOLD", "MEASURED", "RESULT"]), "",
             f"results: {r['results_dir']} (report.html, locust_stats.csv, summary.json)"]
    if r.get("latency_svg"):
        lines.append(f"latency over time against the gates: {r['latency_svg']}")
    if r["generator_saturated"]:
        notes = "; ".join(r["generator_notes"])
        lines.insert(1, f"INVALID: the load generator saturated a core ({notes}); the latencies measured are "
                        "not trustworthy: add workers (--workers, --expect-workers) or lower the users")
    return "\n".join(lines)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _history_text(r: dict[str, Any]) -> str:
    if not r["runs"]:
        return f"no load tests yet on {r['environment']}: run `augeoctl loadtest run --profile smoke`"

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:g} ms"

    rows = [[str(x["started_at"])[:19].replace("T", " "), x["profile"], x["verdict"], ms(x["p95_ms"]),
             ms(x["p95_gate_ms"]), str(x["requests"] if x["requests"] is not None else "-"),
             x["results_dir"] or ""] for x in r["runs"]]
    return table(rows, ["STARTED (UTC)", "PROFILE", "VERDICT", "P95", "P95 GATE", "REQUESTS", "RESULTS"])


@click.group()
@common_options
def loadtest() -> None:
    """Locust load tests with SLO gates (average, percentiles, errors, throughput)."""


@loadtest.command("run")
@click.option("--profile", default="smoke", show_default=True, shell_complete=complete_profiles,
              help="SLO profile from the SLO file.")
@click.option("--host", help="Target URL (default: the environment's api_url; locally the sandbox's service).")
@click.option("--workers", type=int, help="Local Locust worker processes (default: one per core; 1 = no master).")
@click.option("--expect-workers", type=int,
              help="Run only a master and wait for N workers from other machines "
                   "(`locust -f loadtests/locustfile.py --worker --master-host HOST`).")
@click.option("--master-bind-host", default="127.0.0.1", show_default=True,
              help="Address the master listens on for remote workers (with --expect-workers).")
@click.option("--master-bind-port", type=int, help="Port the master listens on (default 5557 with --expect-workers).")
@click.option("--worker-wait", type=int, default=120, show_default=True,
              help="Seconds the master waits for its remote workers before giving up (exit 3).")
@click.option("--slo-file", type=click.Path(dir_okay=False),
              help="SLO profiles (default: the packaged ones, as in loadtests/slo.toml).")
@click.option("--locustfile", type=click.Path(dir_okay=False),
              help="Default: the packaged locustfile, as in loadtests/locustfile.py.")
@click.option("--results", type=click.Path(file_okay=False), help="Results folder (default results/TIMESTAMP).")
@click.option("--run-time", help="Override the profile's duration (e.g. 90s).")
@common_options
def run_cmd(profile: str, host: str | None, workers: int | None, expect_workers: int | None,
            master_bind_host: str, master_bind_port: int | None, worker_wait: int, slo_file: str | None, locustfile: str | None,
            results: str | None, run_time: str | None) -> None:
    """Run a profile headless and judge it.

    The run's latency percentiles over time are drawn against its gates as latency.svg in
    the results folder (and in the terminal, when stdout is one); the run is kept in the
    history (`augeoctl loadtest history`).

    Exit codes: 0 every gate holds; 4 a gate failed, or the generator saturated a core
    (verdict INVALID); 3 the target (or a remote worker) is unreachable; 1 Locust failed;
    2 bad input.
    """
    from augeoctl.loadtest import history
    from augeoctl.loadtest.gates import LOCUSTFILE, get_profile
    from augeoctl.loadtest.run import Topology, run
    from augeoctl.loadtest.target import resolve_host, validate_host
    from augeoctl.platform import platform_for

    prof = get_profile(_slo(slo_file), profile)
    from augeoctl.extras import require

    require("loadtest")
    if run_time:
        from augeoctl.timeparse import parse_duration

        parse_duration(run_time)
        prof = replace(prof, run_time=run_time)
    if master_bind_port is not None and expect_workers is None and workers == 1:
        raise UsageError("--master-bind-port needs a master: --expect-workers N, or --workers above 1")
    topology = Topology.choose(workers, expect_workers, master_bind_host, master_bind_port, worker_wait)
    # Locust needs a file on disk: as_file extracts the packaged one when it is not (zip imports).
    lf = Path(locustfile) if locustfile else click.get_current_context().with_resource(as_file(LOCUSTFILE))
    if not lf.is_file():
        raise UsageError(f"locustfile {lf} does not exist")
    if host:
        validate_host(host)  # before anything starts
    out = Path(results) if results else Path("results") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    rep = reporter()
    s = settings()
    result = run(prof, resolve_host(platform_for(s), host, rep), lf, out, rep, topology)
    data = result.to_dict()
    history.save(s.home, data, s.env.name)
    drawing = ""
    if s.output == "text" and result.latency_svg and _stdout_is_terminal():
        from augeoctl import charts
        from augeoctl.loadtest.timeline import chart_for_run

        drawing = "\n\n" + charts.terminal(chart_for_run(Path(result.results_dir), prof.name, prof.gates)).rstrip()
    emit(data, lambda r: _text(r) + drawing)
    if result.verdict != "PASS":
        failed = [f"{g.scope} {g.gate}" for g in result.gates if not g.passed]
        why = ", ".join(failed) if result.verdict == "FAIL" else "the load generator saturated a core"
        raise VerdictFailed(f"load test {result.verdict}: {why}")


@loadtest.command("history")
@click.option("--profile", shell_complete=complete_profiles, help="Only the runs of this SLO profile.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to list.")
@click.option("--plot", is_flag=True,
              help="Also chart p95 per profile across the runs against the p95 gate: in the terminal, and "
                   "as loadtests/p95-history.svg in AUGEO_HOME.")
@common_options
def history_cmd(profile: str | None, limit: int, plot: bool) -> None:
    """List past load tests of the environment with their p95 and verdict (newest first).

    Every finished `loadtest run` is kept (AUGEO_HOME/loadtests), whatever its verdict;
    the listing is of the runs against this command's environment (--env) only.
    """
    from augeoctl.loadtest import history

    s = settings()
    runs = [history.row(r) for r in history.load(s.home, s.env.name, profile)[:limit]]
    result: dict[str, Any] = {"environment": s.env.name, "runs": runs}
    if plot and runs:
        from augeoctl import charts

        drawn = history.draw(runs, s.home)
        result["plot"] = str(drawn.path)
        emit(result, lambda r: f"{_history_text(r)}\n\n{charts.terminal(drawn.chart)}svg: {r['plot']}")
        return
    emit(result, _history_text)


@loadtest.command("export-azure")
@click.option("--profile", default="peak-1000", show_default=True, shell_complete=complete_profiles)
@click.option("--host", help="Target URL (default: the environment's api_url).")
@click.option("--slo-file", type=click.Path(dir_okay=False))
@click.option("--test-id", default=None, help="Azure Load Testing test id (default augeoctl-PROFILE).")
@click.option("--locustfile-name", default="locustfile.py", show_default=True,
              help="testPlan: the locustfile's path relative to the YAML file.")
@common_options
def export_azure(profile: str, host: str | None, slo_file: str | None, test_id: str | None,
                 locustfile_name: str) -> None:
    """Print an Azure Load Testing config (testType: Locust, failureCriteria from the gates)."""
    from augeoctl.loadtest.azure import export_yaml
    from augeoctl.loadtest.gates import get_profile
    from augeoctl.loadtest.target import (
        BASIC_AUTH_VARIABLE,
        redact,
        split_credentials,
        validate_host,
    )

    prof = get_profile(_slo(slo_file), profile)
    s = settings()
    target = host or s.env.get("api_url")
    if not target:
        raise UsageError(f'no target URL: environment "{s.env.name}" has no api_url',
                         hint="pass --host https://api.example.com or use --env with an api_url")
    if split_credentials(validate_host(str(target)))[1] is not None:
        # The YAML is printed and uploaded as the test's configuration: no place for a password.
        raise UsageError(f"the target {redact(str(target))} carries credentials, which the exported "
                         "configuration would print",
                         hint=f"give the host without user:password@ and set {BASIC_AUTH_VARIABLE} "
                              "(user:password) as a secret of the Azure Load Testing test")
    tid = test_id or f"augeoctl-{profile}".lower()
    yaml_text = export_yaml(prof, test_id=tid, host=validate_host(str(target)), locustfile=locustfile_name)
    emit({"profile": profile, "test_id": tid, "yaml": yaml_text}, lambda r: r["yaml"].rstrip())
