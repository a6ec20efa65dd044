"""An Azure Load Testing test configuration (YAML) from an SLO profile.

The same locustfile runs on the managed engine (``testType: Locust``, ``testPlan`` the
locustfile). Load parameters travel as Locust's own environment variables
(``LOCUST_HOST``, ``LOCUST_USERS``, ``LOCUST_SPAWN_RATE``, ``LOCUST_RUN_TIME``); for
Locust tests the user count is the total across ``engineInstances`` (Azure Load Testing,
"Configure for high-scale load").

The profile's gates become ``failureCriteria`` in the documented syntax
(reference-test-config-yaml, "Supported client metrics"): ``avg|min|max|p50|p90|p95|p99
(response_time_ms) > INT`` (whole milliseconds), ``percentage(error) > 0-100``,
``avg(requests_per_sec) < N`` (two decimals at most), optionally prefixed by a request
name: ``GET /api/users/[id]: p95(response_time_ms) > 1000``. A criterion describes
failure, so each gate (``measured <= threshold``) is written as its negation.
"""

from __future__ import annotations

import json
import math
import re

from augeoctl.errors import UsageError
from augeoctl.loadtest.gates import Profile

_METRIC = {"avg_ms": "avg", "p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99"}
USERS_PER_ENGINE = 250  # a conservative share of virtual users per engine instance
MAX_CRITERIA = 50  # the service's limit per test
TEST_ID = re.compile(r"[a-z0-9_-]{2,50}")


def criteria(gates: dict[str, float], request: str | None = None) -> list[str]:
    """The failureCriteria lines for one scope's gates."""
    prefix = f"{request}: " if request else ""
    out = []
    for gate, value in sorted(gates.items()):
        if gate in _METRIC:
            # Whole milliseconds only: rounding down keeps the criterion at least as strict.
            out.append(f"{prefix}{_METRIC[gate]}(response_time_ms) > {math.floor(value)}")
        elif gate == "error_rate":
            out.append(f"{prefix}percentage(error) > {round(min(value, 1.0) * 100, 2):g}")
        elif gate == "min_rps":
            out.append(f"{prefix}avg(requests_per_sec) < {round(value, 2):g}")
    return out


def export_yaml(profile: Profile, *, test_id: str, host: str, locustfile: str = "locustfile.py") -> str:
    if not TEST_ID.fullmatch(test_id):
        raise UsageError(f"test id {test_id!r} is not valid for Azure Load Testing",
                         hint="2 to 50 characters of a-z, 0-9, _ and -")
    engines = max(1, math.ceil(profile.users / USERS_PER_ENGINE))
    lines_ = criteria(profile.gates)
    for endpoint, gates in sorted(profile.endpoints.items()):
        if ":" in endpoint:
            raise UsageError(f"request name {endpoint!r} contains ':', which failureCriteria cannot express")
        lines_ += criteria(gates, request=endpoint)
    if len(lines_) > MAX_CRITERIA:
        raise UsageError(f"profile {profile.name} has {len(lines_)} gates; Azure Load Testing takes {MAX_CRITERIA}")
    seconds = max(1, round(profile.run_seconds))
    description = f"{profile.users} users, spawn {profile.spawn_rate:g}/s, {seconds} s, from augeoctl"[:100]
    q = json.dumps  # JSON strings are valid YAML scalars
    lines = [
        "version: v0.1",
        f"testId: {q(test_id)}",
        f"displayName: {q(f'augeoctl {profile.name}')}",
        f"description: {q(description)}",
        f"testPlan: {q(locustfile)}",
        "testType: Locust",
        f"engineInstances: {engines}",
        "env:",
        f"  - name: LOCUST_HOST\n    value: {q(host)}",
        f"  - name: LOCUST_USERS\n    value: {q(str(profile.users))}",
        f"  - name: LOCUST_SPAWN_RATE\n    value: {q(f'{profile.spawn_rate:g}')}",
        f"  - name: LOCUST_RUN_TIME\n    value: {q(f'{seconds}s')}",
        "failureCriteria:",
    ]
    lines += [f"  - {q(c)}" for c in lines_]
    return "\n".join(lines) + "\n"
