"""HTTP probes of a slot: ``/health`` (the release it serves), ``/health/ready``, smoke
GETs of read-only API paths, and the 5xx count of ``/metrics`` where the service has it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT = 3.0


def _get(url: str) -> tuple[int | None, Any]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError):
        return None, None
    try:
        return status, json.loads(body or b"null")
    except ValueError:
        return status, None


def served_version(base: str) -> str | None:
    """The release ``/health`` reports (its ``release`` or ``version`` field, the
    AUGEO_RELEASE the app reads); None when the slot does not answer or says none."""
    status, body = _get(base.rstrip("/") + "/health")
    if status != 200 or not isinstance(body, dict):
        return None
    found = body.get("release") or body.get("version")
    return str(found) if found else None


@dataclass(frozen=True)
class Health:
    """One look at a slot: what it serves, whether it is ready, and what failed."""

    url: str
    serving: str | None
    ready: bool
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.ready and not self.problems


def look(base: str, smoke: tuple[str, ...] = ()) -> Health:
    base = base.rstrip("/")
    serving = served_version(base)
    status, body = _get(base + "/health/ready")
    problems = []
    if status != 200:
        detail = ""
        if isinstance(body, dict):
            bad = {k: v.get("error") for k, v in (body.get("checks") or {}).items() if not v.get("ok")}
            detail = "; ".join(f"{k}: {v}" for k, v in bad.items())
        problems.append(f"/health/ready answered {status or 'nothing'}" + (f" ({detail})" if detail else ""))
    for path in smoke:
        code, _ = _get(base + path)
        if code is None or code >= 500:
            problems.append(f"GET {path} answered {code or 'nothing'}")
    return Health(url=base, serving=serving, ready=status == 200, problems=tuple(problems))


def server_errors(base: str) -> int | None:
    """5xx responses the service served in its last 5 minutes (``/metrics``), else None."""
    status, body = _get(base.rstrip("/") + "/metrics")
    try:
        return int(body["windows"]["5m"]["errors"]) if status == 200 else None
    except (KeyError, TypeError, ValueError):
        return None
