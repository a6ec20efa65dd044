"""The sandbox's PostgreSQL: configuration, initdb, seeding, start and stop, pg_receivewal.

The cluster lives in ``sandbox/pg`` (data folder, socket folder, log) and archives every
completed WAL segment into the store with ``archive-wal.sh``; with ``wal_streaming`` on,
pg_receivewal also streams WAL into the store through a replication slot. The servers
run as the service user when augeoctl runs as root (see ``privileges``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from augeoctl.errors import SandboxError
from augeoctl.local import procs, tools
from augeoctl.local.endpoints import APP_DB, SUPERUSER, loopback_dsn
from augeoctl.local.privileges import as_service, chown_tree, make_dir
from augeoctl.progress import Reporter
from augeoctl.schema import SANDBOX_BASELINE, MigrationError

DEFAULT_ARCHIVE_TIMEOUT = 60
RECEIVER_NAME = "augeo_receivewal"
# The archive_command: a shell script, so the service user needs no access to augeoctl.
ARCHIVE_SCRIPT = tools.resource_text("archive-wal.sh")


def stop_postgres(
    data: Path, mode: str = "fast", timeout: int = 60, *,
    user: str | None = None, bindir: str | None = None,
) -> None:
    """Stop the server of a data folder with pg_ctl; SIGQUIT it if pg_ctl fails."""
    pid = procs.read_pid(data / "postmaster.pid")
    if pid is None:
        return
    proc = tools.run(
        as_service([tools.pg_tool("pg_ctl", bindir), "-D", str(data), "-m", mode, "-w",
                    "-t", str(timeout), "-s", "stop"], user),
        check=False,
    )
    if proc.returncode != 0:
        procs.stop(pid, signal.SIGQUIT, timeout=10, kill_after=False)


class _PgTools:
    """PostgreSQL programs from the configured bin folder, run as the service user."""

    def __init__(self, user: str | None, bindir: str | None) -> None:
        self.user = user
        self.bindir = bindir

    def command(self, tool: str, *args: str) -> list[str]:
        return as_service([tools.pg_tool(tool, self.bindir), *args], self.user)


class WalReceiver(_PgTools):
    """pg_receivewal streaming the sandbox's WAL into the store through a slot."""

    def __init__(self, folder: Path, stream_dir: Path, *, user: str | None = None,
                 bindir: str | None = None) -> None:
        super().__init__(user, bindir)
        self.dir = stream_dir
        self.pidfile = folder / "pg_receivewal.pid"
        self.log = folder / "pg_receivewal.log"

    def pid(self) -> int | None:
        return procs.read_pid(self.pidfile)

    def stop(self) -> None:
        procs.stop(self.pid())

    def up(self, port: int, reporter: Reporter, mode: str) -> None:
        """Start pg_receivewal when streaming is configured (and drop its slot when not)."""
        conninfo = loopback_dsn(port, "postgres", application_name=RECEIVER_NAME)
        if mode == "off":
            self.stop()
            tools.run(self.command("pg_receivewal", "-d", conninfo, "-S", RECEIVER_NAME,
                                   "--drop-slot"), check=False)
            return
        if self.pid() is not None:
            return
        make_dir(self.dir, 0o750, self.user)
        proc = tools.run(self.command(
            "pg_receivewal", "-d", conninfo, "-S", RECEIVER_NAME, "--create-slot", "--if-not-exists",
        ), check=False)
        if proc.returncode != 0:
            raise SandboxError(f"pg_receivewal could not create its slot: {proc.stderr.strip()}")
        self.log.touch()
        chown_tree(self.log, self.user)
        args = ["-D", str(self.dir), "-d", conninfo, "-S", RECEIVER_NAME, "-n"]
        if mode == "sync":
            args.append("--synchronous")
        reporter.status(f"starting pg_receivewal ({mode})")
        with self.log.open("ab") as log:
            child = subprocess.Popen(self.command("pg_receivewal", *args), stdout=log, stderr=log,
                                     start_new_session=True)
        self.pidfile.write_text(str(child.pid))
        # Wait until the server sees the receiver streaming, so sync commits do not stall.
        import psycopg

        def streaming() -> bool:
            if child.poll() is not None:
                raise SandboxError(f"pg_receivewal exited: {tools.tail(self.log, 5)}")
            with psycopg.connect(loopback_dsn(port, "postgres"), autocommit=True) as conn:
                row = conn.execute(
                    "SELECT state FROM pg_stat_replication WHERE application_name = %s",
                    (RECEIVER_NAME,),
                ).fetchone()
            return bool(row and row[0] == "streaming")

        procs.wait_until(streaming, 15, what="pg_receivewal did not start streaming",
                         raise_as=SandboxError)


class SandboxPostgres(_PgTools):
    """The sandbox's cluster in one folder, archiving into ``wal_archive``."""

    def __init__(self, folder: Path, wal_archive: Path, wal_stream: Path, *,
                 user: str | None = None, bindir: str | None = None) -> None:
        super().__init__(user, bindir)
        self.dir = folder
        self.data = folder / "data"
        self.socket = folder / "socket"
        self.log = folder / "postgres.log"
        self.archive_script = folder / "archive-wal.sh"
        self.wal_archive = wal_archive
        self.receiver = WalReceiver(folder, wal_stream, user=user, bindir=bindir)

    def pid(self) -> int | None:
        return procs.read_pid(self.data / "postmaster.pid")

    @property
    def created(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def stop(self, mode: str = "fast") -> None:
        stop_postgres(self.data, mode, user=self.user, bindir=self.bindir)

    def up(self, st: dict[str, Any], reporter: Reporter, *, archive_timeout: int,
           wal_streaming: str) -> dict[str, Any]:
        """Create, configure and start the cluster as needed; returns its new state entry."""
        tools.check_shell_safe(self.data, self.log, self.wal_archive)
        make_dir(self.dir, 0o755, self.user)
        make_dir(self.socket, 0o755, self.user)
        port = st.get("port")
        if self.pid() is not None and port and procs.port_in_use(int(port)):
            self._write_archive_script()  # settings and the script may have changed
            self._write_conf(int(port), archive_timeout, wal_streaming)
            tools.run(self.command("pg_ctl", "-D", str(self.data), "reload", "-s"), check=False)
            self.receiver.up(int(port), reporter, wal_streaming)
            return {**st, "desired": "up"}
        if not self.created:
            self._initdb(reporter)
        if not port or procs.port_in_use(int(port)):
            port = procs.free_port()
        self._write_conf(int(port), archive_timeout, wal_streaming)
        self._write_archive_script()
        self._clear_stale_locks()
        self._start(int(port), reporter)
        self.receiver.up(int(port), reporter, wal_streaming)
        self._seed(int(port), reporter)
        return {**st, "port": int(port), "desired": "up"}

    def _initdb(self, reporter: Reporter) -> None:
        reporter.status("initdb")
        if self.data.exists():
            shutil.rmtree(self.data)
        make_dir(self.data, 0o700, self.user)
        proc = tools.run(
            self.command(
                "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth-local=trust",
                "--auth-host=trust", "--encoding=UTF8", "--locale=C", "--data-checksums",
            ),
            check=False,
        )
        if proc.returncode != 0:
            raise SandboxError(f"initdb failed: {proc.stderr.strip()[-500:]}")
        with (self.data / "postgresql.conf").open("a") as fh:
            fh.write("\n# augeoctl sandbox settings\ninclude_if_exists = 'augeo.conf'\n")

    def _write_conf(self, port: int, archive_timeout: int, wal_streaming: str) -> None:
        archive_cmd = " ".join([shlex.quote(str(self.archive_script)), "%p", "%f", shlex.quote(str(self.wal_archive)),
                                shlex.quote(tools.pg_tool("pg_waldump", self.bindir))])
        text = tools.resource_text("postgresql.conf").format(
            port=port,
            socket=self.socket,
            archive_command=archive_cmd.replace("'", "''"),
            archive_timeout=archive_timeout,
            synchronous_standby_names=RECEIVER_NAME if wal_streaming == "sync" else "",
        )
        conf = self.data / "augeo.conf"
        conf.write_text(text)
        chown_tree(conf, self.user)

    def _write_archive_script(self) -> None:
        # replaced whole, never rewritten in place: the archiver may be running it
        tmp = self.archive_script.with_name(f".{self.archive_script.name}.{os.getpid()}")
        tmp.write_text(ARCHIVE_SCRIPT)
        tmp.chmod(0o755)
        os.replace(tmp, self.archive_script)

    def _clear_stale_locks(self) -> None:
        """Remove the lock files of a postmaster that is gone.

        A postmaster that was killed may linger as a zombie until it is reaped, and
        PostgreSQL would take its stale lock file for a live server.
        """
        if not (self.data / "postmaster.pid").exists() or self.pid() is not None:
            return
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.socket.glob(".s.PGSQL.*.lock"):
            if procs.read_pid(lock) is None:
                lock.unlink(missing_ok=True)

    def _start(self, port: int, reporter: Reporter) -> None:
        tools.check_shell_safe(tools.pg_tool("pg_ctl", self.bindir), self.data, self.log)
        reporter.status(f"starting PostgreSQL on 127.0.0.1:{port}")
        self.log.touch()
        chown_tree(self.log, self.user)
        proc = tools.run(
            self.command("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                         "-s", "start"),
            check=False,
        )
        if proc.returncode != 0:
            raise SandboxError(
                f"PostgreSQL did not start: {proc.stderr.strip()[-300:]}\n{tools.tail(self.log, 8)}"
            )

    def _seed(self, port: int, reporter: Reporter) -> None:
        """Create the application database, give a new one its schema from the shipped
        migrations (``alembic upgrade head``), then apply the seed data (idempotent)."""
        import psycopg

        from augeoctl.schema import AlembicProject

        try:
            with psycopg.connect(
                loopback_dsn(port, "postgres"), autocommit=True, connect_timeout=10
            ) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (APP_DB,)
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{APP_DB}"')
            with psycopg.connect(loopback_dsn(port, APP_DB), autocommit=True, connect_timeout=10) as conn:
                versioned, legacy = conn.execute(
                    "SELECT to_regclass('public.alembic_version') IS NOT NULL,"
                    " to_regclass('app.events') IS NOT NULL").fetchone()  # type: ignore[misc]
            if not versioned:
                # A new database (or one made before the schema came from migrations,
                # whose schema is the baseline revision's). A versioned one is left as it
                # is: `augeoctl migrate` moves it, possibly past the shipped head.
                project = AlembicProject.shipped(loopback_dsn(port, APP_DB))
                if legacy:
                    project.stamp(SANDBOX_BASELINE)
                with reporter.step("schema migrations (alembic upgrade head)"):
                    project.upgrade("head")
            with psycopg.connect(loopback_dsn(port, APP_DB), connect_timeout=10) as conn:
                conn.execute(tools.resource_text("seed.sql"))
        except MigrationError as exc:
            raise SandboxError(f"migrating the application database failed: {exc}") from None
        except psycopg.Error as exc:
            raise SandboxError(f"seeding the application database failed: {exc}") from None
        reporter.status("application database ready")
