"""An Azure Load Testing test configuration (YAML) from an SLO profile.

The same locustfile runs on the managed engine (``testType: Locust``); the profile's
gates become ``failureCriteria`` (``avg(response_time_ms) > 500``, per request
``NAME: p95(response_time_ms) > 1000``, ``percentage(error) > 1``).
"""

from __future__ import annotations

import json
import math

from augeoctl.loadtest.gates import Profile

_METRIC = {"avg_ms": "avg(response_time_ms)", "p50_ms": "p50(response_time_ms)",
           "p95_ms": "p95(response_time_ms)", "p99_ms": "p99(response_time_ms)"}
USERS_PER_ENGINE = 250


def _criteria(gates: dict[str, float], prefix: str = "") -> list[str]:
    out = []
    for gate, value in sorted(gates.items()):
        if gate in _METRIC:
            out.append(f"{prefix}{_METRIC[gate]} > {value:g}")
        elif gate == "error_rate":
            out.append(f"{prefix}percentage(error) > {value * 100:g}")
        elif gate == "min_rps":
            out.append(f"{prefix}avg(requests_per_sec) < {value:g}")
    return out


def export_yaml(profile: Profile, *, test_id: str, host: str, locustfile: str = "locustfile.py") -> str:
    engines = max(1, math.ceil(profile.users / USERS_PER_ENGINE))
    criteria = _criteria(profile.gates)
    for endpoint, gates in sorted(profile.endpoints.items()):
        criteria += _criteria(gates, prefix=f"{endpoint}: ")
    q = json.dumps  # JSON strings are valid YAML scalars
    lines = [
        "version: v0.1",
        f"testId: {q(test_id)}",
        f"displayName: {q(f'augeoctl {profile.name}')}",
        f"description: {q(f'{profile.users} users, spawn rate {profile.spawn_rate:g}/s, {profile.run_time}')}",
        f"testPlan: {q(locustfile)}",
        "testType: Locust",
        f"engineInstances: {engines}",
        "env:",
        f"  - name: LOCUST_HOST\n    value: {q(host)}",
        f"  - name: LOCUST_USERS\n    value: {q(str(profile.users))}",
        f"  - name: LOCUST_SPAWN_RATE\n    value: {q(f'{profile.spawn_rate:g}')}",
        f"  - name: LOCUST_RUN_TIME\n    value: {q(profile.run_time)}",
        "failureCriteria:",
    ]
    lines += [f"  - {q(c)}" for c in criteria]
    return "\n".join(lines) + "\n"
