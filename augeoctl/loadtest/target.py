"""Which service a load test targets: ``--host``, the environment's ``api_url``, or the
local sandbox's reference service (the zero-configuration default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from augeoctl.errors import DependencyError, UsageError
from augeoctl.progress import Reporter


def validate_host(url: str) -> str:
    """An absolute http(s) URL with a host, without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--host {url!r} is not an http(s) URL", hint="e.g. --host http://127.0.0.1:8000")
    return url.rstrip("/")


def local_service_url(settings: Any, reporter: Reporter) -> str:
    """The local sandbox's reference service, bringing the sandbox up when needed.

    The sandbox runs the service itself (``status().app``); a sandbox state from before
    it did gets a service started here, under the sandbox home, reused by later runs.
    """
    from augeoctl.local.sandbox import Sandbox

    sandbox = Sandbox(settings.home, settings.env.settings)
    status = sandbox.ensure_up(reporter)
    if status.app is not None and status.app.running and status.app.url:
        return str(status.app.url)
    return _own_service(sandbox, Path(settings.home) / "loadtest" / "service", reporter)


def _own_service(sandbox: Any, folder: Path, reporter: Reporter) -> str:
    from augeoctl.local import tools
    from augeoctl.service import runner

    folder.mkdir(parents=True, exist_ok=True)
    pid_path, port_path = folder / "service.pid", folder / "service.port"
    try:
        pid, port = int(pid_path.read_text()), int(port_path.read_text())
        if tools.pid_alive(pid) and runner.wait_ready(f"http://127.0.0.1:{port}", 2):
            return f"http://127.0.0.1:{port}"
    except (OSError, ValueError):
        pass
    runner.stop_service(pid_path)
    port = tools.free_port()
    reporter.info(f"starting the reference service on 127.0.0.1:{port} (log {folder / 'service.log'})")
    runner.start_service(port, sandbox.dsn(), sandbox.redis_url(), folder / "service.log", pid_path)
    port_path.write_text(str(port))
    url = f"http://127.0.0.1:{port}"
    if not runner.wait_ready(url, 30):
        runner.stop_service(pid_path)
        raise DependencyError(f"the reference service did not answer on {url}",
                              hint=f"see {folder / 'service.log'}")
    return url


def resolve_host(settings: Any, host: str | None, reporter: Reporter) -> str:
    """``--host``, else the environment's ``api_url``, else (local) the sandbox's service."""
    if host:
        return validate_host(host)
    if settings.env.is_local:
        return local_service_url(settings, reporter)
    api_url = settings.env.get("api_url")
    if api_url:
        return validate_host(str(api_url))
    raise UsageError(f'environment "{settings.env.name}" has no api_url',
                     hint="pass --host URL or set api_url in its [environments.NAME] table")
