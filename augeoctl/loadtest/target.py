"""Which service a load test targets: ``--host``, the environment's ``api_url``, or the
local sandbox's reference service (the zero-configuration default)."""

from __future__ import annotations

import base64
from typing import Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from augeoctl.errors import UsageError
from augeoctl.progress import Reporter

# Credentials given in ``--host http://user:password@host`` reach the locustfile through
# this variable ("user:password"), so the host Locust sees, and writes into its report and
# CSVs, carries none.
BASIC_AUTH_VARIABLE = "AUGEO_LOAD_BASIC_AUTH"


class ServiceSource(Protocol):
    """What knows the API to load by default (a ``Platform``)."""

    def service_url(self, reporter: Reporter) -> str: ...


def redact(url: str) -> str:
    """The URL as it may be shown or written: ``user:***@host`` (``***@host`` without a password)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unparsable URL)"
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{hostport}"))


def split_credentials(url: str) -> tuple[str, str | None]:
    """``(URL without credentials, "user:password" or None)``, percent-decoded."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=hostport)), f"{unquote(user)}:{unquote(password)}"


def authorization(credentials: str) -> str:
    """The HTTP Basic ``Authorization`` header value for ``user:password`` (RFC 7617)."""
    return "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")


def validate_host(url: str) -> str:
    """An absolute http(s) URL with a host, without a trailing slash (credentials allowed)."""
    shown = redact(url)
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a port that is not one
    except ValueError as exc:
        raise UsageError(f"--host {shown!r} is not a valid URL: {exc}",
                         hint="e.g. --host http://127.0.0.1:8000") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--host {shown!r} is not an http(s) URL", hint="e.g. --host http://127.0.0.1:8000")
    return url.rstrip("/")


def resolve_host(platform: ServiceSource, host: str | None, reporter: Reporter) -> str:
    """``--host``, else the platform's API: Azure's ``api_url``, the sandbox's service."""
    return validate_host(host or platform.service_url(reporter))
