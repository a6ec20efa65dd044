"""``augeoctl loadtest``: Locust runs judged by SLO gates, and their Azure Load Testing export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from augeoctl.cli.common import common_options, emit, reporter, settings, table
from augeoctl.errors import UsageError, VerdictFailed

ROOT = Path(__file__).resolve().parents[2]


def _slo(path: str | None) -> Path:
    return Path(path) if path else ROOT / "loadtests" / "slo.toml"


def _host(host: str | None) -> str:
    s = settings()
    if host:
        return host
    if s.env.is_local:
        from augeoctl.local.sandbox import Sandbox

        app = Sandbox(s.home, s.env.settings).ensure_up(reporter()).app
        if app is None or not app.url:
            raise UsageError("the sandbox has no reference service", hint="run `augeoctl sandbox up`")
        return app.url
    if s.env.get("api_url"):
        return str(s.env.get("api_url"))
    raise UsageError(f'environment "{s.env.name}" has no api_url', hint="pass --host or set api_url")


def _text(r: dict[str, Any]) -> str:
    rows = [[g["scope"], g["gate"], f"{g['threshold']:g}", "-" if g["measured"] is None else f"{g['measured']:g}",
             "pass" if g["passed"] else "FAIL"] for g in r["gates"]]
    t = r["totals"]
    lines = [f"load test {r['profile']} against {r['host']}: {r['verdict']}",
             f"{t.get('requests', 0)} requests, {t.get('failures', 0)} failures, {t.get('rps', 0):.1f} req/s; "
             f"generator CPU max {r['generator_cpu_max']}% of a core over {r['workers']} process(es)", "",
             table(rows, ["SCOPE", "GATE", "THRESHOLD", "MEASURED", "RESULT"]), "",
             f"results: {r['results_dir']} (report.html, locust_stats.csv, summary.json)"]
    if r["generator_saturated"]:
        lines.insert(1, "INVALID: the load generator saturated a core; the latencies measured are not trustworthy")
    return "\n".join(lines)


@click.group()
def loadtest() -> None:
    """Locust load tests with SLO gates (average, percentiles, errors, throughput)."""


@loadtest.command("run")
@click.option("--profile", default="smoke", show_default=True, help="SLO profile from the SLO file.")
@click.option("--host", help="Target URL (default: the environment's service).")
@click.option("--workers", type=int, help="Locust worker processes (default: one per core).")
@click.option("--slo-file", type=click.Path(dir_okay=False), help="SLO profiles (default loadtests/slo.toml).")
@click.option("--locustfile", type=click.Path(dir_okay=False), help="Default loadtests/locustfile.py.")
@click.option("--results", type=click.Path(file_okay=False), help="Results folder (default results/TIMESTAMP).")
@click.option("--run-time", help="Override the profile's duration (e.g. 90s).")
@common_options
def run_cmd(profile: str, host: str | None, workers: int | None, slo_file: str | None, locustfile: str | None,
            results: str | None, run_time: str | None) -> None:
    """Run a profile headless and judge it: exit 0 when every gate holds, 4 when one fails
    or the generator saturated, 3 when the target is unreachable."""
    from augeoctl.loadtest.gates import get_profile
    from augeoctl.loadtest.run import run

    prof = get_profile(_slo(slo_file), profile)
    if run_time:
        from dataclasses import replace

        from augeoctl.timeparse import parse_duration

        parse_duration(run_time)
        prof = replace(prof, run_time=run_time)
    if workers is not None and workers < 1:
        raise UsageError("--workers must be at least 1")
    lf = Path(locustfile) if locustfile else ROOT / "loadtests" / "locustfile.py"
    if not lf.exists():
        raise UsageError(f"locustfile {lf} does not exist")
    out = Path(results) if results else Path("results") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = run(prof, _host(host), lf, out, reporter(), workers)
    data = result.to_dict()
    emit(data, _text)
    if result.verdict != "PASS":
        failed = [f"{g.scope} {g.gate}" for g in result.gates if not g.passed]
        raise VerdictFailed(f"load test {result.verdict}: " + (", ".join(failed) or "generator saturated"))


@loadtest.command("export-azure")
@click.option("--profile", default="peak-1000", show_default=True)
@click.option("--host", help="Target URL (default: the environment's api_url).")
@click.option("--slo-file", type=click.Path(dir_okay=False))
@click.option("--test-id", default=None, help="Azure Load Testing test id (default augeoctl-PROFILE).")
@common_options
def export_azure(profile: str, host: str | None, slo_file: str | None, test_id: str | None) -> None:
    """Write an Azure Load Testing config (testType: Locust, failureCriteria from the gates)."""
    from augeoctl.loadtest.azure import export_yaml
    from augeoctl.loadtest.gates import get_profile

    prof = get_profile(_slo(slo_file), profile)
    s = settings()
    target = host or s.env.get("api_url") or "https://api.example.invalid"
    yaml_text = export_yaml(prof, test_id=test_id or f"augeoctl-{profile}", host=str(target))
    emit({"profile": profile, "yaml": yaml_text}, lambda r: r["yaml"].rstrip())
