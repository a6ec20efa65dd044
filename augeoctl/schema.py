"""The application schema's Alembic project: where it is, and Alembic driven in process.

The project ships inside the package (``augeoctl/migrations``: ``alembic.ini``,
``env.py``, ``script.py.mako``, ``versions/``; the ``bad-migration`` drill's revision in
its own version location, ``drill/``). ``AlembicProject`` wraps one project, given by
its ini file, for one database: the revisions it holds, the database's revision, an
upgrade or downgrade (``alembic.command``, never a console script in a subprocess), and
the SQL an upgrade would run (offline mode, ``--sql``). The database URL travels in
``Config.attributes`` and is never written to a file or shown.

Alembic's and SQLAlchemy's errors are translated here into the one exception tree: a
project or revision that does not exist is bad input (``UsageError``), a database that
cannot be reached is ``DependencyError``. What a failing revision raises is the caller's
to report (``MigrationError`` carries it).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from augeoctl.errors import DependencyError, UsageError

PROJECT = resources.files("augeoctl") / "migrations"
SANDBOX_BASELINE = "0002"  # the revision the former seed.sql schema equals


def shipped_ini() -> Path:
    """The shipped project's ini file (a real file: the package is installed unzipped)."""
    return Path(str(PROJECT / "alembic.ini"))


def drill_versions() -> Path:
    """The version location of the ``bad-migration`` drill's destructive revision."""
    return Path(str(PROJECT / "drill"))


@dataclass(frozen=True)
class Revision:
    id: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "message": self.message}


class MigrationError(Exception):
    """A revision failed while it ran (the database said no, or its code raised)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(_describe(cause))
        self.cause = cause


def _describe(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    text = str(orig if orig is not None else exc).strip()
    return f"{type(orig if orig is not None else exc).__name__}: {text.splitlines()[0] if text else ''}"


class AlembicProject:
    """One Alembic project (its ini file) against one database (``dsn``, may be None for
    what needs no database)."""

    def __init__(self, ini: Path, dsn: str | None = None, *,
                 extra_versions: Sequence[Path] = ()) -> None:
        from alembic.config import Config

        if not ini.is_file():
            raise UsageError(f"--alembic-ini {ini}: no such file",
                             hint="give the path of an alembic.ini, or leave the option out for "
                                  "the project shipped with augeoctl")
        self.ini = ini
        self.dsn = dsn
        self.buffer = io.StringIO()
        self.config = Config(str(ini), output_buffer=self.buffer, stdout=self.buffer)
        self._set_url(dsn)
        if not self.config.get_main_option("script_location"):
            raise UsageError(f"--alembic-ini {ini}: no script_location in its [alembic] section",
                             hint="an Alembic project's ini names its folder with script_location")
        if extra_versions:
            own = self.config.get_main_option("version_locations")
            if own is None:
                own = os.path.join(self.script().dir, "versions")
            joined = os.pathsep.join([own, *(str(p) for p in extra_versions)])
            self.config.set_main_option("version_locations", joined.replace("%", "%%"))
            self.config.set_main_option("path_separator", "os")

    def _set_url(self, url: str | None) -> None:
        # env.py reads attributes["url"]; a project of its own may read sqlalchemy.url
        # (kept in memory only, escaped for the ini's interpolation).
        self.config.attributes["url"] = url
        if url:
            self.config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))

    @classmethod
    def shipped(cls, dsn: str | None = None, *, extra_versions: Sequence[Path] = ()) -> AlembicProject:
        return cls(shipped_ini(), dsn, extra_versions=extra_versions)

    # -- the scripts --------------------------------------------------------------------

    def script(self) -> Any:
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        try:
            return ScriptDirectory.from_config(self.config)
        except CommandError as exc:
            raise UsageError(f"--alembic-ini {self.ini}: {exc}") from None

    def heads(self) -> tuple[str, ...]:
        return tuple(self.script().get_heads())

    def resolve(self, revision: str) -> tuple[str, ...]:
        """The revision id(s) ``revision`` names (``head``, an id or its prefix)."""
        from alembic.script.revision import RevisionError
        from alembic.util import CommandError

        try:
            found = self.script().get_revisions(revision)
        except (RevisionError, CommandError) as exc:
            raise UsageError(f'--revision "{revision}": {exc}',
                             hint="`head`, or a revision id of the project: "
                                  + ", ".join(self.known()[-5:])) from None
        ids = tuple(r.revision for r in found if r is not None)
        if not ids:
            raise UsageError(f'--revision "{revision}" names no revision', hint="use head or a revision id")
        return ids

    def known(self) -> list[str]:
        """Every revision id, oldest first."""
        return [r.revision for r in reversed(list(self.script().walk_revisions()))]

    def pending(self, current: str | None, target: str) -> list[Revision]:
        """The revisions an upgrade from ``current`` to ``target`` runs, in order; UsageError
        when ``target`` is not ahead of ``current`` (a downgrade)."""
        from alembic.script.revision import RevisionError

        script = self.script()
        try:
            found = list(script.iterate_revisions(target, current or "base"))
        except RevisionError as exc:
            raise UsageError(f'--revision "{target}" is not an upgrade from the database\'s '
                             f"revision {current or '(none)'}: {exc}",
                             hint="migrate only moves forward; choose a later revision") from None
        return [Revision(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "")
                for r in reversed(found)]

    # -- the database ------------------------------------------------------------------

    @contextmanager
    def _connection(self, what: str) -> Iterator[Any]:
        from sqlalchemy import create_engine, exc, pool

        if not self.dsn:
            raise UsageError("no database to migrate")
        url = self.dsn
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                url = "postgresql+psycopg://" + url[len(plain):]
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            with engine.connect() as conn:
                yield conn
        except exc.OperationalError as e:
            raise DependencyError(f"{what}: the database could not be reached ({_describe(e)})") from None
        finally:
            engine.dispose()

    def current(self) -> str | None:
        """The database's revision (None: no alembic_version, or empty)."""
        from alembic.runtime.migration import MigrationContext

        with self._connection("reading the database's revision") as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
        if len(heads) > 1:
            raise UsageError(f"the database is at several revisions ({', '.join(heads)})",
                             hint="merge the branches with `alembic merge` first")
        return heads[0] if heads else None

    def upgrade(self, target: str) -> None:
        """Run the revisions up to ``target``, each committed on its own; ``MigrationError``
        when one fails (the ones before it stay)."""
        from alembic import command

        self._run(lambda: command.upgrade(self.config, target))

    def downgrade(self, target: str) -> None:
        from alembic import command

        self._run(lambda: command.downgrade(self.config, target))

    def stamp(self, revision: str) -> None:
        """Record ``revision`` in alembic_version without running anything."""
        from alembic import command

        self._run(lambda: command.stamp(self.config, revision))

    def _run(self, action: Any) -> None:
        from sqlalchemy import exc

        if not self.dsn:
            raise UsageError("no database to migrate")
        try:
            action()
        except exc.OperationalError as e:
            if "connect" in str(e).lower() and "server" in str(e).lower():
                raise DependencyError(f"the database could not be reached ({_describe(e)})") from None
            raise MigrationError(e) from e
        except Exception as e:  # a revision is code of its own: whatever it raises failed it
            raise MigrationError(e) from e

    def offline_sql(self, current: str | None, target: str) -> str:
        """The SQL an upgrade from ``current`` to ``target`` would run (offline mode);
        touches no database."""
        from alembic import command

        self.buffer.seek(0)
        self.buffer.truncate()
        # Offline mode needs only the dialect: a URL without credentials.
        self._set_url("postgresql+psycopg://")
        try:
            command.upgrade(self.config, f"{current}:{target}" if current else target, sql=True)
        finally:
            self._set_url(self.dsn)
        return self.buffer.getvalue()
