"""Running Locust headless, watching the load generator's CPU, and judging the run.

Three ways to generate the load (``Topology``):

- ``standalone``: one Locust process (``--workers 1``);
- ``local``: Locust's distributed mode on this machine, a master and N worker processes
  talking over loopback (``locust --processes N``), the default being one worker per core;
- ``master``: a master only, bound to ``--master-bind-host``, that waits for N workers
  started on other machines (``locust -f loadtests/locustfile.py --worker --master-host
  HOST``) and runs once they are all connected.

The master (or the single process) writes Locust's CSVs and HTML report; the gates are
evaluated from its ``PREFIX_stats.csv`` by :func:`augeoctl.loadtest.gates.evaluate`, and
its ``PREFIX_stats_history.csv`` is drawn against them (:mod:`augeoctl.loadtest.timeline`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl.errors import DependencyError, OperationFailed, UsageError
from augeoctl.loadtest import timeline
from augeoctl.loadtest.gates import GateResult, Profile, evaluate, read_stats
from augeoctl.loadtest.generator import (  # noqa: F401 (SATURATED: part of this module's face)
    SATURATED,
    WINDOW,
    GeneratorHealth,
    judge_generator,
    steady_phase,
)
from augeoctl.loadtest.target import BASIC_AUTH_VARIABLE, authorization, redact, split_credentials
from augeoctl.local import procs
from augeoctl.local.cpu import CpuSampler
from augeoctl.progress import Reporter

WORKER_WAIT = 120  # seconds a master waits for its remote workers before giving up
_GAVE_UP = "Gave up waiting for workers to connect"


@dataclass(frozen=True)
class Topology:
    """How the load is generated: ``standalone``, ``local`` (master + N local workers) or
    ``master`` (a master waiting for N workers on other machines)."""

    mode: str = "local"
    workers: int = 1
    bind_host: str = "127.0.0.1"
    bind_port: int = 5557
    worker_wait: int = WORKER_WAIT  # seconds a master waits for its workers to connect

    @classmethod
    def choose(cls, workers: int | None = None, expect_workers: int | None = None,
               bind_host: str = "127.0.0.1", bind_port: int | None = None,
               worker_wait: int = WORKER_WAIT) -> Topology:
        """The topology a user asked for; one local worker per core by default."""
        if workers is not None and expect_workers is not None:
            raise UsageError("--workers and --expect-workers exclude each other",
                             hint="--workers N forks N local workers; --expect-workers N waits for remote ones")
        for name, value in (("--workers", workers), ("--expect-workers", expect_workers)):
            if value is not None and value < 1:
                raise UsageError(f"{name} must be at least 1")
        if bind_port is not None and not 0 < bind_port < 65536:
            raise UsageError(f"--master-bind-port {bind_port} is not a port number")
        if worker_wait < 1:
            raise UsageError("--worker-wait must be at least 1 second")
        if expect_workers is not None:
            return cls("master", expect_workers, bind_host, bind_port or 5557, worker_wait)
        n = workers if workers is not None else (os.cpu_count() or 1)
        if n == 1:
            return cls("standalone", 1)
        # Locust's default master port (5557 on every interface) would collide with any other
        # run on this machine: the local master listens on a free loopback port instead.
        return cls("local", n, "127.0.0.1", bind_port or procs.free_port())

    def locust_args(self) -> list[str]:
        if self.mode == "standalone":
            return []
        if self.mode == "local":
            return ["--processes", str(self.workers), "--master-bind-host", self.bind_host,
                    "--master-bind-port", str(self.bind_port), "--master-port", str(self.bind_port)]
        return ["--master", "--expect-workers", str(self.workers), "--expect-workers-max-wait", str(self.worker_wait),
                "--master-bind-host", self.bind_host, "--master-bind-port", str(self.bind_port)]


@dataclass(frozen=True)
class RunResult:
    profile: str
    host: str
    started_at: datetime
    seconds: float
    mode: str
    workers: int
    gates: tuple[GateResult, ...]
    generator_cpu_max: float | None  # busiest process over the steady phase's windows
    generator_saturated: bool
    generator_notes: tuple[str, ...]
    results_dir: str
    totals: dict[str, Any]
    generator_cpu_peak: float | None = None  # highest figure between two samples, start-up included
    generator_basis: str = ""  # how generator_cpu_max was measured
    latency_svg: str | None = None  # p50/p95/p99 over time against the gates, beside the results

    @property
    def verdict(self) -> str:
        """INVALID when the generator saturated (its latencies are not trustworthy), else
        PASS when every gate holds, FAIL otherwise."""
        if self.generator_saturated:
            return "INVALID"
        return "PASS" if all(g.passed for g in self.gates) else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["gates"] = [asdict(g) for g in self.gates]
        d["generator_notes"] = list(self.generator_notes)
        d["started_at"] = self.started_at.isoformat()
        d["verdict"] = self.verdict
        return d


def check_reachable(host: str) -> None:
    """The target answers HTTP at all (any status): otherwise the run cannot mean anything.

    Credentials in the URL (``http://user:password@host``) go in an ``Authorization`` header.
    """
    url, credentials = split_credentials(host)
    request = urllib.request.Request(url.rstrip("/") + "/health")
    if credentials is not None:
        request.add_unredirected_header("Authorization", authorization(credentials))
    try:
        with urllib.request.urlopen(request, timeout=5):
            pass
    except urllib.error.HTTPError:
        return  # it answers: reachable
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = str(getattr(exc, "reason", exc)).replace(host, redact(host))
        raise DependencyError(f"the target {redact(host)} is unreachable: {reason}",
                              hint="start it (`augeoctl sandbox up`) or pass --host") from None


def judge_run(sampler: CpuSampler, log_text: str, profile: Profile, topology: Topology) -> GeneratorHealth:
    """The generator's verdict over the run's steady phase, as Locust's log dates it; when the
    log does not, from the end of the ramp-up (plus one window of grace) to the last sample."""
    first = min((p[0][0] for p in sampler.series.values() if p), default=None)
    last = max((p[-1][0] for p in sampler.series.values() if p), default=None)
    start, end = steady_phase(log_text)
    steady = None
    if first is not None and last is not None:
        ramp = profile.users / profile.spawn_rate
        steady = (start if start is not None else first + ramp + WINDOW,
                  end if end is not None else last)
    return judge_generator(sampler.series, log_text, steady, remote_workers=topology.mode == "master")


def run(profile: Profile, host: str, locustfile: Path, results_dir: Path, reporter: Reporter,
        topology: Topology | None = None) -> RunResult:
    """Run ``profile`` against ``host``, write the results folder and return the verdict."""
    topology = topology or Topology.choose()
    check_reachable(host)
    # Locust sees the host without credentials (its report and CSVs show the host); the
    # locustfile gets them from BASIC_AUTH_VARIABLE. Everything written shows them redacted.
    bare, credentials = split_credentials(host)
    env = {k: v for k, v in os.environ.items() if k != BASIC_AUTH_VARIABLE}
    if credentials is not None:
        env[BASIC_AUTH_VARIABLE] = credentials
    shown = redact(host)
    results_dir.mkdir(parents=True, exist_ok=True)
    prefix = results_dir / timeline.CSV_PREFIX
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", bare,
           "-u", str(profile.users), "-r", f"{profile.spawn_rate:g}", "-t", f"{max(1, round(profile.run_seconds))}s",
           "--csv", str(prefix), "--html", str(results_dir / "report.html"), "--only-summary",
           "--stop-timeout", "5", "--exit-code-on-error", "0", *topology.locust_args()]
    started = datetime.now(UTC)
    t0 = time.monotonic()
    log = results_dir / "locust.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
    sampler = CpuSampler(proc.pid)
    deadline = t0 + profile.run_seconds + 120 + (topology.worker_wait if topology.mode == "master" else 0)
    what = {"standalone": "1 process", "local": f"{topology.workers} local workers",
            "master": f"a master waiting for {topology.workers} workers on {topology.bind_host}:{topology.bind_port}"}
    try:
        with reporter.step(f"Locust: {profile.users} users for {profile.run_time} against {shown} "
                           f"({what[topology.mode]})"):
            while proc.poll() is None:
                sampler.sample()
                reporter.status(f"{time.monotonic() - t0:.0f} of {profile.run_seconds:.0f} s; "
                                f"generator CPU max {sampler.max_percent:.0f}%")
                if time.monotonic() > deadline:
                    raise OperationFailed(f"Locust did not stop by itself; see {log}")
                time.sleep(1.0)
    finally:
        if proc.poll() is None:  # interrupted or overdue: stop the whole Locust process group
            procs.stop(proc.pid, signal.SIGKILL, group=True)
            proc.wait()
    seconds = time.monotonic() - t0
    log_text = log.read_text(errors="replace")
    stats_csv = Path(f"{prefix}_stats.csv")
    if _GAVE_UP in log_text:
        raise DependencyError(f"{topology.workers} Locust worker(s) did not connect to "
                              f"{topology.bind_host}:{topology.bind_port} within {topology.worker_wait} s",
                              hint="start them with `locust -f loadtests/locustfile.py --worker --master-host HOST`")
    if proc.returncode != 0 or not stats_csv.exists():
        raise OperationFailed(f"Locust failed (exit {proc.returncode}): {log_text[-800:]}",
                              hint=f"full log: {log}")
    stats = read_stats(stats_csv)
    health = judge_run(sampler, log_text, profile, topology)
    agg = stats.get("Aggregated")
    drawn = timeline.write_chart(results_dir, profile.name, profile.gates)
    result = RunResult(
        profile=profile.name, host=shown, started_at=started, seconds=round(seconds, 1), mode=topology.mode,
        workers=topology.workers, gates=tuple(evaluate(profile, stats)), generator_cpu_max=health.cpu_max,
        generator_saturated=health.saturated, generator_notes=health.reasons, results_dir=str(results_dir),
        totals=asdict(agg) if agg else {}, generator_cpu_peak=health.cpu_peak, generator_basis=health.basis,
        latency_svg=str(drawn) if drawn else None,
    )
    (results_dir / "summary.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    return result
