"""Redis RDB backups on the local sandbox, verified by loading them into a throwaway server.

A backup is a BGSAVE of the sandbox's redis-server, copied into the store once Redis
reports that save (and no later one) finished. The copy is then loaded into a throwaway
redis-server to record its key count and a sample of values with their SHA-256; `verify`
loads it again and compares, so a damaged or truncated copy is caught. (Redis defers a
BGSAVE issued inside MULTI, so a count taken by the live server could not describe the
snapshot exactly.) A restore starts a NEW redis-server from a stored RDB as a target.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl.backends.base import BackupInfo, RedisBackend, VerifyResult
from augeoctl.backends.local_targets import TargetStore, remove_partials, write_json
from augeoctl.core import Check
from augeoctl.errors import BackupError, DependencyError, TargetExists, UsageError
from augeoctl.local import procs, tools
from augeoctl.local.endpoints import redis_url
from augeoctl.local.redis import loaded, write_conf
from augeoctl.local.sandbox import Sandbox
from augeoctl.progress import Reporter

SAMPLE_SIZE = 25


def _digest(value: bytes | None) -> str | None:
    return None if value is None else hashlib.sha256(value).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ThrowawayRedis:
    """A redis-server on a free loopback port loading a given RDB; removed on exit.

    ``server`` is the redis-server program (the sandbox's ``redis_server`` setting).
    """

    def __init__(self, rdb: Path, server: str | None = None) -> None:
        self.rdb = rdb
        self.server = server
        self.tmp: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> ThrowawayRedis:
        self.tmp = tempfile.mkdtemp(prefix="augeo-redis-verify-")
        shutil.copyfile(self.rdb, os.path.join(self.tmp, "dump.rdb"))
        self.port = procs.free_port()
        self.proc = subprocess.Popen(
            [tools.redis_server(self.server), "--port", str(self.port), "--bind", procs.LOOPBACK,
             "--dir", self.tmp, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--logfile", os.path.join(self.tmp, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        proc, log = self.proc, Path(self.tmp) / "redis.log"

        def ready() -> bool:
            if proc.poll() is not None:
                raise BackupError(f"redis-server could not load the RDB: {tools.tail(log, 5)}")
            return loaded(self.port)

        try:
            procs.wait_until(ready, 60, what="the throwaway redis-server did not finish loading the RDB",
                             raise_as=BackupError)
        except BaseException:
            self.__exit__()
            raise
        return self

    def client(self):
        import redis

        return redis.Redis.from_url(redis_url(self.port), socket_timeout=10)

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:  # our child: Popen stops and reaps it
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


COPY_BATCH = 500  # keys per round trip of targets copy-back


class LocalRedisBackend(RedisBackend):
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.targets = TargetStore(sandbox)

    def describe(self) -> dict[str, Any]:
        return {"service": "redis-server (sandbox)", "rdb_enabled": True, "rdb_save": "60 1 10 100",
                "store": str(self.sandbox.redis_store)}

    def list_backups(self) -> list[BackupInfo]:
        out: list[BackupInfo] = []
        store = self.sandbox.redis_store
        if not store.exists():
            return out
        for d in sorted(store.iterdir()):
            meta = d / "meta.json"
            if d.name.startswith(".") or not meta.exists():
                continue
            data = json.loads(meta.read_text())
            out.append(BackupInfo(
                id=data["id"], kind="redis",
                started_at=datetime.fromisoformat(data["saved_at"]),
                finished_at=datetime.fromisoformat(data["finished_at"]),
                size_bytes=data["size_bytes"], location=str(d / "dump.rdb"),
                extra={"key_count": data["key_count"], "sha256": data["sha256"]},
            ))
        out.sort(key=lambda b: b.finished_at)  # type: ignore[arg-type, return-value]
        return out

    def create_backup(self, reporter: Reporter) -> BackupInfo:
        import redis

        status = self.sandbox.ensure_up(reporter)
        client = redis.Redis.from_url(redis_url(int(status.redis.port or 0)), socket_timeout=30)
        remove_partials(self.sandbox.redis_store, reporter)  # a killed backup's leftovers
        try:
            with reporter.step("Redis BGSAVE"):
                meta = self._snapshot(client, reporter)
        except redis.exceptions.ConnectionError as exc:
            raise DependencyError(f"cannot reach the sandbox Redis: {exc}") from None
        return self.get_backup(meta["id"])

    def _snapshot(self, client: Any, reporter: Reporter) -> dict[str, Any]:
        import redis

        for _attempt in range(3):
            self._wait_no_bgsave(client)
            before = client.lastsave()
            saves = client.info("persistence").get("rdb_saves")  # counts every save (Redis 7+)
            try:
                client.bgsave()
            except redis.exceptions.ResponseError as exc:
                if "in progress" in str(exc):
                    continue
                raise BackupError(f"BGSAVE was refused: {exc}") from None

            def written(saves: int | None = saves, before: Any = before) -> bool:
                info = client.info("persistence")
                done = (info.get("rdb_saves", 0) > saves) if saves is not None else client.lastsave() != before
                if not info.get("rdb_bgsave_in_progress") and done:
                    return True
                reporter.status("waiting for the RDB to be written")
                return False

            procs.wait_until(written, 600)
            info = client.info("persistence")
            if info.get("rdb_last_bgsave_status") != "ok":
                raise BackupError("Redis reported the background save failed; see its log")
            saved_at = client.lastsave()
            rdb_dir = client.config_get("dir").get("dir")
            rdb_name = client.config_get("dbfilename").get("dbfilename")
            src = Path(rdb_dir) / rdb_name
            now = datetime.now(UTC)
            backup_id = "redis-" + now.strftime("%Y%m%dT%H%M%SZ")
            n = 1
            while (self.sandbox.redis_store / backup_id).exists():
                n += 1
                backup_id = "redis-" + now.strftime("%Y%m%dT%H%M%SZ") + f"-{n}"
            partial = self.sandbox.redis_store / f".{backup_id}.partial"
            partial.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, partial / "dump.rdb")
            after = client.info("persistence")
            replaced = (after.get("rdb_saves") != saves + 1 or after.get("rdb_bgsave_in_progress")
                        if saves is not None else client.lastsave() != saved_at)
            if replaced:
                # Another save replaced the file while it was copied: take it again.
                shutil.rmtree(partial, ignore_errors=True)
                continue
            # Record what the copy holds, read back from the copy itself: its key count
            # and a sample of values, which `verify` compares later.
            with ThrowawayRedis(partial / "dump.rdb", self.sandbox.redis.server) as tr:
                copy = tr.client()
                key_count = copy.dbsize()
                keys: list[bytes] = []
                for _ in range(SAMPLE_SIZE * 2):
                    k = copy.randomkey()
                    if k is None or len(keys) >= SAMPLE_SIZE:
                        break
                    if k not in keys:
                        keys.append(k)
                sample = {k.decode("utf-8", "surrogateescape"): _digest(copy.dump(k)) for k in keys}
            source_count = client.dbsize()
            meta = {
                "id": backup_id, "kind": "redis", "source_key_count_after": source_count,
                "saved_at": saved_at.astimezone(UTC).isoformat() if saved_at.tzinfo else saved_at.replace(tzinfo=UTC).isoformat(),
                "finished_at": datetime.now(UTC).isoformat(),
                "key_count": key_count, "sample": sample,
                "size_bytes": (partial / "dump.rdb").stat().st_size,
                "sha256": file_sha256(partial / "dump.rdb"),
                "redis_version": client.info("server").get("redis_version"),
            }
            (partial / "meta.json").write_text(json.dumps(meta, indent=2))
            os.rename(partial, self.sandbox.redis_store / backup_id)
            return meta
        raise BackupError("could not take a consistent Redis snapshot after 3 attempts")

    def _wait_no_bgsave(self, client: Any) -> None:
        procs.wait_until(lambda: not client.info("persistence").get("rdb_bgsave_in_progress"), 600)

    def verify_backup(self, backup_id: str | None, reporter: Reporter) -> VerifyResult:
        backup = self.get_backup(backup_id)
        rdb = Path(str(backup.location))
        meta = json.loads((rdb.parent / "meta.json").read_text())
        checks = []
        sha = file_sha256(rdb)
        checks.append(Check("checksum", sha == meta["sha256"],
                            "RDB file matches its recorded SHA-256" if sha == meta["sha256"]
                            else "RDB file differs from the one saved (SHA-256 mismatch)"))
        try:
            with reporter.step(f"load {backup.id} into a throwaway redis-server"), ThrowawayRedis(rdb, self.sandbox.redis.server) as tr:
                c = tr.client()
                count = c.dbsize()
                checks.append(Check(
                    "key-count", count == meta["key_count"],
                    f"{count} keys loaded" + ("" if count == meta["key_count"] else f", {meta['key_count']} expected"),
                ))
                bad = []
                for key, digest in meta["sample"].items():
                    if _digest(c.dump(key.encode("utf-8", "surrogateescape"))) != digest:
                        bad.append(key)
                checks.append(Check(
                    "sample", not bad,
                    f"{len(meta['sample'])} sampled values match" if not bad
                    else f"{len(bad)} of {len(meta['sample'])} sampled values differ: {', '.join(bad[:5])}",
                ))
        except BackupError as exc:
            checks.append(Check("load", False, str(exc)))
        return VerifyResult(backup.id, "redis", tuple(checks))

    # -- restore targets ---------------------------------------------------------

    def restore_target(self, backup_id: str | None, name: str) -> dict[str, Any]:
        """Start a NEW redis-server (daemonized, on a free port) from a stored RDB."""
        backup = self.get_backup(backup_id)
        tdir = self.targets.dir(name)
        if tdir.exists():
            raise TargetExists(name)
        tdir.mkdir(parents=True)
        shutil.copyfile(str(backup.location), tdir / "dump.rdb")
        port = procs.free_port()
        conf = tdir / "redis.conf"
        write_conf(conf, port=port, folder=tdir, pidfile=tdir / "redis.pid", log=tdir / "redis.log",
                   save='""')
        url = redis_url(port)
        state = {
            "name": name, "kind": "redis", "status": "in-progress", "backup_id": backup.id,
            "created_at": datetime.now(UTC).isoformat(), "url": url,
        }
        write_json(tdir / "target.json", state)
        proc = tools.run([self.sandbox.redis_server(), str(conf)], check=False)
        if proc.returncode != 0:
            raise BackupError(f"redis-server did not start: {proc.stderr.strip()}")
        if not procs.wait_until(lambda: loaded(port), 60):
            raise BackupError(f"the Redis target did not come up: {tools.tail(tdir / 'redis.log', 5)}")
        state["status"] = "ready"
        write_json(tdir / "target.json", state)
        import redis

        keys = redis.Redis.from_url(url, socket_timeout=5).dbsize()
        return {"name": name, "url": url, "port": port, "backup_id": backup.id, "keys": keys}

    def drop_target(self, name: str) -> None:
        self.targets.remove(name)

    def copy_back(self, name: str, *, replace: bool, dry_run: bool) -> dict[str, Any]:
        """Copy the keys of Redis target ``name`` into the live Redis (DUMP, then RESTORE
        with the key's remaining time to live). A key the live Redis already holds was
        written since it came back, so it is kept unless ``replace``; a key whose time to
        live ran out meanwhile is not copied. The target is left as it is."""
        import redis

        state = self.targets.state(name)
        if state is None:
            raise UsageError(f'no restored target "{name}"', hint="`augeoctl targets list` shows them")
        if state.get("kind") != "redis" or state.get("status") != "ready":
            raise UsageError(f'target "{name}" is not a ready Redis target',
                             hint="copy-back copies a Redis target's keys; a PostgreSQL target is compared and "
                                  "copied back with SQL (runbooks/point-in-time-restore.md)")
        source = redis.Redis.from_url(str(state["url"]), socket_timeout=10)
        live = redis.Redis.from_url(self.sandbox.redis_url(), socket_timeout=10)
        counts = {"copied": 0, "kept_live": 0, "expired": 0}
        keys: list[bytes] = []
        for key in source.scan_iter(count=COPY_BATCH):
            keys.append(key)
            if len(keys) == COPY_BATCH:
                self._copy_batch(source, live, keys, counts, replace=replace, dry_run=dry_run)
                keys = []
        self._copy_batch(source, live, keys, counts, replace=replace, dry_run=dry_run)
        return {"target": name, "into": "the sandbox's Redis", **counts, "replace": replace, "dry_run": dry_run}

    @staticmethod
    def _copy_batch(source: Any, live: Any, keys: list[bytes], counts: dict[str, int], *,
                    replace: bool, dry_run: bool) -> None:
        """One round trip to each server per batch. Without ``replace`` a key is restored
        only if the live Redis does not hold it (RESTORE refuses a busy key), so a key
        written meanwhile is never overwritten."""
        from redis.exceptions import ResponseError

        if not keys:
            return
        read = source.pipeline(transaction=False)
        for key in keys:
            read.dump(key)
            read.pttl(key)
        answers = read.execute()
        present = [(k, d, t) for k, d, t in zip(keys, answers[::2], answers[1::2], strict=True)
                   if d is not None and t != -2]
        counts["expired"] += len(keys) - len(present)
        write = live.pipeline(transaction=False)
        for key, dumped, ttl in present:
            if dry_run:
                write.exists(key)
            else:
                write.restore(key, max(int(ttl), 0), dumped, replace=replace)
        for answer in write.execute(raise_on_error=False):
            busy = isinstance(answer, ResponseError) and str(answer).startswith("BUSYKEY")
            if isinstance(answer, Exception) and not busy:
                raise DependencyError(f"copying keys into the sandbox's Redis: {answer}")
            if dry_run:
                busy = bool(answer) and not replace  # EXISTS answered
            counts["kept_live" if busy else "copied"] += 1
