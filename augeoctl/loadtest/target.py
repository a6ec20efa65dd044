"""Which service a load test targets: ``--host``, the environment's ``api_url``, or the
local sandbox's reference service (the zero-configuration default)."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from augeoctl.errors import UsageError
from augeoctl.progress import Reporter


class ServiceSource(Protocol):
    """What knows the API to load by default (a ``Platform``)."""

    def service_url(self, reporter: Reporter) -> str: ...


def validate_host(url: str) -> str:
    """An absolute http(s) URL with a host, without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--host {url!r} is not an http(s) URL", hint="e.g. --host http://127.0.0.1:8000")
    return url.rstrip("/")


def resolve_host(platform: ServiceSource, host: str | None, reporter: Reporter) -> str:
    """``--host``, else the platform's API: Azure's ``api_url``, the sandbox's service."""
    return validate_host(host or platform.service_url(reporter))
