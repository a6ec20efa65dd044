"""Point-in-time restore: augeoctl vs pgBackRest vs the physical floor, in one run.

    python tests/bench/bench_restore.py [--scale 70] [--wal-seconds 40] [--rounds 3]

Builds a sandbox under /var/tmp with about 1 GB of pgbench data, takes an augeoctl base
backup and a pgBackRest full backup of the same cluster (repository without compression),
writes WAL with pgbench, and pushes the very same archived segments into the pgBackRest
repository. Then, to the same target time, each from a cold page cache (caches dropped
before every tool) and with augeoctl's WAL index removed (a restore pays for it):

  (a) ``augeoctl restore --to-time T``: the whole process, timed from outside;
  (b) ``pgbackrest restore --type=time --target=T --target-action=promote`` and a start of
      the restored cluster, with ``archive-async=y`` and ``process-max=2`` as pgBackRest's
      documentation recommends for a fast archive-get;
  (c) the floor: ``cp -a`` of augeoctl's base backup and PostgreSQL's own replay of the
      same WAL with ``restore_command = cp``.

One clock for all three: time.monotonic() in this process, from just before the tool's
command starts. "usable" is when the target has been promoted and accepts read/write
connections: for augeoctl the moment its progress line "promote: done" reaches this
process (its stderr is read as it comes); for (b) and (c) when a connection sees
pg_is_in_recovery() = false. "verified" is augeoctl's exit (its pg_amcheck and queries).
(b) and (c) run with the replay settings of augeoctl's restore (REPLAY_SETTINGS: no
restartpoints during replay, syncfs at startup) and hot_standby off, so that the
comparison is of the tools, not of PostgreSQL settings. The WAL replayed is counted from
each server's log ("restored log file").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchlib import augeoctl, drop_caches  # noqa: E402

from augeoctl.backends.local_recovery import REPLAY_SETTINGS  # noqa: E402
from augeoctl.local import tools  # noqa: E402
from augeoctl.local.sandbox import as_service, chown_tree, make_dir, stop_postgres  # noqa: E402


def psql(port: int, sql: str) -> str:
    return subprocess.run([tools.pg_tool("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "augeo", "-d", "augeo",
                           "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


def start_and_wait_promoted(data: Path, port: int) -> float:
    """Start a restored cluster and wait until it has left recovery; returns when."""
    log = data.parent / f"{data.name}.log"
    log.touch()
    chown_tree(log)
    subprocess.run(as_service([tools.pg_tool("pg_ctl"), "-D", str(data), "-l", str(log), "-W", "-s", "start"]),
                   check=True)
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        proc = subprocess.run([tools.pg_tool("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "augeo",
                               "-d", "postgres", "-Atc", "SELECT pg_is_in_recovery()"],
                              capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip() == "f":
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit(f"{data} was not promoted: {tools.tail(log, 10)}")


def restored_segments(log: Path) -> int:
    """How many WAL segments the server restored from the archive (its log says each)."""
    return sum(1 for ln in log.read_text(errors="replace").splitlines() if "restored log file" in ln)


def timed_augeoctl(home: Path, *args: str) -> tuple[float, float, dict]:
    """(usable, verified, result) of ``augeoctl *args -o json``, timed from this process."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
    env["AUGEO_HOME"] = str(home)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "augeoctl", *args, "--output", "json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    usable = None
    assert proc.stderr is not None
    for line in proc.stderr:
        if usable is None and "promote: done" in line:
            usable = time.monotonic() - t0
    out = proc.stdout.read() if proc.stdout else ""
    code = proc.wait()
    verified = time.monotonic() - t0
    if code != 0 or usable is None:
        raise SystemExit(f"augeoctl {' '.join(args)} failed ({code}) or printed no promote line")
    return usable, verified, json.loads(out)


def recovery_conf(data: Path, port: int, extra: dict[str, str]) -> None:
    settings = {"port": str(port), "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": f"'{data.parent}'", "archive_mode": "'off'",
                "recovery_target_action": "'promote'", "hot_standby": "'off'", **REPLAY_SETTINGS, **extra}
    with (data / "postgresql.auto.conf").open("a") as fh:
        fh.write("\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    (data / "recovery.signal").touch()
    chown_tree(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=70)
    ap.add_argument("--wal-seconds", type=int, default=40, help="pgbench run that writes the WAL to replay")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep-home", action="store_true")
    args = ap.parse_args()
    if not shutil.which("pgbackrest"):
        raise SystemExit("pgbackrest is not installed (apt-get install pgbackrest; `nox -s bench` does)")

    home = Path(tempfile.mkdtemp(prefix="augeo-bench-restore-", dir="/var/tmp"))
    os.chmod(home, 0o755)
    results: list[dict] = []
    try:
        status = augeoctl(home, "sandbox", "up")
        port = status["postgres"]["port"]
        data_dir = home / "sandbox" / "pg" / "data"
        subprocess.run([tools.pg_tool("pgbench"), "-i", "-q", "-s", str(args.scale), "-h", "127.0.0.1",
                        "-p", str(port), "-U", "augeo", "augeo"], check=True, capture_output=True)

        # pgBackRest: a repository of the same cluster, no compression.
        repo = make_dir(home / "pgbackrest", 0o750)
        for sub in ("repo", "log", "lock", "spool"):
            make_dir(repo / sub, 0o750)
        conf = repo / "pgbackrest.conf"
        conf.write_text(
            f"[global]\nrepo1-path={repo / 'repo'}\nlog-path={repo / 'log'}\nlock-path={repo / 'lock'}\n"
            f"spool-path={repo / 'spool'}\ncompress-type=none\nstart-fast=y\nprocess-max=2\n"

            f"log-level-console=warn\n\n[bench]\npg1-path={data_dir}\npg1-port={port}\n"
            f"pg1-socket-path={home / 'sandbox' / 'pg' / 'socket'}\npg1-user=augeo\n"
            # archive-get (the restored cluster's restore_command) asynchronous, prefetching
            # into the spool; the bench's own archive-push of the segments stays synchronous.
            f"\n[global:archive-get]\narchive-async=y\narchive-get-queue-max=1GiB\n")
        chown_tree(repo)
        pgbr = ["pgbackrest", f"--config={conf}", "--stanza=bench"]
        subprocess.run(as_service([*pgbr, "stanza-create"]), check=True, capture_output=True)
        backup = augeoctl(home, "backup", "create")["backups"][0]
        subprocess.run(as_service([*pgbr, "backup", "--type=full", "--no-archive-check"]), check=True,
                       capture_output=True)
        print(f"pgbench scale {args.scale}: augeoctl base backup {backup['size_bytes'] / 2**20:.0f} MiB", flush=True)

        # WAL to replay: pgbench writes; the target time is two thirds of the way in.
        bench = subprocess.Popen([tools.pg_tool("pgbench"), "-h", "127.0.0.1", "-p", str(port), "-U", "augeo",
                                  "-c", "4", "-j", "2", "-T", str(args.wal_seconds), "-n", "augeo"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(args.wal_seconds * 2 / 3)
        target = datetime.now(UTC)
        bench.wait()
        psql(port, "SELECT pg_switch_wal()")
        time.sleep(1)
        archive = home / "store" / "wal"
        segments = sorted(p for p in archive.iterdir() if len(p.name) == 24)
        wal_mb = sum(p.stat().st_size for p in segments) / 2**20
        for seg in segments:  # the very same segments into pgBackRest's repository
            subprocess.run(as_service([*pgbr, "archive-push", str(seg)]), check=True, capture_output=True)
        t_iso = target.isoformat(timespec="microseconds").replace("+00:00", "Z")
        plan = augeoctl(home, "restore", "--to-time", t_iso, "--dry-run")["plan"]
        needed = [p for p in segments if plan["wal_first"] <= p.name <= plan["wal_last"]]
        print(f"WAL archived: {len(segments)} segments, {wal_mb:.0f} MiB; the restore needs {len(needed)} "
              f"({plan['wal_first']}..{plan['wal_last']}, {sum(p.stat().st_size for p in needed) / 2**20:.0f} MiB); "
              f"target time {t_iso}", flush=True)
        index = home / "store" / "wal-index.json"

        for rnd in range(args.rounds):
            row: dict = {}
            # (a) augeoctl: its WAL index removed, as before a first restore
            index.unlink(missing_ok=True)
            drop_caches()
            usable, verified, res = timed_augeoctl(home, "restore", "--to-time", t_iso, "--target", f"bench-a{rnd}")
            row["augeoctl"], row["augeoctl_verified"] = usable, verified
            row["augeoctl_phases"] = {p["name"]: p["seconds"] for p in res["phases"]}
            row["augeoctl_segments"] = res["wal_segments_replayed"]
            augeoctl(home, "targets", "drop", f"bench-a{rnd}", "--yes")

            # (b) pgBackRest
            drop_caches()
            dest = make_dir(home / f"pgbr-{rnd}", 0o755) / "data"
            p_port = tools.free_port()
            t0 = time.monotonic()
            subprocess.run(as_service([*pgbr, f"--pg1-path={dest}", "restore", "--type=time",
                                       f"--target={target.strftime('%Y-%m-%d %H:%M:%S.%f')}+00",
                                       "--target-action=promote"]), check=True, capture_output=True)
            t_copied = time.monotonic()
            recovery_conf(dest, p_port, {})
            promoted = start_and_wait_promoted(dest, p_port)
            row["pgbackrest"] = promoted - t0
            row["pgbackrest_copy"] = t_copied - t0
            row["pgbackrest_segments"] = restored_segments(dest.parent / f"{dest.name}.log")
            stop_postgres(dest, mode="immediate")
            shutil.rmtree(dest.parent)

            # (c) the floor: a plain copy and PostgreSQL's own replay of the same WAL
            drop_caches()
            dest = make_dir(home / f"floor-{rnd}", 0o755) / "data"
            f_port = tools.free_port()
            t0 = time.monotonic()
            subprocess.run(["cp", "-a", backup["location"], str(dest)], check=True)
            t_copied = time.monotonic()
            recovery_conf(dest, f_port, {
                "restore_command": f"'cp \"{archive}/%f\" \"%p\"'",
                "recovery_target_time": f"'{target.strftime('%Y-%m-%d %H:%M:%S.%f')}+00'",
            })
            promoted = start_and_wait_promoted(dest, f_port)
            row["floor"] = promoted - t0
            row["floor_copy"] = t_copied - t0
            row["floor_segments"] = restored_segments(dest.parent / f"{dest.name}.log")
            stop_postgres(dest, mode="immediate")
            shutil.rmtree(dest.parent)
            results.append(row)
            print(f"round {rnd + 1}: augeoctl {row['augeoctl']:.2f} s, pgBackRest {row['pgbackrest']:.2f} s, "
                  f"floor {row['floor']:.2f} s", flush=True)
    finally:
        try:
            augeoctl(home, "sandbox", "down")
        except SystemExit:
            pass
        if not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)

    def med(key: str) -> float:
        vals = sorted(r[key] for r in results)
        return vals[len(vals) // 2]

    ph = sorted(results, key=lambda r: r["augeoctl"])[len(results) // 2]["augeoctl_phases"]
    seg = results[-1]
    print()
    print(f"median of {len(results)} round(s); page cache dropped before each tool; one clock (this process)")
    print(f"augeoctl   usable {med('augeoctl'):.2f} s, verified {med('augeoctl_verified'):.2f} s "
          f"(its phases: copy {ph['copy']:.2f} + replay {ph['wal_replay']:.2f} + promote {ph['promote']:.2f} + "
          f"verify {ph['verify']:.2f} s); {seg['augeoctl_segments']} segments replayed")
    print(f"pgBackRest usable {med('pgbackrest'):.2f} s (restore command {med('pgbackrest_copy'):.2f} s); "
          f"{seg['pgbackrest_segments']} segments restored")
    print(f"floor      usable {med('floor'):.2f} s (cp -a {med('floor_copy'):.2f} s); {seg['floor_segments']} segments restored")
    print(f"ratio augeoctl usable / pgBackRest = {med('augeoctl') / med('pgbackrest'):.3f}")
    print(f"ratio augeoctl usable / floor      = {med('augeoctl') / med('floor'):.3f}")
    print(f"ratio augeoctl verified / usable   = {med('augeoctl_verified') / med('augeoctl'):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
