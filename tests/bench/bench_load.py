"""Load capacity of the sandbox's reference service: a step profile, each step judged by the
peak-1000 SLO gates, with the CPU of the whole machine and of each process tree sampled.

    python tests/bench/bench_load.py [--steps 500,1000,1500,2000] [--step-time 60s] [--workers N]
                                     [--service-workers N]

Each step is one ``augeoctl loadtest run`` of ``--step-time`` with that many users
(spawned at 50/s; the locustfile's think time of 0.5-2 s per user sets the offered load,
about users / 1.25 requests per second), judged by the peak-1000 gates (avg < 500 ms,
p95 < 1 s, errors < 1 %), in one fresh sandbox. While it runs, /proc is sampled every
second: the whole machine (/proc/stat) and the process trees of the generator (the
loadtest command and its Locust processes), the service (the gunicorn master and its
uvicorn workers), PostgreSQL and Redis.

Capacity is the highest achieved rate of a step whose gates held with the generator
unsaturated (no Locust process at 90 % of a core, which the runner already marks
INVALID). Figures per step: achieved requests/s, latency, the verdict, the cores used by
each tree (CPU seconds / wall seconds), the machine's busy share, and requests/s per core
of service.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from augeoctl.local.cpu import cpu_seconds, process_tree  # noqa: E402
from tests.bench.benchlib import augeoctl_env  # noqa: E402


def machine_times() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [float(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class TreeCpu:
    """CPU seconds used by a process tree over an interval (processes that come and go included)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.sampled = False

    def sample(self) -> None:
        for pid in process_tree(self.root):
            used = cpu_seconds(pid)
            if used is None:
                continue
            # At the first sample, what each process had used before; a process born later counts whole.
            self.first.setdefault(pid, 0.0 if self.sampled else used)
            self.last[pid] = used
        self.sampled = True

    def seconds(self) -> float:
        return sum(self.last[p] - self.first.get(p, 0.0) for p in self.last)


def num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def slo_file(folder: Path, steps: list[int]) -> Path:
    lines = []
    for users in steps:
        lines += [f"[profiles.step-{users}]", f"users = {users}", "spawn_rate = 50", 'run_time = "60s"',
                  f"[profiles.step-{users}.gates]", "avg_ms = 500", "p95_ms = 1000", "p99_ms = 2000",
                  "error_rate = 0.01", "min_rps = 1", ""]
    path = folder / "steps.toml"
    path.write_text("\n".join(lines))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="500,1000,1500,2000", help="users per step, comma-separated")
    ap.add_argument("--step-time", default="60s")
    ap.add_argument("--workers", type=int, default=None, help="Locust worker processes")
    ap.add_argument("--service-workers", type=int, default=1, help="uvicorn workers of the service")
    args = ap.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    home = Path(tempfile.mkdtemp(prefix="augeo-bench-load-", dir="/var/tmp"))
    os.chmod(home, 0o755)
    env = augeoctl_env(home)
    env["AUGEO_SERVICE_WORKERS"] = str(args.service_workers)
    cli = [sys.executable, "-m", "augeoctl"]
    slo = slo_file(home, steps)
    rows = []
    try:
        status = json.loads(subprocess.run([*cli, "sandbox", "up", "-o", "json"], env=env, check=True,
                                           capture_output=True, text=True).stdout)
        trees = {"service": int(status["app"]["pid"]), "postgres": int(status["postgres"]["pid"]),
                 "redis": int(status["redis"]["pid"])}
        for users in steps:
            cmd = [*cli, "loadtest", "run", "--profile", f"step-{users}", "--slo-file", str(slo),
                   "--run-time", args.step_time, "--results", str(home / f"results-{users}"), "-o", "json"]
            if args.workers:
                cmd += ["--workers", str(args.workers)]
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            cpus = {name: TreeCpu(pid) for name, pid in trees.items()}
            cpus["generator"] = TreeCpu(proc.pid)
            stop = threading.Event()

            def watch(cpus: dict[str, TreeCpu] = cpus, stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    for c in cpus.values():
                        c.sample()
                    stop.wait(1.0)

            busy0, total0 = machine_times()
            t0 = time.monotonic()
            sampler = threading.Thread(target=watch, daemon=True)
            sampler.start()
            out, err = proc.communicate()
            wall = time.monotonic() - t0
            stop.set()
            sampler.join()
            busy1, total1 = machine_times()
            if proc.returncode not in (0, 4):
                raise SystemExit(f"loadtest of {users} users failed ({proc.returncode}): {err[-2000:]}")
            r = json.loads(out)
            tot = r["totals"]
            cores = {name: c.seconds() / wall for name, c in cpus.items()}
            row = {"users": users, "verdict": r["verdict"], "rps": tot["rps"], "requests": tot["requests"],
                   "failures": tot["failures"], "avg": tot["avg_ms"], "p95": tot["p95_ms"], "p99": tot["p99_ms"],
                   "generator_max": r["generator_cpu_max"], "saturated": r["generator_saturated"],
                   "machine": (busy1 - busy0) / (total1 - total0) * 100, "cores": cores}
            rows.append(row)
            print(f"{users} users: {row['verdict']}, {num(row['rps'])} req/s, p95 {num(row['p95'])} ms, "
                  f"machine {row['machine']:.0f} % busy, cores: service {cores['service']:.2f}, postgres "
                  f"{cores['postgres']:.2f}, redis {cores['redis']:.2f}, generator {cores['generator']:.2f} "
                  f"(busiest Locust process {num(row['generator_max'])} %)", flush=True)
    finally:
        subprocess.run([*cli, "sandbox", "down"], env=env, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)

    print()
    print(f"step profile on {os.cpu_count()} cores, {args.step_time} per step, peak-1000 gates, "
          f"service with {args.service_workers} uvicorn worker(s)")
    print(f"{'users':>6} {'verdict':>8} {'req/s':>7} {'avg ms':>7} {'p95 ms':>7} {'machine':>8} "
          f"{'service':>8} {'pg':>6} {'redis':>6} {'gen':>6} {'req/s per service core':>23}")
    for row in rows:
        c = row["cores"]
        per_core = row["rps"] / c["service"] if c["service"] and row["rps"] else None
        print(f"{row['users']:>6} {row['verdict']:>8} {num(row['rps']):>7} {num(row['avg'], 1):>7} "
              f"{num(row['p95']):>7} {row['machine']:>7.0f}% {c['service']:>8.2f} {c['postgres']:>6.2f} "
              f"{c['redis']:>6.2f} {c['generator']:>6.2f} {num(per_core):>23}")
    held = [row for row in rows if row["verdict"] == "PASS" and not row["saturated"]]
    if held:
        best = max(held, key=lambda row: row["rps"])
        print(f"capacity: {best['rps']:.0f} req/s at {best['users']} users with every gate held "
              f"(generator unsaturated); the machine was {best['machine']:.0f} % busy")
    else:
        print("capacity: no step held its gates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
