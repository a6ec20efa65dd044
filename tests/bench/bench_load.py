"""peak-1000 against the sandbox's reference service: what this machine sustains, and
whether the generator or the service is the bottleneck (CPU of both, sampled side by side).

    python tests/bench/bench_load.py [--run-time 90s] [--workers N]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from augeoctl.local.cpu import CpuSampler  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-time", default="90s")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="augeo-bench-load-", dir="/var/tmp"))
    os.chmod(home, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
    env["AUGEO_HOME"] = str(home)
    cli = [sys.executable, "-m", "augeoctl"]
    try:
        status = json.loads(subprocess.run([*cli, "sandbox", "up", "-o", "json"], env=env, check=True,
                                           capture_output=True, text=True).stdout)
        service = CpuSampler(int(status["app"]["pid"]))
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                service.sample()
                stop.wait(1.0)

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        cmd = [*cli, "loadtest", "run", "--profile", "peak-1000", "--run-time", args.run_time,
               "--results", str(home / "results"), "-o", "json"]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        stop.set()
        t.join()
        if proc.returncode not in (0, 4):
            raise SystemExit(f"loadtest failed ({proc.returncode}): {proc.stderr}")
        r = json.loads(proc.stdout)
    finally:
        subprocess.run([*cli, "sandbox", "down"], env=env, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    tot = r["totals"]
    print(f"peak-1000 for {args.run_time} on {os.cpu_count()} cores: verdict {r['verdict']}")
    print(f"  users 1000 (spawn 50/s), {tot['requests']} requests, {tot['rps']:.0f} req/s, "
          f"errors {tot['failures']}")
    print(f"  latency avg {tot['avg_ms']:.1f} ms, p50 {tot['p50_ms']:.0f} ms, p95 {tot['p95_ms']:.0f} ms, "
          f"p99 {tot['p99_ms']:.0f} ms")
    print(f"  generator: {r['workers']} Locust process(es), busiest at {r['generator_cpu_max']:.0f}% of a core")
    print(f"  service: one uvicorn process, busiest at {service.max_percent:.0f}% of a core")
    bottleneck = "service" if service.max_percent >= 90 else (
        "generator" if r["generator_saturated"] else "neither: the users' think time sets the rate")
    print(f"  bottleneck: {bottleneck}")
    return 0 if r["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
