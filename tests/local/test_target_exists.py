"""A restore target's name in use is the same refusal for PostgreSQL and Redis (exit 2)."""

from __future__ import annotations

import pytest

from augeoctl.errors import EXIT_USAGE, TargetExists
from augeoctl.platform.local import LocalPlatform
from augeoctl.progress import NullReporter
from tests.conftest import SandboxHandle, run_cli

pytestmark = pytest.mark.integration


def test_a_taken_target_name_is_refused_alike_for_postgres_and_redis(sandbox: SandboxHandle) -> None:
    platform = LocalPlatform.for_sandbox(sandbox.sandbox)
    platform.redis().create_backup(NullReporter())
    made = platform.restore_redis_target(None, "taken")
    try:
        with pytest.raises(TargetExists) as redis_refusal:
            platform.restore_redis_target(None, "taken")
        assert redis_refusal.value.exit_code == EXIT_USAGE
        assert 'a target named "taken" already exists' in redis_refusal.value.message
        # PostgreSQL refuses a name in use with the same code and words, before creating anything
        assert run_cli("backup", "create", home=sandbox.home).returncode == 0
        pg = platform.postgres()
        pg_dir = pg.targets.dir("taken")
        assert pg_dir.exists()  # the Redis target took the name in the shared targets folder
        r = run_cli("restore", "--latest", "--target", "taken", home=sandbox.home)
        assert r.returncode == EXIT_USAGE, r
        assert 'a target named "taken" already exists' in r.stderr
    finally:
        platform.drop_redis_target(made.name)
