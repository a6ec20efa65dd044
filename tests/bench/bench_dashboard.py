"""The dashboard's own CPU at a 1 s refresh with every panel on the sandbox, and the time
from an event (Redis killed) to its panel showing it.

    python tests/bench/bench_dashboard.py [--seconds 30] [--refresh 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from augeoctl.dashboard.app import Dashboard, Panel  # noqa: E402
from augeoctl.dashboard.sources import local_sources  # noqa: E402
from augeoctl.local.sandbox import Sandbox  # noqa: E402


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def measure(sb: Sandbox, seconds: float, refresh: float) -> tuple[float, float]:
    app = Dashboard(local_sources(sb), interval=refresh)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause(3 * refresh)  # warm up: every panel answered once
        c0, t0 = cpu_seconds(), time.monotonic()
        await pilot.pause(seconds)
        cpu = 100.0 * (cpu_seconds() - c0) / (time.monotonic() - t0)
        redis = next(p for p in app.query(Panel) if p.title_text == "Redis")
        os.kill(sb.status().redis.pid, signal.SIGKILL)
        killed = time.monotonic()
        while redis.state != "down" and time.monotonic() - killed < 30:
            await pilot.pause(0.02)
        return cpu, time.monotonic() - killed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--refresh", type=float, default=1.0)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="augeo-bench-dash-", dir="/var/tmp"))
    os.chmod(home, 0o755)
    sb = Sandbox(home)
    sb.up()
    try:
        cpu, seen = asyncio.run(measure(sb, args.seconds, args.refresh))
    finally:
        sb.down()
        shutil.rmtree(home, ignore_errors=True)
    print(f"dashboard, 7 panels, refresh {args.refresh:g} s, over {args.seconds:g} s: "
          f"{cpu:.1f}% of one core (goal: under 5%)")
    print(f"Redis killed -> Redis panel DOWN after {seen:.2f} s = {seen / args.refresh:.2f} refresh intervals "
          f"(goal: within 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
