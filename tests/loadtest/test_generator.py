"""The load generator's topology and health verdict, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from augeoctl.errors import UsageError
from augeoctl.loadtest.gates import GateResult
from augeoctl.loadtest.run import SATURATED, RunResult, Topology, judge_generator

# Lines as Locust 2.x writes them (locust/runners.py).
STANDALONE_WARNING = ("[2026-11-24 21:00:05,001] host/WARNING/root: CPU usage above 90%! This may constrain "
                      "your throughput and may even give inconsistent response time measurements! See "
                      "https://docs.locust.io/en/stable/running-distributed.html for how to distribute the load")
MASTER_WARNING = ("[2026-11-24 21:00:05,001] host/WARNING/locust.runners: Worker host_abc (index 1) exceeded "
                  "cpu threshold (will only log this once per worker)")
QUIET_LOG = "[2026-11-24 21:00:00,000] host/INFO/locust.main: Starting Locust 2.47.0\n"


def test_a_process_at_the_threshold_saturates_and_one_below_does_not() -> None:
    below = judge_generator({101: SATURATED - 0.1, 102: 40.0}, QUIET_LOG)
    assert not below.saturated and below.cpu_max == round(SATURATED - 0.1, 1) and below.reasons == ()
    at = judge_generator({101: 40.0, 102: SATURATED}, QUIET_LOG)
    assert at.saturated and at.reasons == (f"Locust process 102 reached {SATURATED:.0f}% of a core",)


@pytest.mark.parametrize("line", [STANDALONE_WARNING, MASTER_WARNING,
                                  "x/WARNING/locust.runners: CPU usage threshold was exceeded on workers during "
                                  "the test!"])
def test_locust_s_own_cpu_warnings_saturate_even_when_sampling_saw_nothing(line: str) -> None:
    health = judge_generator({}, QUIET_LOG + line + "\n")
    assert health.saturated and health.cpu_max is None
    assert health.reasons[0].startswith("Locust: ") and "https://" not in health.reasons[0]


def result(saturated: bool, passed: bool) -> RunResult:
    gate = GateResult("global", "p95_ms", 1000, 10.0 if passed else 2000.0, passed)
    return RunResult("t", "http://127.0.0.1:1", datetime.now(UTC), 1.0, "local", 2, (gate,), 95.0 if saturated
                     else 10.0, saturated, (), "/tmp/x", {})


def test_verdict_is_invalid_when_saturated_whatever_the_gates_say() -> None:
    assert result(False, True).verdict == "PASS"
    assert result(False, False).verdict == "FAIL"
    assert result(True, True).verdict == "INVALID"
    assert result(True, False).to_dict()["verdict"] == "INVALID"


def test_topology_defaults_to_one_local_worker_per_core(monkeypatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    t = Topology.choose()
    assert (t.mode, t.workers, t.bind_host) == ("local", 2, "127.0.0.1")
    args = t.locust_args()
    assert args[:2] == ["--processes", "2"]
    # the local master listens on loopback, on a port of its own, and its workers dial it
    assert args[args.index("--master-bind-host") + 1] == "127.0.0.1"
    assert args[args.index("--master-bind-port") + 1] == args[args.index("--master-port") + 1] == str(t.bind_port)
    assert Topology.choose(workers=1).locust_args() == []


def test_topology_for_remote_workers_runs_a_master_only() -> None:
    t = Topology.choose(expect_workers=3, bind_host="0.0.0.0", worker_wait=30)
    assert t.mode == "master" and t.bind_port == 5557
    args = t.locust_args()
    assert "--master" in args and "--processes" not in args
    assert args[args.index("--expect-workers") + 1] == "3"
    assert args[args.index("--expect-workers-max-wait") + 1] == "30"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"workers": 2, "expect_workers": 2}, "exclude"), ({"workers": 0}, "at least 1"),
    ({"expect_workers": 0}, "at least 1"), ({"expect_workers": 1, "bind_port": 70000}, "port"),
    ({"expect_workers": 1, "worker_wait": 0}, "worker-wait"),
])
def test_topology_refuses_bad_input(kwargs, message) -> None:
    with pytest.raises(UsageError, match=message):
        Topology.choose(**kwargs)
