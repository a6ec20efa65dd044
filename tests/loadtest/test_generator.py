"""The load generator's topology and health verdict, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from augeoctl.errors import UsageError
from augeoctl.loadtest.gates import GateResult
from augeoctl.loadtest.generator import steady_phase
from augeoctl.loadtest.run import SATURATED, RunResult, Topology, judge_generator

# Lines as Locust 2.x writes them (locust/runners.py).
STANDALONE_WARNING = ("[2026-11-24 21:00:05,001] host/WARNING/root: CPU usage above 90%! This may constrain "
                      "your throughput and may even give inconsistent response time measurements! See "
                      "https://docs.locust.io/en/stable/running-distributed.html for how to distribute the load")
MASTER_WARNING = ("[2026-11-24 21:00:05,001] host/WARNING/locust.runners: Worker host_abc (index 1) exceeded "
                  "cpu threshold (will only log this once per worker)")
QUIET_LOG = "[2026-11-24 21:00:00,000] host/INFO/locust.main: Starting Locust 2.47.0\n"


def steady(pct: float, seconds: float = 30.0, start: float = 1000.0, step: float = 1.0) -> list[tuple[float, float]]:
    """Samples of a process using ``pct`` % of a core throughout: (time, cumulative CPU s)."""
    n = round(seconds / step)
    return [(start + i * step, i * step * pct / 100) for i in range(n + 1)]


def then(first: list[tuple[float, float]], pct: float, seconds: float) -> list[tuple[float, float]]:
    """``first``, followed by ``seconds`` more at ``pct`` %."""
    t, used = first[-1]
    return first + [(t + i, used + i * pct / 100) for i in range(1, round(seconds) + 1)]


def test_a_process_at_the_threshold_saturates_and_one_below_does_not() -> None:
    below = judge_generator({101: steady(SATURATED - 0.1), 102: steady(40.0)}, QUIET_LOG)
    assert not below.saturated and below.cpu_max == round(SATURATED - 0.1, 1) and below.reasons == ()
    at = judge_generator({101: steady(40.0), 102: steady(SATURATED)}, QUIET_LOG)
    assert at.saturated and len(at.reasons) == 1
    assert at.reasons[0].startswith(f"Locust process 102 was at or above {SATURATED:.0f}% of a core for 100%")


def test_a_start_up_spike_alone_is_valid() -> None:
    # imports and spawning at 98 % for 3 s, then a quiet run: Locust's steady phase starts
    # when every user is spawned, so the spike is outside it
    series = {101: then(steady(98.0, seconds=3), 20.0, 30)}
    health = judge_generator(series, QUIET_LOG, steady=(1003.0, 1033.0))
    assert not health.saturated and health.cpu_max == 20.0
    assert health.cpu_peak is not None and health.cpu_peak >= 97.9
    assert "busiest process: 20% over 5 s windows" in health.basis and "peak 98%" in health.basis


def test_a_short_spike_inside_the_steady_phase_is_valid_and_sustained_load_is_not() -> None:
    # one 5 s window in 30 s is 17 % of the steady phase: below the share that invalidates
    spike = then(then(steady(30.0, seconds=10), 99.0, 5), 30.0, 15)
    assert not judge_generator({7: spike}, QUIET_LOG).saturated
    sustained = judge_generator({7: steady(95.0, seconds=60)}, QUIET_LOG)
    assert sustained.saturated and sustained.cpu_max == 95.0


def test_a_run_shorter_than_a_window_is_judged_whole() -> None:
    assert judge_generator({7: steady(95.0, seconds=3)}, QUIET_LOG).saturated
    assert not judge_generator({7: steady(50.0, seconds=3)}, QUIET_LOG).saturated


def test_the_steady_phase_is_read_from_locust_s_log() -> None:
    import time

    log = ("[2026-11-24 21:00:01,500] h/INFO/locust.runners: Ramping to 6 users at a rate of 6.00 per second\n"
           "[2026-11-24 21:00:02,250] h/INFO/locust.runners: All users spawned: {\"Journey\": 6} (6 total users)\n"
           "[2026-11-24 21:00:08,000] h/INFO/locust.main: --run-time limit reached, shutting down\n")
    start, end = steady_phase(log)
    base = time.mktime(time.strptime("2026-11-24 21:00:00", "%Y-%m-%d %H:%M:%S"))
    assert (start, end) == (base + 2.25, base + 8.0)
    assert steady_phase(QUIET_LOG) == (None, None)


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
