"""``augeoctl db``: the platform's database, as the deployment sees it.

``db grant-identity`` gives an identity (the app's managed identity) its PostgreSQL role
and grants; the SQL is in ``augeoctl.dbroles``.
"""

from __future__ import annotations

from typing import Any

import click

from augeoctl.cli.common import common_options, emit, exclusive, reporter, settings
from augeoctl.dbroles import ACCESS, DEFAULT_ROLES, grant_identity
from augeoctl.platform import platform_for


@click.group()
@common_options
def db() -> None:
    """Database roles of the platform's identities."""


def _grant_text(r: dict[str, Any]) -> str:
    if r["dry_run"]:
        head = (f"would grant {', '.join(r['roles'])} to {r['principal']} on database {r['database']} "
                f"({'role exists' if r['existed'] else 'role would be created'}); nothing changed")
    else:
        state = "role existed" if r["existed"] else "role created"
        head = f"granted {', '.join(r['roles'])} to {r['principal']} on database {r['database']} ({state})"
    return "\n".join([head, *(f"  {s}" for s in r["statements"])])


@db.command("grant-identity")
@click.option("--principal", "-p", required=True, metavar="NAME",
              help="The identity's Microsoft Entra display name (its PostgreSQL role), "
                   "e.g. the web app's name for its system-assigned identity.")
@click.option("--role", "roles", multiple=True, metavar="ROLE",
              help=f"{' or '.join(ACCESS)} (tables and sequences of schema public, now and later), or an "
                   f"existing PostgreSQL role to grant; repeatable. Default: {', '.join(DEFAULT_ROLES)}.")
@click.option("--dry-run", is_flag=True, help="Show the statements; change nothing.")
@common_options
@exclusive
def grant_identity_cmd(principal: str, roles: tuple[str, ...], dry_run: bool) -> None:
    """Create the PostgreSQL role of an identity if it is missing, and grant it access.

    On Azure, connects to the Flexible Server as the pipeline identity (migration_user, an
    Entra administrator of the server) with an Entra token, and runs
    pgaadauth_create_principal(NAME, false, false) when pg_roles has no NAME; locally, it
    creates a plain login role in the sandbox. Then it grants --role. One transaction;
    running it again changes nothing. Run it from inside the VNet (the migration runner).
    """
    rep = reporter()
    target = platform_for(settings()).database_roles()
    with rep.step(f"grant {principal} on {target.where}"):
        result = grant_identity(target, principal, roles, dry_run=dry_run)
    emit(result.to_dict(), _grant_text)
