"""Migrations on an Azure environment, through the real Azure SDK against the fake ARM:
the pre-migration point is an on-demand backup (or the time marked on Burstable), and
Alembic connects as the pipeline identity's Entra principal with a token as its password.
A TLS-only PostgreSQL with SCRAM passwords stands in for the Flexible Server (its Entra
principal's password is the fake credential's token); an unreachable server (outside the
VNet) is exit 3 before any backup."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from augeoctl import config
from augeoctl.cli.common import Reporter
from augeoctl.platform import platform_for
from tests.azure import standin as standin_server
from tests.azure.test_azure_pg import SOURCE, fake, invoke, standin, write_config  # noqa: F401
from tests.fakearm.postgres import FlexibleServers

pytestmark = pytest.mark.integration

NO_SERVER = SimpleNamespace(port=5432)  # the DSN is not used


def _config(tmp_path: Path, fake: FlexibleServers) -> Path:  # noqa: F811
    return write_config(tmp_path, fake, NO_SERVER)  # type: ignore[arg-type]


def test_migrate_on_azure_backs_up_then_migrates_as_the_entra_principal(tmp_path, fake, credential,  # noqa: F811
                                                                          standin) -> None:  # noqa: F811
    from tests.fakearm.server import TOKEN

    user = standin_server.ENTRA_USER
    standin.psql(f'CREATE DATABASE augeo_az OWNER "{user}"')
    cfg = write_config(tmp_path, fake, standin, postgres_host="127.0.0.1", migration_user=user,
                       postgres_database="augeo_az")
    dry = invoke(cfg, "migrate", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "CREATE TABLE app.organizations" in dry.stdout
    assert [q for q in fake.arm.requests if q.method != "GET"] == []  # a dry run changes nothing
    r = invoke(cfg, "migrate", "--yes", "-o", "json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["pre_migration_point"]["kind"] == "on-demand-backup"
    assert result["pre_migration_point"]["backup_id"] in fake.backups[SOURCE]
    revision = standin.psql("SELECT version_num FROM alembic_version", dbname="augeo_az")
    owner = standin.psql("SELECT tableowner FROM pg_tables WHERE schemaname = 'app' AND tablename = 'events'",
                         dbname="augeo_az")
    assert revision == result["revision_after"] and owner == user  # as the Entra principal, over TLS
    assert TOKEN not in r.output + r.stderr + dry.output + dry.stderr


def test_migrate_from_outside_the_vnet_is_exit_3_before_any_backup(tmp_path, fake, credential) -> None:  # noqa: F811
    closed = SimpleNamespace(port=1)  # nothing listens on port 1
    cfg = write_config(tmp_path, fake, closed, postgres_host="127.0.0.1",  # type: ignore[arg-type]
                       migration_user="augeo-pipeline")
    r = invoke(cfg, "migrate", "--yes")
    assert r.exit_code == 3, r.output
    assert "could not be reached" in r.stderr and "inside its VNet" in r.stderr
    assert [q for q in fake.arm.requests if q.method != "GET"] == []


def test_the_pre_migration_point_is_an_on_demand_backup(tmp_path, fake, credential) -> None:  # noqa: F811
    cfg = _config(tmp_path, fake)
    platform = platform_for(config.resolve(env="staging", config=cfg))
    point = platform.mark_migration_point("augeoctl-mig-test", Reporter(live=False))
    assert point.kind == "on-demand-backup" and point.backup_id in fake.backups[SOURCE]
    fake.servers[SOURCE]["sku"]["tier"] = "Burstable"
    marked = platform.mark_migration_point("augeoctl-mig-test-2", Reporter(live=False))
    assert marked.kind == "marked-time" and marked.backup_id is None and "Burstable" in marked.note
    assert marked.at >= point.at
