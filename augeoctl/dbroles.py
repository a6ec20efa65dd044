"""Database roles for identities: what ``augeoctl db grant-identity`` does.

On Azure the platform's Flexible Server accepts Microsoft Entra logins only, and an Entra
identity (the app's managed identity) needs a PostgreSQL role before it can log in. Terraform
cannot make that role: it is made by SQL, by an Entra administrator of the server, with
``pgaadauth_create_principal(name, isAdmin, isMfa)`` ("Create a role using Microsoft Entra
principal name", learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users).
On the local sandbox the same command makes a plain login role of that name, so the SQL that
follows (the grants) is the same in both places and can be tested on a real PostgreSQL.

Everything happens in one transaction: the role and its grants appear together or not at
all. Running it again changes nothing (the role is looked up in ``pg_roles`` first; GRANT
and ALTER DEFAULT PRIVILEGES are idempotent).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from augeoctl.errors import UsageError

if TYPE_CHECKING:
    from psycopg import Cursor

# What the named access levels grant in the application's database (schema public).
# Default privileges apply to tables the connecting role creates later: on Azure that is
# the migration identity, which owns the schema the migrations create.
ACCESS: dict[str, dict[str, str]] = {
    "read": {"tables": "SELECT", "sequences": "SELECT"},
    "write": {"tables": "SELECT, INSERT, UPDATE, DELETE", "sequences": "USAGE, SELECT"},
}
DEFAULT_ROLES = ("write",)
SCHEMA = "public"
# PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes: a longer name would silently
# become another role.
MAX_NAME_BYTES = 63
_NAME = re.compile(r"^[^\x00-\x1f\"]+$")


class RoleCreator(ABC):
    """How the platform makes a login role for a principal."""

    kind: str

    @abstractmethod
    def statement(self, principal: str) -> tuple[str, tuple[Any, ...]]:
        """The SQL (with parameters) that creates the principal's role."""

    def display(self, principal: str) -> str:
        query, params = self.statement(principal)
        return query.replace("%s", "'{}'").format(*params) if params else query


class EntraPrincipals(RoleCreator):
    """Azure Database for PostgreSQL: a role mapped to a Microsoft Entra principal (a user,
    group, service principal or managed identity, by its display name), neither an admin
    nor MFA-bound."""

    kind = "entra"

    def statement(self, principal: str) -> tuple[str, tuple[Any, ...]]:
        return "SELECT * FROM pgaadauth_create_principal(%s, false, false)", (principal,)


class PlainRoles(RoleCreator):
    """The local sandbox: a plain login role (no Entra, no password: loopback trust)."""

    kind = "plain"

    def statement(self, principal: str) -> tuple[str, tuple[Any, ...]]:
        return f"CREATE ROLE {quote_ident(principal)} LOGIN", ()


@dataclass(frozen=True)
class DatabaseRoles:
    """Where the roles are made: a DSN (made when needed: on Azure it holds a fresh token)
    of a role allowed to create roles, and how the platform creates them."""

    dsn: Callable[[], str]
    creator: RoleCreator
    where: str


@dataclass
class GrantResult:
    principal: str
    database: str
    kind: str
    existed: bool
    created: bool
    roles: list[str]
    statements: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"principal": self.principal, "database": self.database, "kind": self.kind,
                "existed": self.existed, "created": self.created, "roles": self.roles,
                "statements": self.statements, "dry_run": self.dry_run}


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, always double-quoted (principal names hold spaces, dashes,
    @ and dots)."""
    return '"' + name.replace('"', '""') + '"'


def check_principal(principal: str) -> str:
    """The principal's name as its role will be called, or a usage error naming the fix."""
    name = principal.strip()
    if not name:
        raise UsageError("--principal is empty",
                         hint="give the Entra display name of the identity, e.g. app-augeo-prod-api")
    if not _NAME.match(name):
        raise UsageError(f"--principal {principal!r} holds a control character or a double quote",
                         hint="give the identity's display name as Entra ID shows it")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise UsageError(f"--principal {principal!r} is longer than {MAX_NAME_BYTES} bytes, "
                         "PostgreSQL's limit for a role name",
                         hint="use an identity with a shorter display name")
    return name


def check_roles(roles: Sequence[str]) -> list[str]:
    """The requested access levels and roles, deduplicated in order; ``DEFAULT_ROLES`` when
    none is given."""
    out: list[str] = []
    for role in roles or DEFAULT_ROLES:
        name = role.strip()
        if not name or not _NAME.match(name) or len(name.encode()) > MAX_NAME_BYTES:
            raise UsageError(f"--role {role!r} is not a role name",
                             hint=f"use {' or '.join(ACCESS)}, or the name of an existing PostgreSQL role")
        if name not in out:
            out.append(name)
    return out


def grant_statements(principal: str, database: str, roles: Sequence[str]) -> list[str]:
    """The GRANTs that give ``principal`` each access level or role in ``database``."""
    who = quote_ident(principal)
    out = [f"GRANT CONNECT ON DATABASE {quote_ident(database)} TO {who}",
           f"GRANT USAGE ON SCHEMA {SCHEMA} TO {who}"]
    for role in roles:
        access = ACCESS.get(role)
        if access is None:
            out.append(f"GRANT {quote_ident(role)} TO {who}")
            continue
        out += [f"GRANT {access['tables']} ON ALL TABLES IN SCHEMA {SCHEMA} TO {who}",
                f"GRANT {access['sequences']} ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {who}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT {access['tables']} ON TABLES TO {who}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT {access['sequences']} ON SEQUENCES TO {who}"]
    return out


def _existing(cur: Cursor[Any], names: Sequence[str]) -> set[str]:
    cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(names),))
    return {str(row[0]) for row in cur.fetchall()}


def grant_identity(target: DatabaseRoles, principal: str, roles: Sequence[str], *,
                   dry_run: bool = False) -> GrantResult:
    """Make ``principal``'s role if it does not exist, then grant ``roles`` (access levels
    of ``ACCESS`` or existing PostgreSQL roles), in one transaction. With ``dry_run`` the
    statements are worked out and nothing is changed."""
    import psycopg

    from augeoctl import drivers

    name = check_principal(principal)
    wanted = check_roles(roles)
    with drivers.translated(f"granting {name} on {target.where}"):
        with psycopg.connect(target.dsn(), connect_timeout=15) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            row = cur.fetchone()
            database = str(row[0]) if row else ""
            named = [r for r in wanted if r not in ACCESS]
            missing = [r for r in named if r not in _existing(cur, named)]
            if missing:
                raise UsageError(f"--role {', '.join(missing)}: no such role on {target.where}",
                                 hint=f"use {' or '.join(ACCESS)}, or create the role first; nothing was changed")
            existed = bool(_existing(cur, [name]))
            statements = [] if existed else [target.creator.display(name)]
            grants = grant_statements(name, database, wanted)
            statements += grants
            if not dry_run:
                if not existed:
                    query, params = target.creator.statement(name)
                    cur.execute(query, params)  # type: ignore[arg-type]  # built from quote_ident
                for grant in grants:
                    cur.execute(grant)  # type: ignore[arg-type]
                conn.commit()
            else:
                conn.rollback()
    return GrantResult(principal=name, database=database, kind=target.creator.kind, existed=existed,
                       created=not existed and not dry_run, roles=wanted, statements=statements,
                       dry_run=dry_run)
