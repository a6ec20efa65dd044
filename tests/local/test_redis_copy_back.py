"""`augeoctl targets copy-back`: a restored Redis target's keys back into the live Redis."""

from __future__ import annotations

import pytest
import redis

from tests.conftest import SandboxHandle, run_cli

pytestmark = pytest.mark.integration


def test_copy_back_restores_missing_keys_with_their_ttl_and_keeps_newer_ones(home) -> None:
    handle = SandboxHandle(home)
    assert run_cli("sandbox", "up", home=home).returncode == 0
    live = redis.Redis.from_url(handle.sandbox.redis_url(), socket_timeout=10)
    live.set("session:a", "from-snapshot", ex=3600)
    live.set("session:b", "from-snapshot")
    live.hset("profile:1", mapping={"name": "ada"})
    assert run_cli("backup", "create", "--kind", "redis", home=home).returncode == 0
    made = run_cli("restore", "--redis", "--target", "cache-copy", "-o", "json", home=home)
    assert made.returncode == 0, made
    # The cache lost its data and users came back: one key rewritten since.
    live.flushall()
    live.set("session:b", "written-since")

    dry = run_cli("targets", "copy-back", "cache-copy", "--dry-run", "-o", "json", home=home)
    assert dry.returncode == 0, dry
    assert dry.json()["copied"] == 2 and dry.json()["kept_live"] == 1
    assert live.dbsize() == 1  # a dry run writes nothing

    r = run_cli("targets", "copy-back", "cache-copy", "-o", "json", home=home)
    assert r.returncode == 0, r
    assert r.json() | {"copied": 2, "kept_live": 1, "expired": 0} == r.json()
    assert live.get("session:a") == b"from-snapshot" and 0 < live.ttl("session:a") <= 3600
    assert live.hgetall("profile:1") == {b"name": b"ada"} and live.ttl("profile:1") == -1
    assert live.get("session:b") == b"written-since"  # newer than the snapshot: kept

    again = run_cli("targets", "copy-back", "cache-copy", "--replace", "-o", "json", home=home)
    assert again.returncode == 0 and again.json()["copied"] == 3
    assert live.get("session:b") == b"from-snapshot"
    # The target is left as it was, until it is dropped.
    listed = run_cli("targets", "list", "-o", "json", home=home).json()["targets"]
    assert [t["name"] for t in listed] == ["cache-copy"]


def test_copy_back_refuses_what_is_not_a_ready_redis_target(home) -> None:
    assert run_cli("sandbox", "up", home=home).returncode == 0
    r = run_cli("targets", "copy-back", "no-such-target", home=home)
    assert r.returncode == 2 and "no restored target" in r.stderr and "Traceback" not in r.stderr
    assert run_cli("backup", "create", "--kind", "postgres", home=home).returncode == 0
    assert run_cli("restore", "--latest", "--target", "pg-copy", home=home).returncode == 0
    r = run_cli("targets", "copy-back", "pg-copy", home=home)
    assert r.returncode == 2 and "not a ready Redis target" in r.stderr and "SQL" in r.stderr
