"""Loopback addresses of the sandbox's servers: the one place DSNs and URLs are built.

The sandbox, its restore targets and the reference service all listen on 127.0.0.1;
PostgreSQL trusts local connections of the ``augeo`` superuser, so a DSN needs no password.
"""

from __future__ import annotations

from urllib.parse import urlencode

from augeoctl.local.procs import LOOPBACK

APP_DB = "augeo"
SUPERUSER = "augeo"


def loopback_dsn(port: int, dbname: str = APP_DB, user: str = SUPERUSER, **params: str) -> str:
    """A libpq URI for a PostgreSQL on loopback; ``params`` become URI parameters."""
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql://{user}@{LOOPBACK}:{port}/{dbname}{query}"


def redis_url(port: int, db: int = 0) -> str:
    """The URL of a redis-server on loopback."""
    return f"redis://{LOOPBACK}:{port}/{db}"


def http_url(port: int) -> str:
    """The base URL of an HTTP service on loopback."""
    return f"http://{LOOPBACK}:{port}"
