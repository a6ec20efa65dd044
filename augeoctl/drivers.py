"""PostgreSQL (psycopg) and Redis (redis-py) errors, mapped to the exception tree once.

A refused or dropped connection is a dependency that cannot be reached (exit 3); refused
credentials are an authentication error (exit 3); anything else the server answered with
is a failed operation (exit 1). ``augeoctl.azure.translated`` does the same for the Azure
SDKs. Library code that judges (a drill phase, a health check) wraps its driver calls in
``translated``; the CLI edge maps whatever escaped with ``translate``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from augeoctl.errors import AugeoError, AuthError, DependencyError, OperationFailed


def translate(exc: BaseException, what: str = "") -> AugeoError | None:
    """The exception tree's counterpart of a driver error, or None for anything else."""
    prefix = f"{what}: " if what else ""
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, psycopg.errors.InvalidPassword | psycopg.errors.InvalidAuthorizationSpecification):
            return AuthError(f"{prefix}PostgreSQL refused the credentials: {text}",
                             hint="check the user and its password or token")
        if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
            return DependencyError(f"{prefix}cannot reach PostgreSQL: {text}",
                                   hint="is the server running? (`augeoctl sandbox status` locally)")
        return OperationFailed(f"{prefix}PostgreSQL: {text}")
    redis = sys.modules.get("redis")
    if redis is not None and isinstance(exc, redis.exceptions.RedisError):
        text = str(exc) or type(exc).__name__
        if isinstance(exc, redis.exceptions.AuthenticationError | redis.exceptions.AuthorizationError):
            return AuthError(f"{prefix}Redis refused the credentials: {text}")
        if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            return DependencyError(f"{prefix}cannot reach Redis: {text}",
                                   hint="is the server running? (`augeoctl sandbox status` locally)")
        return OperationFailed(f"{prefix}Redis: {text}")
    return None


@contextmanager
def translated(what: str = "") -> Iterator[None]:
    """Raise the exception tree's counterpart of a psycopg or redis error."""
    try:
        yield
    except AugeoError:
        raise
    except Exception as exc:
        mapped = translate(exc, what)
        if mapped is None:
            raise
        raise mapped from exc
