"""What `augeoctl dashboard` costs, run as a user runs it: the real command in a real
terminal (a tmux pane), at 1 s and 5 s refresh, against a quiet baseline of the same length.

Counted over each window, from psutil's CPU times (user + system) of whole process trees:

- the dashboard: the `augeoctl dashboard` process and its children;
- drawing: the tmux server, which receives every frame and renders the pane;
- its queries: the sandbox's PostgreSQL (postmaster and every backend), redis-server and
  the reference service, minus what the same processes used in a baseline window of the
  same length with no dashboard running (their own background work);

then Redis is killed and the time until the pane shows the Redis panel DOWN is measured
(read from the pane with `tmux capture-pane`).

    python tests/bench/bench_dashboard.py [--seconds 30] [--refresh 1 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from augeoctl.local.sandbox import Sandbox  # noqa: E402

SESSION = "augeo-bench-dashboard"


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) of the processes, their live descendants, and the
    descendants that have exited (a parent's reaped children: PostgreSQL's short-lived
    backends end up in the postmaster's children times)."""
    total = 0.0
    seen: set[int] = set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for p in [root, *root.children(recursive=True)]:
                if p.pid in seen:
                    continue
                seen.add(p.pid)
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def source_pids(sb: Sandbox) -> list[int]:
    st = sb.status()
    return [p for p in (st.postgres.pid, st.redis.pid, sb.app_pid()) if p]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def tmux_server_pid() -> int:
    return int(tmux("display-message", "-p", "-t", SESSION, "#{pid}").strip())


def window(seconds: float, pids: list[int]) -> float:
    c0 = tree_cpu(pids)
    time.sleep(seconds)
    return tree_cpu(pids) - c0


def wait_for(pred, timeout: float, step: float = 0.02) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def run_refresh(sb: Sandbox, home: Path, refresh: float, seconds: float) -> dict[str, float | None]:
    sources = source_pids(sb)
    baseline = window(seconds, sources)
    env = {**os.environ, "AUGEO_HOME": str(home), "TERM": "xterm-256color"}
    exe = shutil.which("augeoctl") or "augeoctl"
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "140", "-y", "45",
                    f"{exe} dashboard --refresh {refresh:g}s"], check=True, env=env)
    try:
        pane_pid = int(tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip())
        if wait_for(lambda: "Redis" in tmux("capture-pane", "-p", "-t", SESSION), 60) is None:
            raise SystemExit("the dashboard did not draw its Redis panel within 60 s")
        time.sleep(3 * refresh)  # warm up: every panel answered
        server = tmux_server_pid()
        d0, s0, q0 = tree_cpu([pane_pid]), tree_cpu([server]) - tree_cpu([pane_pid]), tree_cpu(sources)
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        dash = tree_cpu([pane_pid]) - d0
        drawing = (tree_cpu([server]) - tree_cpu([pane_pid])) - s0
        queries = tree_cpu(sources) - q0 - baseline * elapsed / seconds
        os.kill(sb.status().redis.pid, signal.SIGKILL)
        seen = wait_for(lambda: any("Redis" in line and "DOWN" in line.upper()
                                    for line in tmux("capture-pane", "-p", "-t", SESSION).splitlines()), 30)
        pct = 100.0 / elapsed
        return {"dashboard": dash * pct, "drawing": drawing * pct, "queries": queries * pct,
                "baseline": baseline * 100.0 / seconds, "seen": seen}
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        sb.up()  # Redis back for the next refresh


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--refresh", type=float, nargs="+", default=[1.0, 5.0])
    args = ap.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("tmux is needed (apt-get install tmux): the dashboard is measured in a real terminal")
    home = Path(tempfile.mkdtemp(prefix="augeo-bench-dash-", dir="/var/tmp"))
    os.chmod(home, 0o755)
    sb = Sandbox(home)
    sb.up()
    rows = []
    try:
        for refresh in args.refresh:
            rows.append((refresh, run_refresh(sb, home, refresh, args.seconds)))
    finally:
        sb.down()
        shutil.rmtree(home, ignore_errors=True)
    print(f"augeoctl dashboard in a 140x45 tmux pane, 7 panels, {args.seconds:g} s per window "
          f"(% of one core; queries = sources minus their own quiet baseline)")
    print(f"{'refresh':>8} {'dashboard':>10} {'drawing':>8} {'queries':>8} {'total':>7} {'baseline':>9} "
          f"{'Redis killed -> DOWN':>22}")
    for refresh, r in rows:
        total = float(r["dashboard"] or 0) + float(r["drawing"] or 0) + max(float(r["queries"] or 0), 0.0)
        seen = r["seen"]
        shown = f"{seen:.2f} s = {seen / refresh:.2f} refreshes" if seen is not None else "not within 30 s"
        print(f"{refresh:>7g}s {r['dashboard']:>9.1f}% {r['drawing']:>7.1f}% {r['queries']:>7.1f}% "
              f"{total:>6.1f}% {r['baseline']:>8.1f}% {shown:>22}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
