"""Point-in-time restore: augeoctl vs pgBackRest vs the physical floor, in one run, at
several amounts of WAL; and planning a restore over a long archive.

    python tests/bench/bench_restore.py [--scale 70] [--wal-seconds 40] [--multiples 1,3,10]
                                        [--rounds 3] [--plan-segments 1000] [--plot docs/bench-restore.svg]

Builds a sandbox under /var/tmp with about 1 GB of pgbench data, takes an augeoctl base
backup and a pgBackRest full backup of the same cluster (repository without compression),
then runs pgbench for WAL-SECONDS x the largest multiple; target k is taken after
k x WAL-SECONDS, so the restores replay about 1x, 3x and 10x as much WAL. The very same
archived segments are pushed into the pgBackRest repository. Then, per target and round,
each tool from a cold page cache (caches dropped before every tool):

  (a) ``augeoctl restore --to-time T``: the whole process, timed from outside, with its own
      WAL index cache (store/wal-index.json) removed. The entries the archive command wrote
      while archiving (store/wal/.index/) are kept: that indexing ran in the background as
      the WAL was archived, off the restore's path, and is reported apart;
  (b) ``pgbackrest restore --type=time --target=T --target-action=promote`` and a start of
      the restored cluster, with ``archive-async=y`` and ``process-max=2`` as pgBackRest's
      documentation recommends for a fast archive-get, twice: as a pgBackRest user gets it
      (the cluster's own settings, which pgBackRest restores with it) and with augeoctl's
      replay settings added (below);
  (c) the floor: ``cp -a`` of augeoctl's base backup and PostgreSQL's own replay of the
      same WAL with ``restore_command = cp``, ending with ``recovery_target_action =
      promote``;
  (d) the same floor ending with ``recovery_target_action = pause`` and ``pg_promote()``
      once paused (a paused server must take connections, so hot_standby is on): which of
      the two ways to end a recovery is faster.

One clock for all three: time.monotonic() in this process, from just before the tool's
command starts. "usable" is when the target has been promoted and accepts read/write
connections: for augeoctl the moment its progress line "promote: done" reaches this
process (its stderr is read as it comes); for (b) and (c) when a connection sees
pg_is_in_recovery() = false. "verified" is augeoctl's exit (its pg_amcheck and queries).
The floor and the second pgBackRest run use the replay settings of augeoctl's restore
(REPLAY_SETTINGS: no restartpoints during replay, syncfs at startup, shared_buffers sized
to the machine) and hot_standby off, so that they compare the tools, not PostgreSQL
settings; the first pgBackRest run shows what those settings are worth to its users. The
WAL replayed is counted from each server's log ("restored log file").

Before the first measure the source is made quiet (autovacuum off, a checkpoint, no
autovacuum worker left), so that its clean-up after the pgbench run does not slow
whichever tool comes first; and the order of the tools turns by one every round and
once more for every amount of WAL, so that no tool holds the same place in the same round
of every amount (a penalty of a place shows apart from a penalty of a tool). Before the
first round at each amount of WAL every tool's inputs are read once, untimed: dropping
this machine's page cache does not drop its host's cache of the virtual disk, so without
that the first tool to read an input paid the host's disk and the others did not.

Planning: the archive is then topped up to PLAN-SEGMENTS segments (a small write and a
WAL switch each), and ``augeoctl restore --latest --dry-run`` is timed as a whole process
from a cold cache, with the archive command's entries and without any index.

The plot (SVG, no plotting library) shows time to usable against WAL replayed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchlib import augeoctl, augeoctl_env, drop_caches  # noqa: E402

from augeoctl.backends.local_recovery import REPLAY_SETTINGS  # noqa: E402
from augeoctl.local import tools, wal  # noqa: E402
from augeoctl.local.sandbox import as_service, chown_tree, make_dir, stop_postgres  # noqa: E402

TOOLS = ("augeoctl", "pgbackrest", "pgbackrest_tuned", "floor")
LABELS = {"augeoctl": "augeoctl restore", "pgbackrest": "pgBackRest (async archive-get)",
          "pgbackrest_tuned": "pgBackRest + augeoctl's replay settings",
          "floor": "floor: cp -a + PostgreSQL replay"}


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


def start_pause_and_promote(data: Path, port: int) -> float:
    """Start a restored cluster that pauses at its target (hot_standby on, so that it takes
    connections), promote it with ``pg_promote()`` once paused, and wait until it has left
    recovery; returns when."""
    log = data.parent / f"{data.name}.log"
    log.touch()
    chown_tree(log)
    subprocess.run(as_service([tools.pg_tool("pg_ctl"), "-D", str(data), "-l", str(log), "-W", "-s", "start"]),
                   check=True)

    def ask(sql: str) -> str | None:
        proc = subprocess.run([tools.pg_tool("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "augeo",
                               "-d", "postgres", "-Atc", sql], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else None

    deadline = time.monotonic() + 3600
    promoted = False
    while time.monotonic() < deadline:
        if not promoted and ask("SELECT pg_get_wal_replay_pause_state()") == "paused":
            promoted = ask("SELECT pg_promote(true, 3600)") == "t"
        if promoted and ask("SELECT pg_is_in_recovery()") == "f":
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit(f"{data} was not promoted: {tools.tail(log, 10)}")


def floor(folder: Path, base: str, where: tuple[Path, str], extra: dict[str, str],
          start: Callable[[Path, int], float]) -> tuple[float, int]:
    """The floor from a cold cache: a plain copy of the base backup and PostgreSQL's own replay
    of the archived WAL (``where``: archive, target time) to the target; (seconds, segments)."""
    archive, t_pg = where
    drop_caches()
    dest = make_dir(folder, 0o755) / "data"
    port = tools.free_port()
    t0 = time.monotonic()
    subprocess.run(["cp", "-a", base, str(dest)], check=True)
    recovery_conf(dest, port, {"restore_command": f"'cp \"{archive}/%f\" \"%p\"'",
                               "recovery_target_time": f"'{t_pg}'", **extra})
    took = start(dest, port) - t0
    segments = restored_segments(dest.parent / f"{dest.name}.log")
    stop_postgres(dest, mode="immediate")
    shutil.rmtree(dest.parent)
    return took, segments


def restored_segments(log: Path) -> int:
    """How many WAL segments the server restored from the archive (its log says each)."""
    return sum(1 for ln in log.read_text(errors="replace").splitlines() if "restored log file" in ln)


def timed_augeoctl(home: Path, *args: str) -> tuple[float, float, dict]:
    """(usable, verified, result) of ``augeoctl *args -o json``, timed from this process."""
    env = augeoctl_env(home)
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


def recovery_conf(data: Path, port: int, extra: dict[str, str], tuned: bool = True) -> None:
    """A restored cluster's own port and socket, no archiving; with ``tuned``, augeoctl's
    replay settings and hot_standby off (else the cluster's own settings)."""
    settings = {"port": str(port), "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": f"'{data.parent}'", "archive_mode": "'off'",
                **({"recovery_target_action": "'promote'", "hot_standby": "'off'", **REPLAY_SETTINGS} if tuned else {}),
                **extra}
    with (data / "postgresql.auto.conf").open("a") as fh:
        fh.write("\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    (data / "recovery.signal").touch()
    chown_tree(data)


def archive_and_wait(port: int, archive: Path) -> list[Path]:
    """Close the current segment, wait until it is archived and every archived segment has
    the archive command's index entry; the archived segments."""
    seg = psql(port, "SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + 600
    while not (archive / seg).exists() or any(
            not (archive / wal.INDEX_DIR / p.name).exists() for p in segments_of(archive)):
        if time.monotonic() > deadline:
            raise SystemExit("the archive or its index did not catch up within 10 minutes")
        time.sleep(0.1)
    return segments_of(archive)


def quiet_source(port: int) -> None:
    """No autovacuum (pgbench leaves a lot to clean up) and a checkpoint on the source, and
    wait until no autovacuum worker is left, so that the first tool measured does not share
    the machine with the source's clean-up."""
    psql(port, "ALTER SYSTEM SET autovacuum = off")
    psql(port, "SELECT pg_reload_conf()")
    deadline = time.monotonic() + 600
    while psql(port, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") != "0":
        if time.monotonic() > deadline:
            raise SystemExit("autovacuum workers still running after 10 minutes")
        time.sleep(0.5)
    psql(port, "CHECKPOINT")


def read_through(paths: list[Path]) -> float:
    """Read these files (folders: every file in them) once, untimed by the measures; MiB read.

    The guest's page cache is dropped before every tool, but the disk of a virtual machine
    is a file or volume of its host, whose own cache this machine cannot drop: the first
    tool to read an input after it was written, or after a round at a smaller amount of
    WAL, read it from the host's disk, and the others from the host's cache. Reading
    every tool's inputs once before the first round puts them all on the same footing. The
    guest's cache is dropped first, so that the reads reach the virtual disk."""
    drop_caches()
    read = 0
    for top in paths:
        files = [top] if top.is_file() else sorted(f for f in top.rglob("*") if f.is_file())
        for f in files:
            with open(f, "rb", buffering=0) as fh:
                while chunk := fh.read(1 << 20):
                    read += len(chunk)
    return read / 2**20


def segments_of(archive: Path) -> list[Path]:
    return sorted(p for p in archive.iterdir() if wal.is_segment(p.name))


def whole_process(home: Path, *args: str) -> float:
    """Wall time of one ``augeoctl`` process (benchlib's run, which fails on a non-zero exit)."""
    t0 = time.monotonic()
    augeoctl(home, *args)
    return time.monotonic() - t0


def plot(rows: list[dict], path: Path) -> None:
    """Time to usable against WAL replayed, one line per tool (augeoctl.charts' SVG)."""
    from augeoctl.charts import Chart, svg

    chart = Chart("Point-in-time restore: time to usable", "WAL replayed (MiB)", "time to usable (s)",
                  series={LABELS[t]: [(r[f"{t}_mib"], r[t]) for r in rows] for t in TOOLS})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg(chart))


def measure_round(home: Path, pgbr: list[str], backup: dict, archive: Path, k: int, rnd: int,
                  t_iso: str, t_pg: str, turn: int) -> dict:
    """One round at one amount of WAL: every tool from a cold cache, starting at place
    ``turn`` of the tools' list; the row of figures, with each tool's place."""
    index = home / "store" / "wal-index.json"
    row: dict = {}

    def run_augeoctl() -> None:
        # its own index cache removed; the archive command's entries kept
        index.unlink(missing_ok=True)
        drop_caches()
        usable, verified, res = timed_augeoctl(home, "restore", "--to-time", t_iso,
                                               "--target", f"b{k}-{rnd}")
        row["augeoctl"], row["augeoctl_verified"] = usable, verified
        row["augeoctl_phases"] = {p["name"]: p["seconds"] for p in res["phases"]}
        row["augeoctl_segments"] = res["wal_segments_replayed"]
        augeoctl(home, "targets", "drop", f"b{k}-{rnd}", "--yes")

    def run_pgbackrest(tuned: bool) -> None:
        key = "pgbackrest_tuned" if tuned else "pgbackrest"
        drop_caches()
        dest = make_dir(home / f"pgbr-{rnd}", 0o755) / "data"
        p_port = tools.free_port()
        t0 = time.monotonic()
        subprocess.run(as_service([*pgbr, f"--pg1-path={dest}", "restore", "--type=time",
                                   f"--target={t_pg}", "--target-action=promote"]),
                       check=True, capture_output=True)
        recovery_conf(dest, p_port, {}, tuned=tuned)
        row[key] = start_and_wait_promoted(dest, p_port) - t0
        row[f"{key}_segments"] = restored_segments(dest.parent / f"{dest.name}.log")
        stop_postgres(dest, mode="immediate")
        shutil.rmtree(dest.parent)

    base, where = backup["location"], (archive, t_pg)

    def run_floor() -> None:
        row["floor"], row["floor_segments"] = floor(home / f"floor-{rnd}", base, where, {},
                                                    start_and_wait_promoted)

    def run_pause() -> None:
        # the same floor, paused at the target and promoted with pg_promote(): a
        # paused server must take connections, so hot_standby is on here.
        row["pause"], row["pause_segments"] = floor(
            home / f"pause-{rnd}", base, where,
            {"recovery_target_action": "'pause'", "hot_standby": "'on'"}, start_pause_and_promote)

    order = [("augeoctl", run_augeoctl), ("pgbackrest", lambda: run_pgbackrest(False)),
             ("pgbackrest_tuned", lambda: run_pgbackrest(True)), ("floor", run_floor), ("pause", run_pause)]
    turn %= len(order)
    turned = order[turn:] + order[:turn]
    for _name, step in turned:
        step()
    row["places"] = {name: place for place, (name, _step) in enumerate(turned, 1)}
    verified = row["augeoctl_verified"]
    phases = ", ".join(f"{name} {sec:.2f}" for name, sec in row["augeoctl_phases"].items())
    print(f"  round {rnd + 1} (augeoctl ran {row['places']['augeoctl']} of 5): augeoctl {row['augeoctl']:.2f} s "
          f"(verified {verified:.2f} s; {phases}), pgBackRest {row['pgbackrest']:.2f} s, with augeoctl's replay "
          f"settings {row['pgbackrest_tuned']:.2f} s, floor {row['floor']:.2f} s, "
          f"floor paused + pg_promote() {row['pause']:.2f} s", flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=70)
    ap.add_argument("--wal-seconds", type=int, default=40, help="pgbench seconds per 1x of WAL")
    ap.add_argument("--multiples", default="1,3,10", help="amounts of WAL to restore through, in WAL-SECONDS")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--plan-segments", type=int, default=1000, help="archive size for the planning figure (0: skip)")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "bench-restore.svg")
    ap.add_argument("--keep-home", action="store_true")
    args = ap.parse_args()
    multiples = sorted({int(m) for m in args.multiples.split(",")})
    if not shutil.which("pgbackrest"):
        raise SystemExit("pgbackrest is not installed (apt-get install pgbackrest; `nox -s bench` does)")

    home = Path(tempfile.mkdtemp(prefix="augeo-bench-restore-", dir="/var/tmp"))
    os.chmod(home, 0o755)
    rows: list[dict] = []
    planning: dict = {}
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

        # WAL to replay: one pgbench run; target k after k x WAL-SECONDS.
        total = args.wal_seconds * multiples[-1] + 5
        bench = subprocess.Popen([tools.pg_tool("pgbench"), "-h", "127.0.0.1", "-p", str(port), "-U", "augeo",
                                  "-c", "4", "-j", "2", "-T", str(total), "-n", "augeo"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start = time.monotonic()
        targets: dict[int, datetime] = {}
        for k in multiples:
            time.sleep(max(0.0, start + k * args.wal_seconds - time.monotonic()))
            targets[k] = datetime.now(UTC)
        bench.wait()
        t_archived = time.monotonic()
        archive = home / "store" / "wal"
        segments = archive_and_wait(port, archive)
        print(f"archive command's index entries complete {time.monotonic() - t_archived:.1f} s after the last "
              f"write (made in the background while archiving)", flush=True)
        wal_mb = sum(p.stat().st_size for p in segments) / 2**20
        for seg in segments:  # the very same segments into pgBackRest's repository
            subprocess.run(as_service([*pgbr, "archive-push", str(seg)]), check=True, capture_output=True)
        print(f"WAL archived: {len(segments)} segments, {wal_mb:.0f} MiB", flush=True)
        quiet_source(port)
        index = home / "store" / "wal-index.json"

        for n, k in enumerate(multiples):
            target = targets[k]
            t_iso = target.isoformat(timespec="microseconds").replace("+00:00", "Z")
            t_pg = f"{target.strftime('%Y-%m-%d %H:%M:%S.%f')}+00"
            plan = augeoctl(home, "restore", "--to-time", t_iso, "--dry-run")["plan"]
            needed = [p for p in segments if plan["wal_first"] <= p.name <= plan["wal_last"]]
            print(f"{k}x: target {t_iso}; the restore needs {len(needed)} segments "
                  f"({sum(p.stat().st_size for p in needed) / 2**20:.0f} MiB)", flush=True)
            # every tool's inputs: augeoctl's base backup and archive (the floor's too) and
            # pgBackRest's repository, its copies of the same segments included
            names = {p.name for p in needed}
            pgbr_wal = [f for f in (home / "pgbackrest" / "repo" / "archive").rglob("*")
                        if f.is_file() and f.name[:24] in names]
            t_read = time.monotonic()
            mib = read_through([Path(backup["location"]), *needed, home / "pgbackrest" / "repo" / "backup",
                                *pgbr_wal])
            print(f"  inputs read once before the first round: {mib:.0f} MiB in "
                  f"{time.monotonic() - t_read:.1f} s", flush=True)
            results: list[dict] = []
            for rnd in range(args.rounds):
                row = measure_round(home, pgbr, backup, archive, k, rnd, t_iso, t_pg, turn=rnd + n)
                results.append(row)
            med = {key: statistics.median(r[key] for r in results)
                   for key in ("augeoctl", "augeoctl_verified", *TOOLS[1:], "pause")}
            mid = sorted(results, key=lambda r: r["augeoctl"])[len(results) // 2]
            rows.append({"multiple": k, **med, "phases": mid["augeoctl_phases"], "rounds": results,
                         **{f"{t}_segments": results[-1][f"{t}_segments"] for t in TOOLS},
                         **{f"{t}_mib": results[-1][f"{t}_segments"] * 16 for t in TOOLS}})

        if args.plan_segments:
            have = len(segments_of(archive))
            with_entries = time.monotonic()
            while have < args.plan_segments:
                psql(port, "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, now())")
                psql(port, "SELECT pg_switch_wal()")
                have += 1
            segs = archive_and_wait(port, archive)
            print(f"archive topped up to {len(segs)} segments in {time.monotonic() - with_entries:.0f} s", flush=True)
            index.unlink(missing_ok=True)
            drop_caches()
            planning["entries"] = whole_process(home, "restore", "--latest", "--dry-run")
            planning["warm"] = whole_process(home, "restore", "--latest", "--dry-run")
            aside = archive.parent / "index-aside"
            (archive / wal.INDEX_DIR).rename(aside)
            index.unlink(missing_ok=True)
            drop_caches()
            planning["none"] = whole_process(home, "restore", "--latest", "--dry-run")
            aside.rename(archive / wal.INDEX_DIR)
            planning["segments"] = len(segs)
    finally:
        try:
            augeoctl(home, "sandbox", "down")
        except SystemExit:
            pass
        if not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)

    print()
    print(f"medians of {args.rounds} round(s) per amount of WAL; page cache dropped before each tool; "
          "one clock (this process)")
    print("| WAL | segments replayed (augeoctl / pgBackRest / floor) | augeoctl usable | augeoctl verified "
          "| pgBackRest usable | pgBackRest + replay settings | floor usable | augeoctl / pgBackRest "
          "| augeoctl / pgBackRest + replay settings | augeoctl / floor | verified / usable |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['multiple']}x | {r['augeoctl_segments']} / {r['pgbackrest_segments']} / {r['floor_segments']} "
              f"| {r['augeoctl']:.2f} s | {r['augeoctl_verified']:.2f} s | {r['pgbackrest']:.2f} s "
              f"| {r['pgbackrest_tuned']:.2f} s | {r['floor']:.2f} s | {r['augeoctl'] / r['pgbackrest']:.2f} "
              f"| {r['augeoctl'] / r['pgbackrest_tuned']:.2f} | {r['augeoctl'] / r['floor']:.2f} "
              f"| {r['augeoctl_verified'] / r['augeoctl']:.2f} |")
    print("per round, time to usable (place in the round's order, 1 = first):")
    for r in rows:
        print(f"  {r['multiple']}x: " + "; ".join(
            f"{LABELS.get(t, 'floor paused + pg_promote()')} " + ", ".join(f"{x[t]:.2f} ({x['places'][t]})" for x in r["rounds"])
            for t in (*TOOLS, "pause")))
    print("recovery_target_action: promote (hot_standby off) against pause + pg_promote() (hot_standby on, "
          "which a pause needs), same copy and WAL:")
    for r in rows:
        print(f"  {r['multiple']}x: promote {r['floor']:.2f} s, pause + pg_promote() {r['pause']:.2f} s, "
              f"ratio {r['pause'] / r['floor']:.2f}")
    for r in rows:
        ph = r["phases"]
        print(f"augeoctl {r['multiple']}x phases (median round): "
              + ", ".join(f"{name} {sec:.2f} s" for name, sec in ph.items()))
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        for t in TOOLS:
            print(f"{LABELS[t]}: {(b[t] - a[t]) / max(b[f'{t}_mib'] - a[f'{t}_mib'], 1) * 1024:.2f} s per GiB "
                  f"of extra WAL between {a['multiple']}x and {b['multiple']}x")
    if planning:
        print(f"planning `restore --latest --dry-run` over {planning['segments']} archived segments (whole process, "
              f"cold cache): with the archive command's entries {planning['entries']:.2f} s; again, augeoctl's "
              f"cache warm {planning['warm']:.2f} s; with no index at all {planning['none']:.2f} s")
    if rows:
        plot(rows, args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
