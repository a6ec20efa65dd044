"""The local sandbox: a real PostgreSQL cluster and redis-server on loopback.

Layout under the sandbox home (``AUGEO_HOME``)::

    sandbox/state.json        ports and what should be running
    sandbox/pg/data           the PostgreSQL cluster (wal_level=replica, archiving on)
    sandbox/pg/socket         its Unix socket folder
    sandbox/pg/postgres.log
    sandbox/redis/            redis.conf, dump.rdb, redis.log
    store/wal                 the WAL archive
    store/base/ID             base backups
    store/redis/ID            Redis RDB copies
    targets/NAME              instances made by restores

PostgreSQL refuses to run as root; when augeoctl runs as root the servers run as an
unprivileged service user (``postgres`` where it exists) and the folders they write are
owned by it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from augeoctl.errors import ConfigError, DependencyError, SandboxError, ToolMissing
from augeoctl.local import tools
from augeoctl.progress import NullReporter, Reporter

DEFAULT_ARCHIVE_TIMEOUT = 60
APP_DB = "augeo"
SUPERUSER = "augeo"
RECEIVER_NAME = "augeo_receivewal"


# ---------------------------------------------------------------------------
# Running servers as an unprivileged user when we are root


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int


def service_user() -> ServiceUser | None:
    """The user servers run as when augeoctl runs as root; None when not root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("AUGEO_SERVICE_USER", "postgres")
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        try:
            pw = pwd.getpwnam("nobody")
        except KeyError:
            raise ToolMissing(
                f'running as root needs an unprivileged user for PostgreSQL; "{name}" does not exist',
                hint="install the postgresql package (it creates the postgres user) or set AUGEO_SERVICE_USER",
            ) from None
    return ServiceUser(pw.pw_name, pw.pw_uid, pw.pw_gid)


def as_service(args: list[str]) -> list[str]:
    user = service_user()
    if user is None:
        return args
    return ["runuser", "-u", user.name, "--", *args]


def make_dir(path: Path, mode: int = 0o700) -> Path:
    """Create a folder owned by the service user (or by us when not root)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    user = service_user()
    if user is not None:
        os.chown(path, user.uid, user.gid)
    return path


def chown_tree(path: Path) -> None:
    """Give a folder (recursively) or a file to the service user."""
    user = service_user()
    if user is None:
        return
    if not path.is_dir():
        os.lchown(path, user.uid, user.gid)
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, user.uid, user.gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), user.uid, user.gid)


def check_home_reachable(home: Path) -> None:
    """When root, the service user must be able to reach the home folder."""
    user = service_user()
    if user is None:
        return
    probe = home
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    ok = subprocess.run(
        ["runuser", "-u", user.name, "--", "test", "-x", str(probe)], capture_output=True
    ).returncode == 0
    if not ok:
        raise ConfigError(
            f"the sandbox home {home} is not reachable by the service user {user.name} "
            "that runs PostgreSQL (augeoctl runs as root, and PostgreSQL refuses to)",
            hint="set AUGEO_HOME to a folder outside /root, e.g. /var/lib/augeoctl",
        )


# ---------------------------------------------------------------------------
# State


@dataclass(frozen=True)
class Component:
    """The observed state of one sandbox server."""

    name: str
    state: str  # running | stopped | crashed | not-created
    pid: int | None = None
    port: int | None = None
    url: str | None = None
    detail: str | None = None
    log: str | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class SandboxStatus:
    home: str
    postgres: Component
    redis: Component
    archive_timeout: int
    wal_streaming: str = "off"
    wal_receiver: Component | None = None
    app: Component | None = None

    @property
    def running(self) -> bool:
        receiver_ok = self.wal_receiver is None or self.wal_receiver.state in ("off", "running")
        app_ok = self.app is None or self.app.running
        return self.postgres.running and self.redis.running and receiver_ok and app_ok

    @property
    def crashed(self) -> list[str]:
        parts = [self.postgres, self.redis] + [c for c in (self.wal_receiver, self.app) if c]
        return [c.name for c in parts if c.state == "crashed"]

    def to_dict(self) -> dict[str, Any]:
        pg = asdict(self.postgres)
        pg["dsn"] = pg.pop("url")
        rd = asdict(self.redis)
        return {
            "home": self.home,
            "running": self.running,
            "archive_timeout": self.archive_timeout,
            "wal_streaming": self.wal_streaming,
            "wal_receiver": asdict(self.wal_receiver) if self.wal_receiver else None,
            "postgres": {**pg, "running": self.postgres.running},
            "redis": {**rd, "running": self.redis.running},
            "app": {**asdict(self.app), "running": self.app.running} if self.app else None,
        }


class Sandbox:
    """The local environment's servers and stores."""

    def __init__(self, home: Path, settings: dict[str, Any] | None = None) -> None:
        self.home = Path(home)
        self.settings = settings or {}
        self.dir = self.home / "sandbox"
        self.pg_dir = self.dir / "pg"
        self.pg_data = self.pg_dir / "data"
        self.pg_socket = self.pg_dir / "socket"
        self.pg_log = self.pg_dir / "postgres.log"
        self.redis_dir = self.dir / "redis"
        self.redis_conf = self.redis_dir / "redis.conf"
        self.redis_log = self.redis_dir / "redis.log"
        self.redis_pidfile = self.redis_dir / "redis.pid"
        self.app_dir = self.dir / "app"
        self.app_pidfile = self.app_dir / "service.pid"
        self.app_log = self.app_dir / "service.log"
        self.store = self.home / "store"
        self.wal_archive = self.store / "wal"
        self.wal_stream = self.store / "wal-stream"
        self.receiver_pidfile = self.pg_dir / "pg_receivewal.pid"
        self.receiver_log = self.pg_dir / "pg_receivewal.log"
        self.base_dir = self.store / "base"
        self.redis_store = self.store / "redis"
        self.targets_dir = self.home / "targets"
        self.state_file = self.dir / "state.json"

    # -- state file ------------------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise SandboxError(
                f"sandbox state {self.state_file} is damaged: {exc}",
                hint="run `augeoctl sandbox down` and remove the file",
            ) from None

    def _save_state(self, state: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, self.state_file)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o755)
        with open(self.dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @property
    def archive_timeout(self) -> int:
        value = self.settings.get("archive_timeout", os.environ.get("AUGEO_ARCHIVE_TIMEOUT"))
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
        value = str(
            self.settings.get("wal_streaming", os.environ.get("AUGEO_WAL_STREAMING", "off"))
        ).lower()
        if value not in ("off", "async", "sync"):
            raise ConfigError(f'wal_streaming "{value}" is not known', hint="use off, async or sync")
        return value

    def wal_dirs(self) -> list[Path]:
        """Where complete WAL segments can be found: the archive, then streamed WAL."""
        return [self.wal_archive, self.wal_stream]

    # -- connection details ----------------------------------------------

    def pg_port(self) -> int:
        port = self._load_state().get("postgres", {}).get("port")
        if not port:
            raise SandboxError("the sandbox has no PostgreSQL yet", hint="run `augeoctl sandbox up`")
        return int(port)

    def dsn(self, dbname: str = APP_DB) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.pg_port()}/{dbname}"

    def redis_url(self) -> str:
        port = self._load_state().get("redis", {}).get("port")
        if not port:
            raise SandboxError("the sandbox has no Redis yet", hint="run `augeoctl sandbox up`")
        return f"redis://127.0.0.1:{port}/0"

    # -- status ------------------------------------------------------------

    def _pg_pid(self) -> int | None:
        try:
            return int((self.pg_data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _redis_pid(self) -> int | None:
        try:
            return int(self.redis_pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def status(self) -> SandboxStatus:
        state = self._load_state()
        pg_state = state.get("postgres", {})
        rd_state = state.get("redis", {})

        def component(name: str, st: dict[str, Any], pid: int | None, created: bool,
                      url: str | None, log: Path) -> Component:
            port = st.get("port")
            alive = tools.pid_alive(pid)
            if not created:
                cstate = "not-created"
            elif alive and port and tools.port_in_use(int(port)):
                cstate = "running"
            elif st.get("desired") == "up":
                cstate = "crashed"
            else:
                cstate = "stopped"
            detail = None
            if cstate == "crashed":
                detail = f"should be running but is not; last log lines:\n{tools.tail(log, 5)}"
            return Component(
                name=name, state=cstate, pid=pid if alive else None, port=port,
                url=url if port else None, detail=detail, log=str(log),
            )

        pg_port = pg_state.get("port")
        rd_port = rd_state.get("port")
        postgres = component(
            "postgres", pg_state, self._pg_pid(), (self.pg_data / "PG_VERSION").exists(),
            f"postgresql://{SUPERUSER}@127.0.0.1:{pg_port}/{APP_DB}" if pg_port else None,
            self.pg_log,
        )
        redis = component(
            "redis", rd_state, self._redis_pid(), self.redis_conf.exists(),
            f"redis://127.0.0.1:{rd_port}/0" if rd_port else None, self.redis_log,
        )
        receiver_pid = self._receiver_pid()
        if self.wal_streaming == "off":
            receiver = Component("wal_receiver", "off")
        elif tools.pid_alive(receiver_pid):
            receiver = Component("wal_receiver", "running", pid=receiver_pid,
                                 detail=f"pg_receivewal ({self.wal_streaming}) into {self.wal_stream}")
        else:
            receiver = Component(
                "wal_receiver", "crashed" if postgres.running else "stopped",
                detail=f"pg_receivewal is not running; log: {self.receiver_log}",
                log=str(self.receiver_log),
            )
        app_state = state.get("app", {})
        app_port = app_state.get("port")
        app = component(
            "app", app_state, self._app_pid(), self.app_dir.exists() and bool(app_port),
            f"http://127.0.0.1:{app_port}" if app_port else None, self.app_log,
        )
        return SandboxStatus(str(self.home), postgres, redis, self.archive_timeout,
                             wal_streaming=self.wal_streaming, wal_receiver=receiver, app=app)

    def _app_pid(self) -> int | None:
        try:
            return int(self.app_pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def app_url(self) -> str:
        port = self._load_state().get("app", {}).get("port")
        if not port:
            raise SandboxError("the sandbox has no reference service yet", hint="run `augeoctl sandbox up`")
        return f"http://127.0.0.1:{port}"

    # -- up / down -----------------------------------------------------------

    def ensure_up(self, reporter: Reporter | None = None) -> SandboxStatus:
        """Start the sandbox if it is not running, saying so."""
        reporter = reporter or NullReporter()
        current = self.status()
        if current.running:
            return current
        reporter.info(f"the local sandbox is not running: starting it in {self.home}")
        return self.up(reporter)

    def up(self, reporter: Reporter | None = None) -> SandboxStatus:
        reporter = reporter or NullReporter()
        check_home_reachable(self.home)
        with self._lock():
            make_dir(self.home, 0o755)
            for d in (self.dir, self.store, self.targets_dir):
                make_dir(d, 0o755)
            make_dir(self.wal_archive, 0o750)
            make_dir(self.base_dir, 0o750)
            make_dir(self.redis_store, 0o750)
            state = self._load_state()
            with reporter.step("PostgreSQL"):
                state["postgres"] = self._pg_up(state.get("postgres", {}), reporter)
                self._save_state(state)
            with reporter.step("Redis"):
                state["redis"] = self._redis_up(state.get("redis", {}), reporter)
                self._save_state(state)
            with reporter.step("reference service"):
                state["app"] = self._app_up(state, reporter)
                self._save_state(state)
        status = self.status()
        if not status.running:
            parts = [status.postgres, status.redis] + [c for c in (status.wal_receiver, status.app) if c]
            raise SandboxError(
                "the sandbox did not come up: " + ", ".join(f"{c.name} is {c.state}" for c in parts)
            )
        return status

    def _app_up(self, state: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        """The reference service (FastAPI under uvicorn) against the sandbox's data."""
        from augeoctl.service import runner

        st = state.get("app", {})
        port = st.get("port")
        self.app_dir.mkdir(parents=True, exist_ok=True)
        if tools.pid_alive(self._app_pid()) and port and tools.port_in_use(int(port)):
            return {**st, "desired": "up"}
        if not port or tools.port_in_use(int(port)):
            port = tools.free_port()
        pg_port = state["postgres"]["port"]
        redis_port = state["redis"]["port"]
        reporter.status(f"starting the reference service on 127.0.0.1:{port}")
        runner.start_service(
            int(port), f"postgresql://{SUPERUSER}@127.0.0.1:{pg_port}/{APP_DB}",
            f"redis://127.0.0.1:{redis_port}/0", self.app_log, self.app_pidfile,
        )
        if not runner.wait_ready(f"http://127.0.0.1:{port}", 30):
            raise SandboxError(f"the reference service did not answer: {tools.tail(self.app_log, 5)}")
        return {**st, "port": int(port), "desired": "up"}

    def _pg_up(self, st: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        make_dir(self.pg_dir, 0o755)
        make_dir(self.pg_socket, 0o755)
        pid = self._pg_pid()
        port = st.get("port")
        if tools.pid_alive(pid) and port and tools.port_in_use(int(port)):
            self._write_pg_conf(int(port))  # archive_timeout may have changed
            tools.run(as_service([tools.pg_tool("pg_ctl"), "-D", str(self.pg_data), "reload", "-s"]),
                      check=False)
            self._receiver_up(int(port), reporter)
            return {**st, "desired": "up"}
        if not (self.pg_data / "PG_VERSION").exists():
            reporter.status("initdb")
            if self.pg_data.exists():
                shutil.rmtree(self.pg_data)
            make_dir(self.pg_data, 0o700)
            proc = tools.run(
                as_service([
                    tools.pg_tool("initdb"), "-D", str(self.pg_data), "-U", SUPERUSER,
                    "--auth-local=trust", "--auth-host=trust", "--encoding=UTF8",
                    "--locale=C", "--data-checksums",
                ]),
                check=False,
            )
            if proc.returncode != 0:
                raise SandboxError(f"initdb failed: {proc.stderr.strip()[-500:]}")
            with (self.pg_data / "postgresql.conf").open("a") as fh:
                fh.write("\n# augeoctl sandbox settings\ninclude_if_exists = 'augeo.conf'\n")
        if not port or tools.port_in_use(int(port)):
            port = tools.free_port()
        self._write_pg_conf(int(port))
        self._write_archive_script()
        if pid is not None and not tools.pid_alive(pid):
            # A postmaster that was killed may linger as a zombie until it is reaped, and
            # PostgreSQL would take its stale lock file for a live server.
            (self.pg_data / "postmaster.pid").unlink(missing_ok=True)
            for lock in self.pg_socket.glob(".s.PGSQL.*.lock"):
                try:
                    owner = int(lock.read_text().splitlines()[0])
                except (OSError, ValueError, IndexError):
                    owner = None
                if not tools.pid_alive(owner):
                    lock.unlink(missing_ok=True)
        reporter.status(f"starting PostgreSQL on 127.0.0.1:{port}")
        self.pg_log.touch()
        chown_tree(self.pg_log)
        proc = tools.run(
            as_service([
                tools.pg_tool("pg_ctl"), "-D", str(self.pg_data), "-l", str(self.pg_log),
                "-w", "-t", "60", "-s", "start",
            ]),
            check=False,
        )
        if proc.returncode != 0:
            raise SandboxError(
                f"PostgreSQL did not start: {proc.stderr.strip()[-300:]}\n{tools.tail(self.pg_log, 8)}"
            )
        new_state = {**st, "port": int(port), "desired": "up"}
        self._receiver_up(int(port), reporter)
        self._seed(int(port), reporter)
        return new_state

    def _receiver_pid(self) -> int | None:
        try:
            return int(self.receiver_pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def _receiver_up(self, port: int, reporter: Reporter) -> None:
        """Start pg_receivewal when streaming is configured (and drop its slot when not)."""
        conninfo = f"host=127.0.0.1 port={port} user={SUPERUSER} application_name={RECEIVER_NAME}"
        if self.wal_streaming == "off":
            pid = self._receiver_pid()
            if tools.pid_alive(pid):
                os.kill(pid, signal.SIGTERM)  # type: ignore[arg-type]
            tools.run(as_service([tools.pg_tool("pg_receivewal"), "-d", conninfo, "-S", RECEIVER_NAME,
                                  "--drop-slot"]), check=False)
            return
        if tools.pid_alive(self._receiver_pid()):
            return
        make_dir(self.wal_stream, 0o750)
        proc = tools.run(as_service([
            tools.pg_tool("pg_receivewal"), "-d", conninfo, "-S", RECEIVER_NAME,
            "--create-slot", "--if-not-exists",
        ]), check=False)
        if proc.returncode != 0:
            raise SandboxError(f"pg_receivewal could not create its slot: {proc.stderr.strip()}")
        self.receiver_log.touch()
        chown_tree(self.receiver_log)
        args = [tools.pg_tool("pg_receivewal"), "-D", str(self.wal_stream), "-d", conninfo,
                "-S", RECEIVER_NAME, "-n"]
        if self.wal_streaming == "sync":
            args.append("--synchronous")
        reporter.status(f"starting pg_receivewal ({self.wal_streaming})")
        with self.receiver_log.open("ab") as log:
            child = subprocess.Popen(as_service(args), stdout=log, stderr=log, start_new_session=True)
        self.receiver_pidfile.write_text(str(child.pid))
        # Wait until the server sees the receiver streaming, so sync commits do not stall.
        import psycopg

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise SandboxError(f"pg_receivewal exited: {tools.tail(self.receiver_log, 5)}")
            with psycopg.connect(
                f"host=127.0.0.1 port={port} user={SUPERUSER} dbname=postgres", autocommit=True
            ) as conn:
                row = conn.execute(
                    "SELECT state FROM pg_stat_replication WHERE application_name = %s",
                    (RECEIVER_NAME,),
                ).fetchone()
            if row and row[0] == "streaming":
                return
            time.sleep(0.05)
        raise SandboxError("pg_receivewal did not start streaming within 15 s")

    def _write_archive_script(self) -> None:
        script = self.pg_dir / "archive-wal.sh"
        script.write_text(ARCHIVE_SCRIPT)
        os.chmod(script, 0o755)

    def _write_pg_conf(self, port: int) -> None:
        archive_cmd = f"'{self.pg_dir / 'archive-wal.sh'}' %p %f '{self.wal_archive}'"
        lines = {
            "port": port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.pg_socket}'",
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": "'" + archive_cmd.replace("'", "''") + "'",
            "archive_timeout": self.archive_timeout,
            "track_commit_timestamp": "on",
            "max_wal_senders": 10,
            "max_replication_slots": 10,
            "log_line_prefix": "'%m [%p] '",
            "log_timezone": "'UTC'",
            "timezone": "'UTC'",
            "shared_buffers": "'128MB'",
            "max_wal_size": "'1GB'",
            "synchronous_standby_names": f"'{RECEIVER_NAME}'" if self.wal_streaming == "sync" else "''",
        }
        text = "# written by augeoctl sandbox up; edits are overwritten\n" + "".join(
            f"{k} = {v}\n" for k, v in lines.items()
        )
        conf = self.pg_data / "augeo.conf"
        conf.write_text(text)
        user = service_user()
        if user:
            os.chown(conf, user.uid, user.gid)

    def _seed(self, port: int, reporter: Reporter) -> None:
        import psycopg

        try:
            with psycopg.connect(
                f"host=127.0.0.1 port={port} user={SUPERUSER} dbname=postgres", autocommit=True,
                connect_timeout=10,
            ) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (APP_DB,)
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{APP_DB}"')
            with psycopg.connect(
                f"host=127.0.0.1 port={port} user={SUPERUSER} dbname={APP_DB}", connect_timeout=10
            ) as conn:
                conn.execute(SEED_SQL)
        except psycopg.Error as exc:
            raise SandboxError(f"seeding the application database failed: {exc}") from None
        reporter.status("application database ready")

    def _redis_up(self, st: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        server = tools.redis_server()
        make_dir(self.redis_dir, 0o755)
        port = st.get("port")
        if tools.pid_alive(self._redis_pid()) and port and tools.port_in_use(int(port)):
            return {**st, "desired": "up"}
        if not port or tools.port_in_use(int(port)):
            port = tools.free_port()
        self.redis_conf.write_text(
            REDIS_CONF.format(
                port=port, dir=self.redis_dir, pidfile=self.redis_pidfile, log=self.redis_log
            )
        )
        reporter.status(f"starting redis-server on 127.0.0.1:{port}")
        proc = tools.run([server, str(self.redis_conf)], check=False)
        if proc.returncode != 0:
            raise SandboxError(f"redis-server did not start: {proc.stderr.strip()[-300:]}")
        deadline = time.monotonic() + 15
        while not tools.pid_alive(self._redis_pid()) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not _wait_port(int(port), 15):
            raise SandboxError(f"redis-server did not answer on port {port}:\n{tools.tail(self.redis_log, 8)}")
        return {**st, "port": int(port), "desired": "up"}

    def down(self, reporter: Reporter | None = None, *, targets: bool = True) -> SandboxStatus:
        """Stop the sandbox servers (and restored targets); data is kept."""
        reporter = reporter or NullReporter()
        with self._lock():
            state = self._load_state()
            if tools.pid_alive(self._app_pid()):
                from augeoctl.service import runner

                with reporter.step("stopping the reference service"):
                    runner.stop_service(self.app_pidfile)
            if "app" in state:
                state["app"]["desired"] = "down"
            if (self.pg_data / "PG_VERSION").exists():
                with reporter.step("stopping PostgreSQL"):
                    stop_postgres(self.pg_data)
            rpid = self._receiver_pid()
            if tools.pid_alive(rpid):
                os.kill(rpid, signal.SIGTERM)  # type: ignore[arg-type]
            if "postgres" in state:
                state["postgres"]["desired"] = "down"
            pid = self._redis_pid()
            if tools.pid_alive(pid):
                with reporter.step("stopping Redis"):
                    _stop_redis(int(state.get("redis", {}).get("port", 0)), pid)
            if "redis" in state:
                state["redis"]["desired"] = "down"
            self._save_state(state)
        if targets and self.targets_dir.exists():
            for target in sorted(self.targets_dir.iterdir()):
                data = target / "data"
                if (data / "postmaster.pid").exists():
                    with reporter.step(f"stopping restored target {target.name}"):
                        stop_postgres(data)
        return self.status()


def stop_postgres(data: Path, mode: str = "fast", timeout: int = 60) -> None:
    pidfile = data / "postmaster.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    if not tools.pid_alive(pid):
        return
    proc = tools.run(
        as_service([tools.pg_tool("pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", str(timeout),
                    "-s", "stop"]),
        check=False,
    )
    if proc.returncode != 0 and tools.pid_alive(pid):
        assert pid is not None
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while tools.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def _stop_redis(port: int, pid: int | None) -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).shutdown(save=True)
    except redis.exceptions.ConnectionError:
        pass  # the expected outcome: the server closed the connection
    except redis.exceptions.RedisError:
        if pid:
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while tools.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tools.port_in_use(port):
            return True
        time.sleep(0.05)
    return False


def require_running(status: SandboxStatus) -> None:
    if not status.postgres.running:
        raise DependencyError(
            f"the sandbox PostgreSQL is {status.postgres.state}",
            hint="run `augeoctl sandbox up`",
        )


# The archive command: copy under a temporary name, fsync, rename; an existing file with
# the same content is accepted (a retried archive), one with different content refused.
ARCHIVE_SCRIPT = """#!/bin/sh
# written by augeoctl: archive_command of the sandbox (args: %p %f ARCHIVE_DIR)
set -u
src="$1"; name="$2"; dir="$3"
dest="$dir/$name"
if [ -e "$dest" ]; then
    if cmp -s "$src" "$dest"; then exit 0; fi
    echo "archive-wal: $dest exists with different content; refusing to overwrite" >&2
    exit 1
fi
tmp="$dir/.$name.$$.tmp"
cp "$src" "$tmp" && sync "$tmp" && ln "$tmp" "$dest" && rm -f "$tmp" && sync "$dir" && exit 0
rm -f "$tmp"
exit 1
"""

REDIS_CONF = """# written by augeoctl sandbox up
bind 127.0.0.1
protected-mode yes
port {port}
daemonize yes
pidfile {pidfile}
logfile {log}
dir {dir}
dbfilename dump.rdb
save 60 1 10 100
appendonly no
"""

SEED_SQL = """
CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE IF NOT EXISTS app.organizations (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS app.users (
    id bigserial PRIMARY KEY,
    org_id bigint NOT NULL REFERENCES app.organizations(id),
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS app.events (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app.users(id),
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_user_idx ON app.events(user_id);
INSERT INTO app.organizations(name)
    SELECT 'org-' || g FROM generate_series(1, 10) g
    ON CONFLICT DO NOTHING;
INSERT INTO app.users(org_id, email)
    SELECT 1 + (g % 10), 'user' || g || '@example.test' FROM generate_series(1, 200) g
    ON CONFLICT DO NOTHING;
INSERT INTO app.events(user_id, kind, payload)
    SELECT 1 + (g % 200), (ARRAY['login','view','update'])[1 + g % 3], jsonb_build_object('n', g)
    FROM generate_series(1, 2000) g
    WHERE NOT EXISTS (SELECT 1 FROM app.events);
"""
