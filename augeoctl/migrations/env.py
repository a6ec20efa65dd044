"""Alembic's environment for the application schema (run by ``alembic.command``).

Online, it connects with SQLAlchemy and psycopg 3 (``postgresql+psycopg://``) to the URL
augeoctl put in ``config.attributes["url"]`` (or, for a stand-alone ``alembic`` run,
``sqlalchemy.url``) and runs each revision in its own transaction
(``transaction_per_migration=True``): a revision that fails rolls back alone, and the
ones before it stay committed, with ``alembic_version`` saying which. Offline (``--sql``,
what ``augeoctl migrate --dry-run`` shows) it writes the same SQL to the output buffer.
Logging is left to the caller: no ``fileConfig``, so nothing reaches stdout.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: augeoctl passes one, or set sqlalchemy.url")
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return str(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), literal_binds=True, transaction_per_migration=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
