"""Running Locust headless, watching the load generator's CPU, and judging the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl.errors import DependencyError, OperationFailed
from augeoctl.loadtest.gates import GateResult, Profile, evaluate, read_stats
from augeoctl.progress import Reporter

SATURATED = 90.0  # % of one core: Locust's own warning level; latencies are then suspect


@dataclass(frozen=True)
class RunResult:
    profile: str
    host: str
    started_at: datetime
    seconds: float
    workers: int
    gates: tuple[GateResult, ...]
    generator_cpu_max: float | None
    generator_saturated: bool
    results_dir: str
    totals: dict[str, Any]

    @property
    def verdict(self) -> str:
        if self.generator_saturated:
            return "INVALID"
        return "PASS" if all(g.passed for g in self.gates) else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["gates"] = [asdict(g) for g in self.gates]
        d["started_at"] = self.started_at.isoformat()
        d["verdict"] = self.verdict
        return d


def check_reachable(host: str) -> None:
    try:
        with urllib.request.urlopen(host.rstrip("/") + "/health", timeout=5):
            pass
    except urllib.error.HTTPError:
        return  # it answers: reachable
    except (urllib.error.URLError, OSError) as exc:
        raise DependencyError(f"the target {host} is unreachable: {getattr(exc, 'reason', exc)}",
                              hint="start it (`augeoctl sandbox up`) or pass --host") from None


class CpuSampler:
    """CPU of a process tree, sampled from /proc: the highest share of one core any process used."""

    def __init__(self, root_pid: int) -> None:
        self.root = root_pid
        self.last: dict[int, tuple[float, int]] = {}
        self.max_percent = 0.0
        self.ticks = float(os.sysconf("SC_CLK_TCK"))

    def _tree(self) -> list[int]:
        pids: list[int] = [self.root]
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        i = 0
        while i < len(pids):
            pids.extend(children.get(pids[i], []))
            i += 1
        return pids

    def sample(self) -> None:
        now = time.monotonic()
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    f = fh.read().rsplit(")", 1)[1].split()
                used = int(f[11]) + int(f[12])
            except (OSError, ValueError, IndexError):
                continue
            if pid in self.last:
                t0, u0 = self.last[pid]
                if now > t0:
                    self.max_percent = max(self.max_percent, 100.0 * (used - u0) / self.ticks / (now - t0))
            self.last[pid] = (now, used)


def run(profile: Profile, host: str, locustfile: Path, results_dir: Path, reporter: Reporter,
        workers: int | None = None) -> RunResult:
    check_reachable(host)
    results_dir.mkdir(parents=True, exist_ok=True)
    prefix = results_dir / "locust"
    processes = workers if workers is not None else (os.cpu_count() or 1)
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host,
           "-u", str(profile.users), "-r", str(profile.spawn_rate), "-t", profile.run_time,
           "--csv", str(prefix), "--html", str(results_dir / "report.html"), "--only-summary",
           "--stop-timeout", "5", "--exit-code-on-error", "0"]
    if processes > 1:
        cmd += ["--processes", str(processes)]
    started = datetime.now(UTC)
    t0 = time.monotonic()
    log = results_dir / "locust.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    sampler = CpuSampler(proc.pid)
    deadline = t0 + profile.run_seconds + 120
    with reporter.step(f"Locust: {profile.users} users for {profile.run_time} against {host}"):
        while proc.poll() is None:
            sampler.sample()
            elapsed = time.monotonic() - t0
            reporter.status(f"{elapsed:.0f} of {profile.run_seconds:.0f} s; generator CPU max "
                            f"{sampler.max_percent:.0f}%")
            if time.monotonic() > deadline:
                proc.kill()
                raise OperationFailed(f"Locust did not stop; see {log}")
            time.sleep(1.0)
    seconds = time.monotonic() - t0
    stats_csv = Path(f"{prefix}_stats.csv")
    if proc.returncode not in (0, None) or not stats_csv.exists():
        tail = log.read_text()[-800:] if log.exists() else ""
        raise OperationFailed(f"Locust failed (exit {proc.returncode}): {tail}")
    stats = read_stats(stats_csv)
    warned = "CPU usage above 90%" in log.read_text()
    agg = stats.get("Aggregated")
    result = RunResult(
        profile=profile.name, host=host, started_at=started, seconds=round(seconds, 1), workers=processes,
        gates=tuple(evaluate(profile, stats)), generator_cpu_max=round(sampler.max_percent, 1),
        generator_saturated=warned or sampler.max_percent >= SATURATED, results_dir=str(results_dir),
        totals=asdict(agg) if agg else {},
    )
    (results_dir / "summary.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    return result
