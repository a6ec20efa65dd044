"""Load tests: gates as pure functions, and real Locust runs against loopback servers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from augeoctl.errors import ConfigError, UsageError
from augeoctl.loadtest.azure import criteria, export_yaml
from augeoctl.loadtest.gates import (
    EndpointStats,
    Profile,
    evaluate,
    get_profile,
    load_profiles,
    read_stats,
)
from augeoctl.loadtest.timeline import gate_lines, latency_series, read_history
from augeoctl.local import tools
from tests.conftest import REPO, SandboxHandle, run_cli
from tests.http_server import Answer, JsonServer


def stats(name: str, requests=100, failures=0, avg=100.0, p50=80.0, p95=400.0, p99=900.0, rps=50.0):
    return EndpointStats(name, requests, failures, avg, p50, p95, p99, rps)


PROFILE = Profile("t", 10, 5, "10s",
                  {"avg_ms": 500, "p50_ms": 300, "p95_ms": 1000, "p99_ms": 2000, "error_rate": 0.01, "min_rps": 20},
                  {"GET /api/users/[id]": {"p95_ms": 800}, "POST /api/events": {"avg_ms": 200}})


def by_key(results):
    return {(r.scope, r.gate): r for r in results}


def test_every_gate_passes_on_good_stats() -> None:
    s = {"Aggregated": stats("Aggregated"), "GET /api/users/[id]": stats("GET /api/users/[id]", p95=700),
         "POST /api/events": stats("POST /api/events", avg=150)}
    results = evaluate(PROFILE, s)
    assert len(results) == 8 and all(r.passed for r in results)


@pytest.mark.parametrize(("field", "value", "gate"), [
    ("avg", 501.0, "avg_ms"), ("p50", 301.0, "p50_ms"), ("p95", 1001.0, "p95_ms"), ("p99", 2001.0, "p99_ms"),
    ("failures", 2, "error_rate"), ("rps", 19.9, "min_rps"),
])
def test_each_global_comparison_fails_just_past_its_threshold(field, value, gate) -> None:
    good = {"Aggregated": stats("Aggregated"), "GET /api/users/[id]": stats("GET /api/users/[id]", p95=700),
            "POST /api/events": stats("POST /api/events", avg=150)}
    bad = dict(good, Aggregated=stats("Aggregated", **{field: value}))
    failed = [r for r in evaluate(PROFILE, bad) if not r.passed]
    assert [(r.scope, r.gate) for r in failed] == [("global", gate)]
    assert failed[0].measured is not None


def test_endpoint_gates_and_missing_endpoints_fail() -> None:
    s = {"Aggregated": stats("Aggregated"), "GET /api/users/[id]": stats("GET /api/users/[id]", p95=850)}
    r = by_key(evaluate(PROFILE, s))
    assert not r[("GET /api/users/[id]", "p95_ms")].passed
    missing = r[("POST /api/events", "avg_ms")]
    assert not missing.passed and missing.measured is None


def test_profiles_file_is_validated(tmp_path: Path) -> None:
    profiles = load_profiles(REPO / "loadtests" / "slo.toml")
    assert {"smoke", "baseline", "peak-1000"} <= set(profiles)
    assert profiles["peak-1000"].users == 1000 and profiles["peak-1000"].gates["p95_ms"] == 1000
    assert profiles["peak-1000"].gates["avg_ms"] == 500
    bad = tmp_path / "slo.toml"
    bad.write_text('[profiles.x]\nusers = 1\nspawn_rate = 1\nrun_time = "5s"\n[profiles.x.gates]\np42_ms = 1\n')
    with pytest.raises(ConfigError, match="unknown key profiles.x.gates.p42_ms") as err:
        load_profiles(bad)
    assert "did you mean" in (err.value.hint or "") and "p95_ms" in (err.value.hint or "")
    bad.write_text('[profiles.x]\nusers = 1\nspawn_rate = 1\nrun_time = "5s"\nuser = 2\n[profiles.x.gates]\n')
    with pytest.raises(ConfigError, match="unknown key profiles.x.user") as err:
        load_profiles(bad)
    assert "did you mean users" in (err.value.hint or "")
    bad.write_text('[profiles.x]\nusers = 1\nspawn_rate = 1\nrun_time = "soon"\n[profiles.x.gates]\n')
    with pytest.raises(ConfigError, match="profiles.x.run_time"):
        load_profiles(bad)
    with pytest.raises(UsageError, match="no SLO profile"):
        get_profile(REPO / "loadtests" / "slo.toml", "nope")


def test_profile_numbers_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "slo.toml"
    for users, rate, message in (("0", "1", "users"), ('"ten"', "1", "users"), ("5", "0", "spawn_rate")):
        bad.write_text(f'[profiles.x]\nusers = {users}\nspawn_rate = {rate}\nrun_time = "5s"\n'
                       "[profiles.x.gates]\np95_ms = 1\n")
        with pytest.raises(ConfigError, match=message):
            load_profiles(bad)


def test_locust_csv_names_carry_the_method_once(tmp_path: Path) -> None:
    csv = tmp_path / "x_stats.csv"
    csv.write_text("Type,Name,Request Count,Failure Count,Average Response Time,Requests/s,50%,95%,99%\n"
                   "GET,GET /api/stats,4,0,2,1,2,3,4\nPOST,/api/events,2,0,2,1,2,3,4\n,Aggregated,6,0,2,2,2,3,4\n")
    assert set(read_stats(csv)) == {"GET /api/stats", "POST /api/events", "Aggregated"}


def test_locust_csv_is_read(tmp_path: Path) -> None:
    csv = tmp_path / "x_stats.csv"
    csv.write_text(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
        "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
        "99.99%,100%\n"
        "GET,/api/users/[id],10,1,5,6.5,1,20,100,2.5,0.1,5,6,7,8,9,12,15,18,20,20,20\n"
        ",Aggregated,10,1,5,6.5,1,20,100,2.5,0.1,5,6,7,8,9,12,15,18,20,20,20\n")
    s = read_stats(csv)
    assert s["GET /api/users/[id]"].p95_ms == 12 and s["Aggregated"].error_rate == 0.1


def test_azure_load_testing_yaml_has_the_documented_shape() -> None:
    prof = get_profile(REPO / "loadtests" / "slo.toml", "peak-1000")
    doc = yaml.safe_load(export_yaml(prof, test_id="augeoctl-peak-1000", host="https://api.example.test"))
    assert doc["version"] == "v0.1" and doc["testType"] == "Locust"
    assert doc["testPlan"] == "locustfile.py" and doc["engineInstances"] == 4
    env = {e["name"]: e["value"] for e in doc["env"]}
    assert env["LOCUST_USERS"] == "1000" and env["LOCUST_HOST"] == "https://api.example.test"
    pattern = re.compile(r"^(?:[^:]+: )?(avg|min|max|p50|p90|p95|p99|percentage|count)"
                         r"\((response_time_ms|error|requests_per_sec|latency)\) [<>] \d+(\.\d+)?$")
    assert all(pattern.match(c) for c in doc["failureCriteria"]), doc["failureCriteria"]
    assert "avg(response_time_ms) > 500" in doc["failureCriteria"]
    assert "p95(response_time_ms) > 1000" in doc["failureCriteria"]
    assert "GET /api/users/[id]: p95(response_time_ms) > 1000" in doc["failureCriteria"]
    assert "percentage(error) > 1" in doc["failureCriteria"]
    assert "avg(requests_per_sec) < 200" in doc["failureCriteria"]
    assert len(doc["description"]) <= 100 and env["LOCUST_RUN_TIME"] == "300s"
    r = run_cli("loadtest", "export-azure", "--profile", "smoke", "--host", "https://api.example.test")
    assert r.returncode == 0 and "testType: Locust" in r.stdout
    assert yaml.safe_load(r.stdout)["testId"] == "augeoctl-smoke"


def test_azure_criteria_use_whole_milliseconds_and_stay_as_strict() -> None:
    lines = criteria({"p95_ms": 999.7, "error_rate": 0.005, "min_rps": 12.345}, request="GET /x")
    assert lines == ["GET /x: percentage(error) > 0.5", "GET /x: avg(requests_per_sec) < 12.35",
                     "GET /x: p95(response_time_ms) > 999"]


def test_azure_export_refuses_what_the_service_cannot_take() -> None:
    prof = get_profile(REPO / "loadtests" / "slo.toml", "smoke")
    with pytest.raises(UsageError, match="test id"):
        export_yaml(prof, test_id="Bad Id!", host="https://x.test")
    many = Profile("m", 1, 1, "5s", {}, {f"GET /e{i}": {"p95_ms": 1, "avg_ms": 1} for i in range(26)})
    with pytest.raises(UsageError, match="50"):
        export_yaml(many, test_id="many", host="https://x.test")
    r = run_cli("loadtest", "export-azure", "--profile", "smoke")
    assert r.returncode == 2 and "api_url" in r.stderr


QUICK = """
[profiles.quick]
users = 6
spawn_rate = 6
run_time = "6s"
[profiles.quick.gates]
p95_ms = 1000
error_rate = 0.05
min_rps = 1
[profiles.quick.endpoints."GET /api/users/[id]".gates]
p95_ms = 1000
"""


@pytest.fixture()
def slo(tmp_path: Path) -> Path:
    p = tmp_path / "slo.toml"
    p.write_text(QUICK)
    return p


@pytest.mark.integration
def test_smoke_run_against_the_sandbox_service_passes_on_two_processes(sandbox: SandboxHandle, slo, tmp_path) -> None:
    out = tmp_path / "results"
    r = run_cli("loadtest", "run", "--profile", "quick", "--slo-file", str(slo), "--workers", "2",
                "--results", str(out), "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    data = r.json()
    assert data["verdict"] == "PASS" and data["workers"] == 2
    assert data["totals"]["requests"] > 0 and data["generator_cpu_max"] is not None
    endpoint = [g for g in data["gates"] if g["scope"] == "GET /api/users/[id]"]
    assert endpoint and endpoint[0]["measured"] is not None  # the request names match the profile
    for name in ("report.html", "locust_stats.csv", "summary.json"):
        assert (out / name).exists()
    assert json.loads((out / "summary.json").read_text())["verdict"] == "PASS"


@pytest.mark.integration
def test_a_smoke_run_draws_its_latency_against_the_gates_and_joins_the_history(sandbox: SandboxHandle,
                                                                                tmp_path) -> None:
    out = tmp_path / "smoke"
    r = run_cli("loadtest", "run", "--profile", "smoke", "--run-time", "6s", "--workers", "1",
                "--results", str(out), "-o", "json", home=sandbox.home)
    data = r.json()  # stdout is the result alone: nothing drawn on it with -o json
    assert r.returncode == (0 if data["verdict"] == "PASS" else 4), r  # the verdict is not this test's matter
    svg = Path(data["latency_svg"])
    assert svg == out / "latency.svg" and json.loads((out / "summary.json").read_text())["latency_svg"] == str(svg)
    drawing = svg.read_text()
    gates = get_profile(REPO / "loadtests" / "slo.toml", "smoke").gates
    for label in ("avg gate 500 ms", "p95 gate 1000 ms", "p99 gate 2000 ms"):
        assert f">{label}</text>" in drawing
    assert len(re.findall(r'<line x1="70" [^>]*stroke-dasharray', drawing)) == len(gate_lines(gates)) == 3
    values = latency_series(read_history(out / "locust_stats_history.csv"))
    assert values["p95"] and len(re.findall("<circle ", drawing)) == sum(len(v) for v in values.values())

    listed = run_cli("loadtest", "history", "--profile", "smoke", "-o", "json", home=sandbox.home)
    assert listed.returncode == 0, listed
    run = next(x for x in listed.json()["runs"] if x["results_dir"] == str(out))
    assert (run["verdict"], run["p95_ms"], run["p95_gate_ms"]) == (data["verdict"], data["totals"]["p95_ms"], 1000)
    assert run["latency_svg"] == str(svg)
    tsv = run_cli("loadtest", "history", "--profile", "smoke", "-o", "tsv", home=sandbox.home).stdout
    assert tsv.splitlines()[0].split("\t")[:6] == ["id", "started_at", "profile", "environment", "verdict", "p95_ms"]
    assert str(out) in tsv
    plotted = run_cli("loadtest", "history", "--profile", "smoke", "--plot", "-o", "json", home=sandbox.home)
    chart = Path(plotted.json()["plot"])
    assert chart == sandbox.home / "loadtests" / "p95-history.svg" and "p95 gate 1000 ms" in chart.read_text()


def slow_api(path: str, _headers: Mapping[str, str]) -> Answer:
    if path.startswith("/api/"):
        time.sleep(1.2)  # a deliberately slow endpoint
    return 200, b'{"ok": true}', {}


@pytest.mark.integration
def test_a_slow_endpoint_fails_the_p95_gate(slo, tmp_path) -> None:
    server = JsonServer(slow_api)
    try:
        r = run_cli("loadtest", "run", "--profile", "quick", "--slo-file", str(slo), "--workers", "1",
                    "--host", server.url, "--results", str(tmp_path / "r"),
                    "-o", "json")
    finally:
        server.stop()
    assert r.returncode == 4, r
    failed = [g for g in r.json()["gates"] if not g["passed"]]
    assert {(g["scope"], g["gate"]) for g in failed} == {("global", "p95_ms"), ("GET /api/users/[id]", "p95_ms")}
    assert all(g["measured"] > 1000 for g in failed)


def test_a_dead_host_fails_with_the_connectivity_code(slo, tmp_path) -> None:
    r = run_cli("loadtest", "run", "--profile", "quick", "--slo-file", str(slo),
                "--host", f"http://127.0.0.1:{tools.free_port()}", "--results", str(tmp_path / "r"))
    assert r.returncode == 3 and "unreachable" in r.stderr


def test_the_gate_table_shows_units() -> None:
    from augeoctl.cli.loadtest import _with_unit

    assert _with_unit("p95_ms", 1000) == "1000 ms" and _with_unit("avg_ms", 17.7) == "17.7 ms"
    assert _with_unit("error_rate", 0.01) == "1 %" and _with_unit("min_rps", 200) == "200 req/s"
    assert _with_unit("p95_ms", None) == "-"
