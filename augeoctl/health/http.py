"""HTTP probes of the service: one GET timed, and its three health endpoints.

The sandbox's reference service and the App Service sites on Azure answer the same
``/health``, ``/health/live`` and ``/health/ready``; both probes read them here.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from augeoctl.health.readings import EndpointReading

HEALTH_PATHS = ("/health", "/health/live", "/health/ready")


def probe_http(url: str, timeout: float = 3.0) -> EndpointReading:
    """One GET: status, latency and the JSON body; an answer that is not 2xx still counts."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:
        return EndpointReading(url, None, None, error=str(getattr(exc, "reason", exc)))
    latency = (time.perf_counter() - start) * 1000
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw[:200].decode("utf-8", "replace")
    return EndpointReading(url, status, round(latency, 2), body)


def probe_health(base_url: str, timeout: float = 3.0) -> tuple[EndpointReading, ...]:
    """``/health``, ``/health/live`` and ``/health/ready`` of one site, in that order."""
    base = base_url.rstrip("/")
    return tuple(probe_http(base + path, timeout=timeout) for path in HEALTH_PATHS)
