"""Migrations on an Azure environment, through the real Azure SDK against the fake ARM:
`migrate` refuses before anything is changed (no network path or Entra token yet), and
the pre-migration point is an on-demand backup, or the time marked on Burstable."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from augeoctl import config
from augeoctl.cli.common import Reporter
from augeoctl.platform import platform_for
from tests.azure.test_azure_pg import SOURCE, credential, fake, invoke, write_config  # noqa: F401
from tests.fakearm.postgres import FlexibleServers

pytestmark = pytest.mark.integration

NO_SANDBOX = SimpleNamespace(sandbox=SimpleNamespace(pg_port=lambda: 5432))  # the DSN is not used


def _config(tmp_path: Path, fake: FlexibleServers) -> Path:  # noqa: F811
    return write_config(tmp_path, fake, NO_SANDBOX)  # type: ignore[arg-type]


def test_migrate_on_azure_is_refused_and_changes_nothing(tmp_path, fake, credential) -> None:  # noqa: F811
    cfg = _config(tmp_path, fake)
    r = invoke(cfg, "migrate", "--yes")
    assert r.exit_code == 2, r.output
    assert "not available yet" in r.stderr and "Entra" in r.stderr
    assert [q for q in fake.arm.requests if q.method != "GET"] == []
    dry = invoke(cfg, "migrate", "--dry-run")
    assert dry.exit_code == 2


def test_the_pre_migration_point_is_an_on_demand_backup(tmp_path, fake, credential) -> None:  # noqa: F811
    cfg = _config(tmp_path, fake)
    platform = platform_for(config.resolve(env="staging", config=cfg))
    point = platform.mark_migration_point("augeoctl-mig-test", Reporter(live=False))
    assert point.kind == "on-demand-backup" and point.backup_id in fake.backups[SOURCE]
    fake.servers[SOURCE]["sku"]["tier"] = "Burstable"
    marked = platform.mark_migration_point("augeoctl-mig-test-2", Reporter(live=False))
    assert marked.kind == "marked-time" and marked.backup_id is None and "Burstable" in marked.note
    assert marked.at >= point.at
