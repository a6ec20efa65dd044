"""Latency over a run and p95 across runs: pure functions over Locust's stats history and the
kept runs, and the CLI around them (no Locust here; real runs are in test_loadtest.py).

``samples/smoke_stats_history.csv`` and ``samples/smoke_stats.csv`` are the CSVs of one real
run (``augeoctl loadtest run --profile smoke --run-time 10s --workers 1`` against the
sandbox's reference service).
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from augeoctl import charts
from augeoctl.cli import cli
from augeoctl.loadtest import history, timeline
from augeoctl.loadtest.gates import get_profile, read_stats
from augeoctl.loadtest.run import RunResult
from augeoctl.loadtest.timeline import gate_lines, latency_chart, latency_series, parse_history
from tests.conftest import REPO

SAMPLES = Path(__file__).parent / "samples"
HISTORY_CSV = SAMPLES / "smoke_stats_history.csv"
STATS_CSV = SAMPLES / "smoke_stats.csv"
SLO = REPO / "loadtests" / "slo.toml"


def sample_points() -> list[timeline.Point]:
    return parse_history(HISTORY_CSV.read_text())


# -- the stats history ----------------------------------------------------------------------

def test_the_sample_is_read_row_by_row_from_the_start_of_the_run() -> None:
    points = sample_points()
    rows = HISTORY_CSV.read_text().splitlines()[1:]
    assert len(points) == len(rows)
    assert points[0].seconds == 0 and [p.seconds for p in points] == sorted(p.seconds for p in points)
    first = points[0]  # Locust's first row: no request yet, its percentiles "N/A"
    assert first.requests == 0 and first.p95_ms is None and first.avg_ms is None
    assert all(p.p95_ms is not None for p in points[1:])


def test_the_last_row_agrees_with_the_final_statistics_the_gates_judge() -> None:
    last = sample_points()[-1]
    final = read_stats(STATS_CSV)["Aggregated"]
    assert last.requests == final.requests and last.failures == final.failures
    assert last.avg_ms == pytest.approx(final.avg_ms)


def test_rows_of_single_requests_are_left_out() -> None:
    # --csv-full-history adds a row per request name beside each Aggregated row
    header, *rows = HISTORY_CSV.read_text().splitlines()
    extra = rows[-1].replace(",,Aggregated,", ",GET,GET /api/stats,").replace(",4,5,5,8,13,15,20,", ",900,900,900,900,900,900,900,")
    points = parse_history("\n".join([header, *rows, extra]) + "\n")
    assert len(points) == len(rows) and max(p.p50_ms or 0 for p in points) < 900


def test_an_empty_or_missing_history_has_no_points(tmp_path: Path) -> None:
    assert parse_history("") == []
    assert parse_history(HISTORY_CSV.read_text().splitlines()[0] + "\n") == []
    assert timeline.read_history(tmp_path / "absent.csv") == []


def test_series_carry_every_value_and_skip_the_rows_without_one() -> None:
    points = sample_points()
    series = latency_series(points)
    assert list(series) == ["p50", "p95", "p99", "average since start"]
    assert series["p95"] == [(p.seconds, p.p95_ms) for p in points if p.p95_ms is not None]
    assert len(series["average since start"]) == len(points) - 1
    assert all(p50 <= p99 for (_, p50), (_, p99) in zip(series["p50"], series["p99"], strict=True))


# -- the gates as lines ---------------------------------------------------------------------

@pytest.mark.parametrize(("profile", "lines"), [
    ("smoke", {"p95 gate 1000 ms": 1000, "p99 gate 2000 ms": 2000, "avg gate 500 ms": 500}),
    ("baseline", {"p50 gate 300 ms": 300, "p95 gate 1000 ms": 1000, "p99 gate 2000 ms": 2000,
                  "avg gate 500 ms": 500}),
])
def test_the_profiles_latency_gates_become_lines(profile: str, lines: dict[str, float]) -> None:
    assert gate_lines(get_profile(SLO, profile).gates) == lines  # error_rate and min_rps are not ms


def test_the_latency_chart_draws_each_series_against_its_gate_in_its_colour() -> None:
    gates = get_profile(SLO, "smoke").gates
    chart = latency_chart("smoke", gates, sample_points())
    assert chart.log_y and chart.lines == gate_lines(gates)
    assert chart.colors["p95 gate 1000 ms"] == chart.colors["p95"]
    assert chart.colors["avg gate 500 ms"] == chart.colors["average since start"]
    drawing = charts.svg(chart)
    dashed = re.findall(r'<line x1="70" [^>]*stroke="([^"]+)" stroke-dasharray', drawing)
    assert sorted(dashed) == sorted(chart.colors[name] for name in chart.lines)
    assert len(re.findall("<circle ", drawing)) == sum(len(p) for p in chart.series.values())
    for name in chart.lines:
        assert f">{name}</text>" in drawing
    assert "horizontal lines: p95 gate 1000 ms at 1000" in charts.terminal(chart)


def test_a_value_under_a_millisecond_stays_on_the_log_scale() -> None:
    p = timeline.Point(1.0, 1, 1.0, 0.0, 0.0, 0.0, 0.4, 1, 0)
    chart = latency_chart("x", {}, [p])
    assert all(y == timeline.FLOOR_MS for pts in chart.series.values() for _, y in pts)


def test_the_chart_is_written_beside_the_results(tmp_path: Path) -> None:
    assert timeline.write_chart(tmp_path, "smoke", {"p95_ms": 1000}) is None  # Locust wrote no history
    shutil.copy(HISTORY_CSV, tmp_path / timeline.HISTORY_FILE)
    path = timeline.write_chart(tmp_path, "smoke", {"p95_ms": 1000})
    assert path == tmp_path / "latency.svg" and "p95 gate 1000 ms" in path.read_text()


# -- the history of runs --------------------------------------------------------------------

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def summary(profile: str = "smoke", minutes: int = 0, p95: float = 15.0, verdict: str = "PASS",
            gate: float | None = 1000.0, requests: int = 77, results_dir: str = "results/x") -> dict[str, Any]:
    """A run's summary.json as RunResult.to_dict() makes it."""
    gates = [{"scope": "global", "gate": "avg_ms", "threshold": 500.0, "measured": 6.0, "passed": True}]
    if gate is not None:
        gates.append({"scope": "global", "gate": "p95_ms", "threshold": gate, "measured": p95,
                      "passed": p95 <= gate})
    return {"profile": profile, "host": "http://127.0.0.1:1", "started_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "seconds": 10.0, "mode": "standalone", "workers": 1, "gates": gates, "verdict": verdict,
            "results_dir": results_dir, "latency_svg": f"{results_dir}/latency.svg",
            "totals": {"name": "Aggregated", "requests": requests, "failures": 0, "avg_ms": 6.0, "p50_ms": 4.0,
                       "p95_ms": p95, "p99_ms": 49.0, "rps": 8.5}}


def test_runs_are_kept_one_file_each_and_listed_newest_first(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = history.save(tmp_path, summary(minutes=0), "local")
    again = history.save(tmp_path, summary(minutes=0), "local")  # the same second: a file of its own
    history.save(tmp_path, summary("baseline", minutes=5, p95=300), "local")
    history.save(tmp_path, summary(minutes=9), "staging")
    assert first != again and first.parent == tmp_path / "loadtests"
    runs = history.load(tmp_path, "local")
    assert [r["profile"] for r in runs] == ["baseline", "smoke", "smoke"]
    assert runs[0]["results_dir"] == str(tmp_path / "results" / "x")  # absolute: --results may be relative
    assert [r["id"] for r in history.load(tmp_path, "local", "smoke")] == [again.stem, first.stem]
    assert len(history.load(tmp_path)) == 4 and history.load(tmp_path / "nowhere") == []


def test_a_file_that_is_not_a_run_is_passed_over(tmp_path: Path) -> None:
    history.save(tmp_path, summary(), "local")
    (tmp_path / "loadtests" / "run-broken.json").write_text("{")
    (tmp_path / "loadtests" / "run-list.json").write_text("[]")
    (tmp_path / "loadtests" / "run-other.json").write_text('{"profile": "x"}')
    assert len(history.load(tmp_path, "local")) == 1


def test_a_row_has_the_p95_its_gate_and_the_verdict() -> None:
    r = history.row(dict(summary(p95=1200, verdict="FAIL"), id="run-1", environment="local"))
    assert (r["p95_ms"], r["p95_gate_ms"], r["verdict"]) == (1200, 1000, "FAIL")
    empty = history.row(dict(summary(requests=0, gate=None), id="run-2"))
    assert empty["p95_ms"] is None and empty["p95_gate_ms"] is None


def rows(*summaries: dict[str, Any]) -> list[dict[str, Any]]:
    """history.row()s of the given summaries, newest first as load() lists them."""
    kept = [dict(s, id=f"run-{i}", environment="local") for i, s in enumerate(summaries)]
    return [history.row(s) for s in sorted(kept, key=lambda s: s["started_at"], reverse=True)]


def test_p95_is_a_series_per_profile_along_the_runs() -> None:
    chart = history.p95_chart(rows(summary(minutes=0, p95=15), summary("baseline", minutes=1, p95=300),
                                   summary(minutes=2, p95=20), summary(minutes=3, p95=0, requests=0)))
    assert chart.series == {"p95 smoke": [(1.0, 15.0), (3.0, 20.0)], "p95 baseline": [(2.0, 300.0)]}
    assert chart.lines == {"p95 gate 1000 ms": 1000.0}  # shared by every profile: one line
    assert [label for _, label in chart.x_ticks][:2] == ["11-28 09:00", "11-28 09:01"]


def test_each_profile_has_its_own_gate_line_unless_they_share_it() -> None:
    chart = history.p95_chart(rows(summary(minutes=0, gate=1000), summary("peak", minutes=1, gate=800),
                                   summary("baseline", minutes=2, gate=1000), summary(minutes=3, gate=900)))
    # the newest run's gate stands for its profile
    assert chart.lines == {"p95 gate 900 ms (smoke)": 900, "p95 gate 800 ms (peak)": 800,
                           "p95 gate 1000 ms (baseline)": 1000}
    assert chart.colors["p95 gate 800 ms (peak)"] == chart.colors["p95 peak"]


# -- the CLI --------------------------------------------------------------------------------

@pytest.fixture()
def runner(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"AUGEO_HOME": str(tmp_path), "AUGEO_ENV": None, "AUGEO_CONFIG": None,
                          "AUGEO_OUTPUT": None, "XDG_CONFIG_HOME": str(tmp_path / "none")})


def test_history_lists_runs_as_text_json_and_tsv(runner: CliRunner, tmp_path: Path) -> None:
    empty = runner.invoke(cli, ["loadtest", "history"], catch_exceptions=False)
    assert empty.exit_code == 0 and "no load tests yet on local" in empty.stdout
    assert runner.invoke(cli, ["loadtest", "history", "-o", "json"]).stdout.count('"runs": []') == 1
    history.save(tmp_path, summary(minutes=0, p95=15), "local")
    history.save(tmp_path, summary("baseline", minutes=1, p95=1200, verdict="FAIL"), "local")
    text = runner.invoke(cli, ["loadtest", "history"], catch_exceptions=False)
    assert text.exit_code == 0
    assert re.search(r"baseline\s+FAIL\s+1200 ms\s+1000 ms", text.stdout)
    assert text.stdout.index("baseline") < text.stdout.index("smoke")
    data = json.loads(runner.invoke(cli, ["loadtest", "history", "--profile", "smoke", "-o", "json"],
                                    catch_exceptions=False).stdout)
    assert data["environment"] == "local" and [r["p95_ms"] for r in data["runs"]] == [15.0]
    tsv = runner.invoke(cli, ["loadtest", "history", "-o", "tsv", "--limit", "1"], catch_exceptions=False).stdout
    header, *lines = tsv.splitlines()
    assert len(lines) == 1 and dict(zip(header.split("\t"), lines[0].split("\t"), strict=True))["verdict"] == "FAIL"


def test_history_plot_draws_p95_per_profile_against_the_gate(runner: CliRunner, tmp_path: Path) -> None:
    history.save(tmp_path, summary(minutes=0, p95=15), "local")
    history.save(tmp_path, summary("baseline", minutes=1, p95=300), "local")
    r = runner.invoke(cli, ["loadtest", "history", "--plot", "-o", "json"], catch_exceptions=False)
    svg = Path(json.loads(r.stdout)["plot"])  # stdout is the JSON alone
    assert svg == tmp_path / "loadtests" / "p95-history.svg"
    drawing = svg.read_text()
    assert "p95 gate 1000 ms" in drawing and len(re.findall("<circle ", drawing)) == 2
    text = runner.invoke(cli, ["loadtest", "history", "--plot"], catch_exceptions=False).stdout
    assert "horizontal lines: p95 gate 1000 ms at 1000" in text and f"svg: {svg}" in text


def fake_run(profile, host, locustfile, results_dir: Path, reporter, topology=None) -> RunResult:
    """Stands in for a Locust run: the sample's CSVs in the results folder, judged as run() does."""
    from augeoctl.loadtest.gates import evaluate

    results_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(HISTORY_CSV, results_dir / timeline.HISTORY_FILE)
    stats = read_stats(STATS_CSV)
    drawn = timeline.write_chart(results_dir, profile.name, profile.gates)
    return RunResult(profile=profile.name, host=host, started_at=T0, seconds=10.0, mode="standalone", workers=1,
                     gates=tuple(evaluate(profile, stats)), generator_cpu_max=1.0, generator_saturated=False,
                     generator_notes=(), results_dir=str(results_dir), totals={"requests": 77, "p95_ms": 15.0},
                     latency_svg=str(drawn))


@pytest.mark.parametrize(("output", "terminal", "drawn"), [
    ("text", True, True), ("text", False, False), ("json", True, False), ("tsv", True, False)])
def test_a_run_is_drawn_on_stdout_only_as_text_on_a_terminal(runner: CliRunner, tmp_path: Path, monkeypatch,
                                                             output: str, terminal: bool, drawn: bool) -> None:
    import augeoctl.cli.loadtest as cli_loadtest
    import augeoctl.loadtest.run as run_module

    monkeypatch.setattr(run_module, "run", fake_run)
    monkeypatch.setattr(cli_loadtest, "_stdout_is_terminal", lambda: terminal)
    out = tmp_path / "r"
    r = runner.invoke(cli, ["loadtest", "run", "--profile", "smoke", "--workers", "1", "--host", "http://127.0.0.1:9",
                            "--results", str(out), "-o", output], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert ("horizontal lines: p95 gate 1000 ms at 1000" in r.stdout) is drawn
    if output == "json":
        assert json.loads(r.stdout)["latency_svg"] == str(out / "latency.svg")
    assert [k["results_dir"] for k in history.load(tmp_path, "local")] == [str(out)]
