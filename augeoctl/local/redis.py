"""The sandbox's Redis: its configuration, start, readiness and stop.

The sandbox's redis-server lives in ``sandbox/redis`` and saves an RDB (``save 60 1 10
100``); restored Redis targets are written from the same configuration template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from augeoctl.errors import SandboxError
from augeoctl.local import procs, tools
from augeoctl.local.endpoints import redis_url
from augeoctl.local.privileges import make_dir
from augeoctl.progress import Reporter

SANDBOX_SAVE = "60 1 10 100"


def write_conf(path: Path, *, port: int, folder: Path, pidfile: Path, log: Path,
               save: str = SANDBOX_SAVE) -> None:
    """A daemonizing redis-server configuration on loopback, keeping ``dump.rdb`` in ``folder``."""
    path.write_text(tools.resource_text("redis.conf").format(
        port=port, dir=folder, pidfile=pidfile, log=log, save=save,
    ))


def loaded(port: int) -> bool:
    """Whether the redis-server on the port answers and has finished loading its data."""
    import redis

    with redis.Redis.from_url(redis_url(port), socket_timeout=5) as client:
        try:
            return bool(client.ping()) and not client.info("persistence").get("loading")
        except redis.exceptions.ConnectionError:  # BusyLoadingError while loading, too
            return False


def stop_redis(port: int, pid: int | None, timeout: float = 15) -> None:
    """SHUTDOWN SAVE the redis-server on the port (SIGTERM if it refuses), then wait for it."""
    import redis

    try:
        redis.Redis.from_url(redis_url(port), socket_timeout=5).shutdown(save=True)
    except redis.exceptions.ConnectionError:
        pass  # the expected outcome: the server closed the connection
    except redis.exceptions.RedisError:
        procs.stop(pid, timeout=timeout, kill_after=False)
        return
    procs.wait_gone(pid, timeout)


class SandboxRedis:
    """The sandbox's redis-server in one folder, started from ``redis.conf`` there."""

    def __init__(self, folder: Path, *, server: str | None = None, user: str | None = None) -> None:
        self.dir = folder
        self.conf = folder / "redis.conf"
        self.log = folder / "redis.log"
        self.pidfile = folder / "redis.pid"
        self.server = server
        self.user = user

    def pid(self) -> int | None:
        return procs.read_pid(self.pidfile)

    @property
    def created(self) -> bool:
        return self.conf.exists()

    def up(self, st: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        """Start redis-server unless it runs; returns its new state entry."""
        server = tools.redis_server(self.server)
        make_dir(self.dir, 0o755, self.user)
        port = st.get("port")
        if self.pid() is not None and port and procs.port_in_use(int(port)):
            return {**st, "desired": "up"}
        if not port or procs.port_in_use(int(port)):
            port = procs.free_port()
        write_conf(self.conf, port=int(port), folder=self.dir, pidfile=self.pidfile, log=self.log)
        reporter.status(f"starting redis-server on 127.0.0.1:{port}")
        proc = tools.run([server, str(self.conf)], check=False)
        if proc.returncode != 0:
            raise SandboxError(f"redis-server did not start: {proc.stderr.strip()[-300:]}")
        procs.wait_until(lambda: self.pid() is not None, 15, 0.02)
        if not procs.wait_port(int(port), 15):
            raise SandboxError(f"redis-server did not answer on port {port}:\n{tools.tail(self.log, 8)}")
        return {**st, "port": int(port), "desired": "up"}

    def stop(self, port: int) -> None:
        stop_redis(port, self.pid())
