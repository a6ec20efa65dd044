"""``augeoctl db grant-identity`` on a real PostgreSQL (the sandbox), and its Azure path.

The local path runs the command as a user would (a subprocess) against the sandbox. The
Azure path is the same library code with the Azure platform's DSN (the pipeline identity,
an Entra token from the test credential) and ``pgaadauth_create_principal``; it runs against
the sandbox's PostgreSQL too, where a stand-in of that function with the documented
signature creates the role, so the statements are executed, not only printed.
"""

from __future__ import annotations

from typing import Any

import pytest

from augeoctl import azure, config
from augeoctl.config import Settings
from augeoctl.dbroles import EntraPrincipals, grant_identity, grant_statements
from augeoctl.errors import EXIT_USAGE, AugeoError
from augeoctl.platform.azure import AzurePlatform
from tests.conftest import run_cli
from tests.fakearm.server import TestCredential

pytestmark = pytest.mark.integration

APP = "app-augeo-test-api"


def roles(sandbox, name: str) -> list[tuple]:
    return sandbox.sql("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = %s", (name,))


def table_privileges(sandbox, name: str, table: str) -> set[str]:
    rows = sandbox.sql("SELECT privilege_type FROM information_schema.role_table_grants "
                       "WHERE grantee = %s AND table_name = %s", (name, table))
    return {r[0] for r in rows}


def test_grant_identity_creates_the_role_once_and_grants_write(sandbox) -> None:
    sandbox.sql("CREATE TABLE IF NOT EXISTS grant_probe (id serial PRIMARY KEY, v text)")
    first = run_cli("db", "grant-identity", "--principal", APP, "--output", "json", home=sandbox.home)
    assert first.returncode == 0, first
    out = first.json()
    assert (out["existed"], out["created"], out["roles"], out["kind"]) == (False, True, ["write"], "plain")
    assert out["statements"][0] == f'CREATE ROLE "{APP}" LOGIN'
    assert roles(sandbox, APP) == [(APP, True)]
    assert table_privileges(sandbox, APP, "grant_probe") == {"SELECT", "INSERT", "UPDATE", "DELETE"}

    # Again: the role is found in pg_roles, nothing is created, the grants stay as they are.
    again = run_cli("db", "grant-identity", "--principal", APP, "--output", "json", home=sandbox.home)
    assert again.returncode == 0, again
    assert (again.json()["existed"], again.json()["created"]) == (True, False)
    assert not any(s.startswith("CREATE ROLE") for s in again.json()["statements"])
    assert roles(sandbox, APP) == [(APP, True)]
    assert table_privileges(sandbox, APP, "grant_probe") == {"SELECT", "INSERT", "UPDATE", "DELETE"}

    # Tables made later (by the role that ran the command) come with the same privileges.
    sandbox.sql("CREATE TABLE grant_probe_later (id int)")
    assert table_privileges(sandbox, APP, "grant_probe_later") == {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_read_only_grant_and_an_existing_postgres_role(sandbox) -> None:
    name = "id-augeo-test-reader"
    sandbox.sql("CREATE TABLE IF NOT EXISTS grant_probe_read (id int)")
    done = run_cli("db", "grant-identity", "--principal", name, "--role", "read", "--role", "pg_monitor",
                   "--output", "json", home=sandbox.home)
    assert done.returncode == 0, done
    assert done.json()["roles"] == ["read", "pg_monitor"]
    assert table_privileges(sandbox, name, "grant_probe_read") == {"SELECT"}
    member = sandbox.sql("SELECT pg_has_role(%s, 'pg_monitor', 'MEMBER')", (name,))
    assert member == [(True,)]


def test_bad_input_changes_nothing_and_exits_2(sandbox) -> None:
    name = "id-augeo-test-refused"
    unknown = run_cli("db", "grant-identity", "--principal", name, "--role", "no_such_role", home=sandbox.home)
    assert unknown.returncode == EXIT_USAGE, unknown
    assert "no_such_role" in unknown.stderr and "Traceback" not in unknown.stderr
    assert roles(sandbox, name) == []
    long = run_cli("db", "grant-identity", "--principal", "x" * 64, home=sandbox.home)
    assert long.returncode == EXIT_USAGE and "63 bytes" in long.stderr
    empty = run_cli("db", "grant-identity", "--principal", " ", home=sandbox.home)
    assert empty.returncode == EXIT_USAGE and "--principal" in empty.stderr


def test_dry_run_shows_the_statements_and_creates_nothing(sandbox) -> None:
    name = "id-augeo-test-dry"
    done = run_cli("db", "grant-identity", "--principal", name, "--dry-run", home=sandbox.home)
    assert done.returncode == 0, done
    assert "nothing changed" in done.stdout and f'CREATE ROLE "{name}" LOGIN' in done.stdout
    assert roles(sandbox, name) == []


# -- the Azure path --------------------------------------------------------------------------

STAND_IN = """
CREATE OR REPLACE FUNCTION pgaadauth_create_principal(name text, is_admin boolean, is_mfa boolean)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE ROLE %I LOGIN', name);
  RETURN format('Created role for "%s"', name);
END $$;
"""


@pytest.fixture
def credential():
    cred = TestCredential("eyJ0eXAi.entra-token.sig")
    azure.set_credential_factory(lambda env: cred)
    yield cred
    azure.set_credential_factory(None)


def azure_platform(sandbox, **extra: Any) -> AzurePlatform:
    port = sandbox.sandbox.pg_port()
    values = {
        "subscription_id": "s", "resource_group": "rg", "postgres_server": "psql-augeo-staging",
        "postgres_host": "127.0.0.1", "postgres_port": port, "postgres_sslmode": "disable",
        "postgres_database": "augeo", "migration_user": "id-augeo-staging-deploy", **extra}
    env = config.validate_environment("staging", {k: v for k, v in values.items() if v is not None}, "test")
    return AzurePlatform(Settings(env=env, home=sandbox.home))


def test_azure_dsn_is_the_pipeline_identity_with_an_entra_token(sandbox, credential) -> None:
    from psycopg.conninfo import conninfo_to_dict

    target = azure_platform(sandbox).database_roles()
    assert isinstance(target.creator, EntraPrincipals)
    parts = conninfo_to_dict(target.dsn())
    assert (parts["user"], parts["password"]) == ("id-augeo-staging-deploy", "eyJ0eXAi.entra-token.sig")
    assert credential.scopes == [("https://ossrdbms-aad.database.windows.net/.default",)]
    assert target.creator.statement("app-augeo-staging-api") == (
        "SELECT * FROM pgaadauth_create_principal(%s, false, false)", ("app-augeo-staging-api",))


def test_azure_path_calls_pgaadauth_create_principal_once(sandbox, credential) -> None:
    db = sandbox.sql("SELECT current_database()")[0][0]
    sandbox.sql('CREATE ROLE "id-augeo-staging-deploy" LOGIN SUPERUSER')
    with sandbox.connect() as conn:
        conn.execute(STAND_IN)
    platform = azure_platform(sandbox, postgres_database=db)
    principal = "app-augeo-staging-api"
    first = grant_identity(platform.database_roles(), principal, ["write"])
    assert (first.existed, first.created, first.kind) == (False, True, "entra")
    assert first.statements[0] == f"SELECT * FROM pgaadauth_create_principal('{principal}', false, false)"
    assert first.statements[1:] == grant_statements(principal, db, ["write"])
    assert roles(sandbox, principal) == [(principal, True)]
    # The function raises when the role exists: a second run must not call it.
    second = grant_identity(platform.database_roles(), principal, ["write"])
    assert (second.existed, second.created) == (True, False)


def test_azure_path_needs_the_pipeline_identity(sandbox, credential) -> None:
    platform = azure_platform(sandbox, migration_user=None)
    with pytest.raises(AugeoError) as missing:
        grant_identity(platform.database_roles(), "app-augeo-staging-api", [])
    assert missing.value.exit_code == EXIT_USAGE and "migration_user" in str(missing.value)
