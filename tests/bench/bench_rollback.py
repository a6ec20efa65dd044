"""Rollback on the sandbox against the floor a naive rollback gives (restart the service
with the previous release), side by side in one run, with a client hammering production.

    python tests/bench/bench_rollback.py [--rounds 3]

Both are timed from outside with the same clock (time.monotonic around the whole thing):
- rollback: the whole `augeoctl rollback --yes` process, from its start to its exit
  (process start, preflight, swap, reloads, waiting until production serves the previous
  version and is ready);
- restart: stop production's gunicorn, start it again on the previous release, until
  /health serves that version and /health/ready answers 200.
Failed requests: what the client thread (one request, then 10 ms, over and over) saw fail
(connection errors and 5xx) during each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from augeoctl.drill.local_deploy import ApiReader  # noqa: E402
from augeoctl.local import service as runner  # noqa: E402
from augeoctl.local.endpoints import http_url  # noqa: E402
from augeoctl.local.sandbox import Sandbox  # noqa: E402
from tests.bench.benchlib import augeoctl, augeoctl_env  # noqa: E402


def served(url: str) -> tuple[str | None, bool]:
    import json

    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as resp:
            version = json.loads(resp.read()).get("release")
        with urllib.request.urlopen(url + "/health/ready", timeout=2) as resp:
            return version, resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return None, False


def timed(url: str, action) -> tuple[float, int, int]:
    client = ApiReader(url, "/api/organizations", pause=0.01)
    client.start()
    while client.sent < 5:
        time.sleep(0.01)
    start = time.monotonic()
    action()
    took = time.monotonic() - start
    client.stop()
    return took, client.failed, client.sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="augeo-bench-rollback-", dir="/tmp"))
    os.chmod(home, 0o755)
    env = augeoctl_env(home)
    cli = [sys.executable, "-m", "augeoctl"]
    try:
        augeoctl(home, "sandbox", "up")
        sb = Sandbox(home)
        url = http_url(int(sb.state.load()["app"]["port"]))
        augeoctl(home, "release", "deploy", "1.1.0")
        augeoctl(home, "release", "promote", "--yes", "--watch", "0s")
        rollback, restart = [], []
        for _ in range(args.rounds):
            # production 1.1.0, staging 1.0.0: roll back to 1.0.0
            took, failed, sent = timed(url, lambda: subprocess.run(
                [*cli, "rollback", "--yes", "-q"], env=env, check=True, capture_output=True))
            assert served(url) == ("1.0.0", True)
            rollback.append((took, failed, sent))
            augeoctl(home, "release", "promote", "--yes", "--watch", "0s")  # back to 1.1.0

            def naive() -> None:
                slots = sb.slots.load()
                slots["production"] = sb.slots.resolve("1.0.0")
                sb.slots.save(slots)
                state = sb.state.load()
                runner.stop_service(sb.app_pidfile)
                runner.start_service(int(state["app"]["port"]), sb.dsn(port=int(state["postgres"]["port"])),
                                     sb.redis_url(port=int(state["redis"]["port"])), sb.app_log,
                                     sb.app_pidfile, slots_file=sb.slots.file, slot="production")
                while served(url) != ("1.0.0", True):
                    time.sleep(0.02)

            took, failed, sent = timed(url, naive)
            restart.append((took, failed, sent))
            slots = sb.slots.load()
            slots["production"] = sb.slots.resolve("1.1.0")
            sb.slots.save(slots)
            runner.reload_service(sb.app_pidfile)
            while served(url) != ("1.1.0", True):
                time.sleep(0.02)
        r = statistics.median(t for t, _, _ in rollback)
        n = statistics.median(t for t, _, _ in restart)
        print(f"rollback (augeoctl rollback, whole process):  median {r:.2f} s over {args.rounds} rounds; "
              f"failed requests {[f for _, f, _ in rollback]} of {[s for _, _, s in rollback]}")
        print(f"restart (stop + start gunicorn, until ready): median {n:.2f} s over {args.rounds} rounds; "
              f"failed requests {[f for _, f, _ in restart]} of {[s for _, _, s in restart]}")
        print(f"ratio rollback/restart: {r / n:.2f}")
    finally:
        subprocess.run([*cli, "sandbox", "down"], env=env, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
