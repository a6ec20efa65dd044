"""The local sandbox: a real PostgreSQL cluster and redis-server on loopback.

``Sandbox`` is the facade callers use: ``up``/``down``/``status``, connection details
(``dsn``, ``redis_url``, ``app_url``), the servers' pids, and the sandbox's settings
applied to the programs it runs. The work is done by ``postgres`` (the cluster and
pg_receivewal), ``redis``, ``service`` (the reference service),
``state`` (state file and lock) and ``privileges`` (the service user).

Layout under the sandbox home (``AUGEO_HOME``)::

    sandbox/state.json        ports and what should be running
    sandbox/pg/data           the PostgreSQL cluster (wal_level=replica, archiving on)
    sandbox/pg/socket         its Unix socket folder
    sandbox/pg/postgres.log
    sandbox/redis/            redis.conf, dump.rdb, redis.log
    sandbox/app/              the reference service's pid file and log
    store/wal                 the WAL archive
    store/wal-stream          WAL streamed by pg_receivewal (wal_streaming async/sync)
    store/base/ID             base backups
    store/redis/ID            Redis RDB copies
    targets/NAME              instances made by restores

Settings (the ``settings`` mapping, from the environment's configuration):
``archive_timeout`` (int seconds, default 60), ``wal_streaming`` ("off", "async" or
"sync", default "off"), ``service_user`` (default "postgres"), ``pg_bindir`` and
``redis_server`` (default: found where distributions install them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from augeoctl.errors import ConfigError, DependencyError, SandboxError, UnfinishedDrill
from augeoctl.local import privileges, procs, tools
from augeoctl.local.endpoints import APP_DB, http_url, loopback_dsn, redis_url
from augeoctl.local.postgres import (
    ARCHIVE_SCRIPT,
    DEFAULT_ARCHIVE_TIMEOUT,
    SandboxPostgres,
    stop_postgres,
)
from augeoctl.local.privileges import as_service, chown_tree, make_dir
from augeoctl.local.redis import SandboxRedis
from augeoctl.local.state import Component, SandboxStatus, StateFile
from augeoctl.progress import NullReporter, Reporter

# The facade's own names, and names of its parts that callers import from here.
__all__ = [
    "ARCHIVE_SCRIPT", "Component", "Sandbox", "SandboxStatus", "as_service", "chown_tree",
    "make_dir", "require_running", "stop_postgres",
]

WAL_STREAMING_MODES = ("off", "async", "sync")


class Sandbox:
    """The local environment's servers and stores."""

    def __init__(self, home: Path, settings: dict[str, Any] | None = None) -> None:
        self.home = Path(home)
        self.settings = settings or {}
        self.dir = self.home / "sandbox"
        self.store = self.home / "store"
        self.wal_archive = self.store / "wal"
        self.wal_stream = self.store / "wal-stream"
        self.base_dir = self.store / "base"
        self.redis_store = self.store / "redis"
        self.targets_dir = self.home / "targets"
        self.state = StateFile(self.dir)
        self.state_file = self.state.path

        self.postgres = SandboxPostgres(
            self.dir / "pg", self.wal_archive, self.wal_stream,
            user=self.service_user, bindir=self._setting("pg_bindir"),
        )
        self.pg_dir = self.postgres.dir
        self.pg_data = self.postgres.data
        self.pg_socket = self.postgres.socket
        self.pg_log = self.postgres.log
        self.receiver_pidfile = self.postgres.receiver.pidfile
        self.receiver_log = self.postgres.receiver.log

        self.redis = SandboxRedis(
            self.dir / "redis", server=self._setting("redis_server"), user=self.service_user
        )
        self.redis_dir = self.redis.dir
        self.redis_conf = self.redis.conf
        self.redis_log = self.redis.log
        self.redis_pidfile = self.redis.pidfile

        self.app_dir = self.dir / "app"
        self.app_pidfile = self.app_dir / "service.pid"
        self.app_log = self.app_dir / "service.log"
        # The staging slot of the API (`augeoctl release`): its own gunicorn, started by a
        # deployment into it; the slot records of both are in slots.json.
        self.staging_dir = self.dir / "app-staging"
        self.staging_pidfile = self.staging_dir / "service.pid"
        self.staging_log = self.staging_dir / "service.log"
        self.staging_portfile = self.staging_dir / "port"
        from augeoctl.local.slots import SlotStore

        self.slots = SlotStore(self.dir, self.home)

    # -- settings ------------------------------------------------------------

    def _setting(self, key: str) -> str | None:
        value = self.settings.get(key)
        return str(value) if value else None

    @property
    def service_user(self) -> str | None:
        """The user the servers run as when augeoctl runs as root (None: the default)."""
        return self._setting("service_user")

    @property
    def service_workers(self) -> int:
        """uvicorn workers of each slot of the reference service (``service_workers``)."""
        return int(self.settings.get("service_workers") or 1)

    @property
    def archive_timeout(self) -> int:
        value = self.settings.get("archive_timeout")
        try:
            result = int(value) if value is not None else DEFAULT_ARCHIVE_TIMEOUT
        except ValueError:
            raise ConfigError(
                f'archive_timeout "{value}" is not a whole number of seconds'
            ) from None
        if result < 1:
            raise ConfigError("archive_timeout must be at least 1 second")
        return result

    @property
    def wal_streaming(self) -> str:
        """off: archive only; async/sync: pg_receivewal streams WAL (sync: commits wait for it)."""
        value = str(self.settings.get("wal_streaming", "off")).lower()
        if value not in WAL_STREAMING_MODES:
            raise ConfigError(f'wal_streaming "{value}" is not known', hint="use off, async or sync")
        return value

    def wal_dirs(self) -> list[Path]:
        """Where complete WAL segments can be found: the archive, then streamed WAL."""
        return [self.wal_archive, self.wal_stream]

    # -- programs, run with the sandbox's settings -------------------------------

    def pg_tool(self, name: str) -> str:
        """The path of a PostgreSQL program (``pg_bindir``)."""
        return tools.pg_tool(name, self.postgres.bindir)

    def redis_server(self) -> str:
        """The redis-server program (``redis_server``)."""
        return tools.redis_server(self.redis.server)

    def as_service(self, args: list[str]) -> list[str]:
        """A command line run as the service user when we are root."""
        return as_service(args, self.service_user)

    def make_dir(self, path: Path, mode: int = 0o700) -> Path:
        """A folder owned by the service user when we are root."""
        return make_dir(path, mode, self.service_user)

    def chown_tree(self, path: Path) -> None:
        """Give a folder or file to the service user when we are root."""
        chown_tree(path, self.service_user)

    def stop_postgres(self, data: Path, mode: str = "fast", timeout: int = 60) -> None:
        """Stop the PostgreSQL of a data folder (the sandbox's or a restored target's)."""
        stop_postgres(data, mode, timeout, user=self.service_user, bindir=self.postgres.bindir)

    # -- connection details ----------------------------------------------------

    def _port(self, component: str, what: str) -> int:
        port = self.state.load().get(component, {}).get("port")
        if not port:
            raise SandboxError(f"the sandbox has no {what} yet", hint="run `augeoctl sandbox up`")
        return int(port)

    def pg_port(self) -> int:
        return self._port("postgres", "PostgreSQL")

    def dsn(self, dbname: str = APP_DB, port: int | None = None) -> str:
        """A DSN for a database of the sandbox's PostgreSQL, or of the one on ``port``."""
        return loopback_dsn(port or self.pg_port(), dbname)

    def redis_url(self, port: int | None = None) -> str:
        """The URL of the sandbox's Redis, or of the redis-server on ``port``."""
        return redis_url(port or self._port("redis", "Redis"))

    def app_url(self) -> str:
        return http_url(self._port("app", "reference service"))

    # -- pids (None when the server is not running) ------------------------------

    def pg_pid(self) -> int | None:
        return self.postgres.pid()

    def redis_pid(self) -> int | None:
        return self.redis.pid()

    def receiver_pid(self) -> int | None:
        return self.postgres.receiver.pid()

    def app_pid(self) -> int | None:
        return procs.read_pid(self.app_pidfile)

    # -- status ------------------------------------------------------------------

    def status(self) -> SandboxStatus:
        state = self.state.load()
        pg_port = state.get("postgres", {}).get("port")
        rd_port = state.get("redis", {}).get("port")
        app_port = state.get("app", {}).get("port")
        postgres = _component(
            "postgres", state, self.pg_pid(), self.postgres.created,
            loopback_dsn(pg_port) if pg_port else None, self.pg_log,
        )
        redis = _component(
            "redis", state, self.redis_pid(), self.redis.created,
            redis_url(rd_port) if rd_port else None, self.redis_log,
        )
        receiver_pid = self.receiver_pid()
        if self.wal_streaming == "off":
            receiver = Component("wal_receiver", "off")
        elif receiver_pid is not None:
            receiver = Component("wal_receiver", "running", pid=receiver_pid,
                                 detail=f"pg_receivewal ({self.wal_streaming}) into {self.wal_stream}")
        else:
            receiver = Component(
                "wal_receiver", "crashed" if postgres.running else "stopped",
                detail=f"pg_receivewal is not running; log: {self.receiver_log}",
                log=str(self.receiver_log),
            )
        app = _component(
            "app", state, self.app_pid(), self.app_dir.exists() and bool(app_port),
            http_url(app_port) if app_port else None, self.app_log,
        )
        return SandboxStatus(str(self.home), postgres, redis, self.archive_timeout,
                             wal_streaming=self.wal_streaming, wal_receiver=receiver, app=app)

    # -- up / down -----------------------------------------------------------------

    def ensure_up(self, reporter: Reporter | None = None) -> SandboxStatus:
        """Start the sandbox if it is not running, saying so."""
        reporter = reporter or NullReporter()
        current = self.status()
        if current.running:
            return current
        reporter.info(f"the local sandbox is not running: starting it in {self.home}")
        return self.up(reporter)

    def moved_aside(self) -> list[Path]:
        """Data a DR drill moved aside (``data.lost-*``, ``dump.rdb.lost-*``) that starting
        now would shadow with a new, empty server: the data folder when no cluster is in
        its place, the RDB when Redis has none and is not running."""
        out: list[Path] = []
        if not self.postgres.created:
            out += sorted(self.pg_data.parent.glob("data.lost-*"))
        if not (self.redis_dir / "dump.rdb").exists() and self.redis_pid() is None:
            out += sorted(self.redis_dir.glob("dump.rdb.lost-*"))
        return out

    def up(self, reporter: Reporter | None = None) -> SandboxStatus:
        reporter = reporter or NullReporter()
        shadowed = self.moved_aside()
        if shadowed:  # never create and seed an empty server beside the real data
            raise UnfinishedDrill(
                f"{', '.join(str(p) for p in shadowed)}: moved aside by a DR drill that did not finish; "
                "starting now would create an empty server beside it",
                hint="run `augeoctl sandbox repair`",
            )
        privileges.check_home_reachable(self.home, self.service_user)
        with self.state.lock():
            self.make_dir(self.home, 0o755)
            for d in (self.dir, self.store, self.targets_dir):
                self.make_dir(d, 0o755)
            for d in (self.wal_archive, self.base_dir, self.redis_store):
                self.make_dir(d, 0o750)
            state = self.state.load()
            with reporter.step("PostgreSQL"):
                state["postgres"] = self.postgres.up(
                    state.get("postgres", {}), reporter,
                    archive_timeout=self.archive_timeout, wal_streaming=self.wal_streaming,
                )
                self.state.save(state)
            with reporter.step("Redis"):
                state["redis"] = self.redis.up(state.get("redis", {}), reporter)
                self.state.save(state)
            with reporter.step("reference service"):
                state["app"] = self._app_up(state, reporter)
                self.state.save(state)
        status = self.status()
        if not status.running:
            parts = [status.postgres, status.redis] + [c for c in (status.wal_receiver, status.app) if c]
            raise SandboxError(
                "the sandbox did not come up: " + ", ".join(f"{c.name} is {c.state}" for c in parts)
            )
        return status

    def _app_up(self, state: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        """The reference service (FastAPI under uvicorn) against the sandbox's data."""
        from augeoctl.local import service as runner

        st = state.get("app", {})
        port = st.get("port")
        self.app_dir.mkdir(parents=True, exist_ok=True)
        if self.app_pid() is not None and port and procs.port_in_use(int(port)):
            if runner.started_here(self.app_pidfile):
                return {**st, "desired": "up"}
            reporter.warn("the reference service was started by another installation of augeoctl: restarting it")
            runner.stop_service(self.app_pidfile)
        if not port or procs.port_in_use(int(port)):
            port = procs.free_port()
        reporter.status(f"starting the reference service on 127.0.0.1:{port}")
        self.slots.ensure_production()
        runner.start_service(
            int(port), self.dsn(port=int(state["postgres"]["port"])),
            self.redis_url(port=int(state["redis"]["port"])), self.app_log, self.app_pidfile,
            workers=self.service_workers, slots_file=self.slots.file, slot="production",
        )
        if not runner.wait_ready(http_url(int(port)), 30):
            raise SandboxError(f"the reference service did not answer: {tools.tail(self.app_log, 5)}")
        return {**st, "port": int(port), "desired": "up"}

    def down(self, reporter: Reporter | None = None, *, targets: bool = True) -> SandboxStatus:
        """Stop the sandbox servers (and restored targets); data is kept."""
        reporter = reporter or NullReporter()
        with self.state.lock():
            state = self.state.load()
            if self.app_pid() is not None or procs.read_pid(self.staging_pidfile) is not None:
                from augeoctl.local import service as runner

                with reporter.step("stopping the reference service"):
                    runner.stop_service(self.app_pidfile)
                    runner.stop_service(self.staging_pidfile)
            if self.postgres.created:
                with reporter.step("stopping PostgreSQL"):
                    self.postgres.stop()
            self.postgres.receiver.stop()
            redis_pid = self.redis_pid()
            if redis_pid is not None:
                with reporter.step("stopping Redis"):
                    self.redis.stop(int(state.get("redis", {}).get("port", 0)))
            for component in ("app", "postgres", "redis"):
                if component in state:
                    state[component]["desired"] = "down"
            self.state.save(state)
        if targets and self.targets_dir.exists():
            for target in sorted(self.targets_dir.iterdir()):
                data = target / "data"
                if (data / "postmaster.pid").exists():
                    with reporter.step(f"stopping restored target {target.name}"):
                        self.stop_postgres(data)
        return self.status()


def _component(name: str, state: dict[str, Any], pid: int | None, created: bool,
               url: str | None, log: Path) -> Component:
    """One server's observed state, judged against what the state file wants."""
    st = state.get(name, {})
    port = st.get("port")
    if not created:
        cstate = "not-created"
    elif pid is not None and port and procs.port_in_use(int(port)):
        cstate = "running"
    elif st.get("desired") == "up":
        cstate = "crashed"
    else:
        cstate = "stopped"
    detail = None
    if cstate == "crashed":
        detail = f"should be running but is not; last log lines:\n{tools.tail(log, 5)}"
    return Component(name=name, state=cstate, pid=pid, port=port,
                     url=url if port else None, detail=detail, log=str(log))


def require_running(status: SandboxStatus) -> None:
    if not status.postgres.running:
        raise DependencyError(
            f"the sandbox PostgreSQL is {status.postgres.state}",
            hint="run `augeoctl sandbox up`",
        )
