"""The gunicorn worker class the reference service runs with: uvicorn's worker
(``uvicorn_worker.UvicornWorker``) whose graceful stop drains first.

On a reload (SIGHUP) gunicorn stops the old workers with SIGTERM as soon as it has forked
the new ones. uvicorn's shutdown closes every connection that has no request in flight,
including one it accepted a moment ago whose request it has not read yet: that client
sees its connection reset. This worker stops accepting first (the connections still in
the kernel's queue go to the new workers, which share the listening socket), waits until
each connection it already accepted has begun its request (at most ``DRAIN_S``), and
then shuts down as uvicorn does: the requests in flight finish.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker as _UvicornWorker

DRAIN_S = 1.0


class DrainingServer(Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S

        def unread() -> bool:  # accepted, and no request read from it yet
            return any(getattr(c, "cycle", None) is None for c in self.server_state.connections)

        while unread() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await super().shutdown(sockets)


class UvicornWorker(_UvicornWorker):
    """``--worker-class augeoctl.service.worker.UvicornWorker``."""

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
