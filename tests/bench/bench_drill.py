"""DR drill on a ~1 GB database: RTO, RPO, lost writes, phases, and the drill's overhead
over a bare restore of the same data, measured side by side in one run.

    python tests/bench/bench_drill.py [--scale 70] [--duration 20s] [--keep-home]

It builds its own sandbox under /var/tmp (reachable by the unprivileged PostgreSQL user),
loads pgbench tables (scale 70 is about 1 GB), takes a base backup, then runs
``augeoctl restore --latest`` (the bare restore) and ``augeoctl dr-drill --scenario
accidental-delete`` against the same data, and prints the figures and the ratio.

Cache state: the page cache is dropped before each; the drill's preflight then reads the
base backup (pg_verifybackup), so the bare restore is preceded by ``augeoctl backup verify``
(the same read, untimed): both restores start from the same warm backup. The drill's
overhead is also measured within one drill: its RTO minus the restore it ran (its own
copy + replay + promote + verify parts), same clock, same round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import augeoctl, drop_caches

ROOT = Path(__file__).resolve().parents[2]




def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=70, help="pgbench scale (70 is about 1 GB)")
    ap.add_argument("--duration", default="20s", help="drill workload before the disaster")
    ap.add_argument("--rounds", type=int, default=3, help="bare restore and drill, alternating; medians")
    ap.add_argument("--keep-home", action="store_true")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from augeoctl.local import tools

    home = Path(tempfile.mkdtemp(prefix="augeo-bench-drill-", dir="/var/tmp"))
    os.chmod(home, 0o755)
    try:
        status = augeoctl(home, "sandbox", "up")
        port = status["postgres"]["port"]
        t = time.monotonic()
        subprocess.run([tools.pg_tool("pgbench"), "-i", "-q", "-s", str(args.scale), "-h", "127.0.0.1",
                        "-p", str(port), "-U", "augeo", "augeo"], check=True, capture_output=True)
        load_s = time.monotonic() - t
        backup = augeoctl(home, "backup", "create")["backups"][0]
        size_mb = backup["size_bytes"] / 2**20
        print(f"database loaded (pgbench scale {args.scale}) in {load_s:.0f} s; base backup {size_mb:.0f} MiB",
              flush=True)

        bares, drills = [], []
        cold = False
        for i in range(args.rounds):
            cold = drop_caches()
            augeoctl(home, "backup", "verify")  # the read the drill's preflight does, untimed
            bares.append(augeoctl(home, "restore", "--latest", "--target", f"bench-bare-{i}"))
            augeoctl(home, "targets", "drop", f"bench-bare-{i}", "--yes")
            drop_caches()
            drills.append(augeoctl(home, "dr-drill", "--scenario", "accidental-delete",
                                   "--duration", args.duration, "--yes", ok=(0, 4)))
            d = drills[-1]
            if d["verdict"] != "PASS":
                raise SystemExit(f"round {i + 1}: the drill FAILED: {'; '.join(d['reasons'])}")
            print(f"round {i + 1}: bare restore {bares[-1]['total_seconds']:.2f} s, "
                  f"drill RTO {d['rto_seconds']:.2f} s", flush=True)
    finally:
        try:
            augeoctl(home, "sandbox", "down")
        except SystemExit:
            pass
        if not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)

    ratios = sorted(d["rto_seconds"] / b["total_seconds"] for b, d in zip(bares, drills, strict=True))
    bare = sorted(bares, key=lambda r: r["total_seconds"])[len(bares) // 2]
    drill = sorted(drills, key=lambda r: r["rto_seconds"])[len(drills) // 2]
    if any(d["verdict"] != "PASS" for d in drills):
        print("a drill FAILED: " + "; ".join(r for d in drills for r in d["reasons"]))
    bare_phases = {p["name"]: p["seconds"] for p in bare["phases"]}
    drill_phases = {p["name"]: p["seconds"] for p in drill["phases"]}
    recovery_parts = {p["name"]: p["seconds"] for p in next(
        p for p in drill["phases"] if p["name"] == "recovery")["parts"]}
    rto = drill["rto_seconds"]
    overhead = (rto - bare["total_seconds"]) / bare["total_seconds"]
    print()
    print(f"median of {args.rounds} round(s); page cache dropped before each run: {cold}; "
          "the backup read once before each (drill: its preflight; bare: backup verify)")
    print(f"{'phase':<22}{'bare restore':>14}{'drill':>12}")
    for name in ("copy", "wal_replay", "promote", "verify"):
        print(f"{name:<22}{bare_phases.get(name, 0):>13.2f}s{recovery_parts.get(name, 0):>11.2f}s")
    print(f"{'restore total':<22}{bare['total_seconds']:>13.2f}s{drill_phases['recovery']:>11.2f}s"
          "  (drill: includes forcing the WAL switch and waiting for its archive)")
    for name in ("verification", "service_check"):
        print(f"{name:<22}{'-':>14}{drill_phases[name]:>11.2f}s")
    print()
    print(f"drill verdict {drill['verdict']}: RTO {rto:.2f} s, RPO {drill['rpo_seconds']:.3f} s, "
          f"lost writes {drill['lost_writes']}")
    extra = rto - sum(recovery_parts.values())
    print(f"drill overhead over the bare restore: median RTO / median restore total = "
          f"{rto / bare['total_seconds']:.3f} ({overhead * 100:+.1f} %; goal under 10 %)")
    print("per-round ratios RTO / restore total: " + ", ".join(f"{r:.3f}" for r in ratios)
          + f"; median {ratios[len(ratios) // 2]:.3f}")
    print(f"time the drill adds around the restore itself (WAL switch and archive wait, integrity "
          f"queries, service start and /health/ready): {extra:.2f} s")
    within = sorted(d["rto_seconds"] - sum(p["seconds"] for p in next(
        p for p in d["phases"] if p["name"] == "recovery")["parts"]) for d in drills)
    print("drill overhead within each drill (RTO minus the restore it ran): "
          + ", ".join(f"{w:.2f} s" for w in within) + f"; median {within[len(within) // 2]:.2f} s")
    return 0 if all(d["verdict"] == "PASS" for d in drills) else 1


if __name__ == "__main__":
    sys.exit(main())
