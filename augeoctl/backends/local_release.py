"""The sandbox's API slots behind the release seam.

Production is the sandbox's reference service (its port is the sandbox's service URL);
staging is a second gunicorn started by the first deployment into it. Both read their
release from ``slots.json`` when a worker starts. A swap exchanges the two records in one
atomic rename, then reloads both masters gracefully (SIGHUP): the listening sockets stay
open and old workers finish their requests, so no request in flight fails.

A swap interrupted between the rename and the reloads leaves each slot serving the other
one's release: ``finish_interrupted_swap`` sees that from ``/health`` and reloads.
"""

from __future__ import annotations

from typing import Any

from augeoctl.backends.release import PRODUCTION, SLOTS, STAGING, ReleaseBackend, SlotInfo
from augeoctl.errors import OperationFailed, UsageError
from augeoctl.local import procs
from augeoctl.local import service as runner
from augeoctl.local.endpoints import http_url
from augeoctl.local.sandbox import Sandbox
from augeoctl.progress import Reporter

START_TIMEOUT = 60.0


class LocalReleaseBackend(ReleaseBackend):
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def _port(self, slot: str) -> int | None:
        if slot == PRODUCTION:
            port = self.sandbox.state.load().get("app", {}).get("port")
            return int(port) if port and self.sandbox.app_pid() is not None else None
        try:
            port = int(self.sandbox.staging_portfile.read_text())
        except (OSError, ValueError):
            return None
        return port if procs.read_pid(self.sandbox.staging_pidfile) is not None else None

    def _pidfile(self, slot: str) -> Any:
        return self.sandbox.app_pidfile if slot == PRODUCTION else self.sandbox.staging_pidfile

    def slot(self, name: str) -> SlotInfo:
        if name not in SLOTS:
            raise UsageError(f'no slot "{name}"', hint="production or staging")
        record = self.sandbox.slots.load()[name] or {}
        port = self._port(name)
        return SlotInfo(slot=name, version=record.get("version"), url=http_url(port) if port else None,
                        extra={"pid": procs.read_pid(self._pidfile(name)), "port": port,
                               "description": record.get("description"), "faults": record.get("faults")})

    def deploy(self, artifact: str, slot: str, reporter: Reporter) -> SlotInfo:
        if slot != STAGING:
            raise UsageError(f"a release goes into the staging slot, not {slot}",
                             hint="deploy with --slot staging, then `augeoctl release promote`")
        release = self.sandbox.slots.resolve(artifact)
        self.sandbox.ensure_up(reporter)
        slots = self.sandbox.slots.load()
        slots[STAGING] = release
        self.sandbox.slots.save(slots)
        with reporter.step(f"staging slot: release {release['version']}"):
            if not runner.started_here(self.sandbox.staging_pidfile):
                runner.stop_service(self.sandbox.staging_pidfile)  # another installation's: start afresh
            elif runner.reload_service(self.sandbox.staging_pidfile):
                return self.slot(STAGING)
            port = procs.free_port()
            self.sandbox.make_dir(self.sandbox.staging_dir, 0o755)
            self.sandbox.staging_portfile.write_text(str(port))
            state = self.sandbox.state.load()
            runner.start_service(
                port, self.sandbox.dsn(port=int(state["postgres"]["port"])),
                self.sandbox.redis_url(port=int(state["redis"]["port"])), self.sandbox.staging_log,
                self.sandbox.staging_pidfile, workers=self.sandbox.service_workers,
                slots_file=self.sandbox.slots.file, slot=STAGING,
            )
            if not runner.wait_ready(http_url(port), START_TIMEOUT):
                raise OperationFailed(f"the staging slot did not start on port {port}",
                                      hint=f"its log is {self.sandbox.staging_log}")
        return self.slot(STAGING)

    def swap(self, reporter: Reporter) -> None:
        slots = self.sandbox.slots.load()
        if not slots[STAGING] or self._port(STAGING) is None:
            raise UsageError("the staging slot holds no running release", hint="`augeoctl release deploy`")
        with reporter.step("swap: exchange the slot records"):
            self.sandbox.slots.save({PRODUCTION: slots[STAGING], STAGING: slots[PRODUCTION]})
        self._reload(reporter)

    def _reload(self, reporter: Reporter) -> None:
        with reporter.step("swap: reload production"):
            if not runner.reload_service(self.sandbox.app_pidfile):
                raise OperationFailed("production's server is not running", hint="`augeoctl sandbox up`")
        with reporter.step("swap: reload staging"):
            runner.reload_service(self.sandbox.staging_pidfile)

    def finish_interrupted_swap(self, reporter: Reporter) -> str | None:
        from augeoctl.backends.slot_probe import served_version

        slots = self.sandbox.slots.load()
        stale = []
        for name in SLOTS:
            info = self.slot(name)
            if info.url and slots[name] and served_version(info.url) not in (None, slots[name]["version"]):
                stale.append(name)
        if not stale:
            return None
        reporter.warn(f"{' and '.join(stale)} serve(s) another release than the slot record: a swap was "
                      "interrupted; reloading to finish it")
        for name in stale:
            runner.reload_service(self._pidfile(name))
        return f"reloaded {', '.join(stale)} to finish an interrupted swap"

    def server_errors(self, slot: str) -> int | None:
        from augeoctl.backends.slot_probe import server_errors

        info = self.slot(slot)
        return server_errors(info.url) if info.url else None
