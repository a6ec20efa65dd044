"""Locust users for the Augeo API: journeys with weights and think time.

Each journey is one line in JOURNEYS: (request name, method, path template, weight,
body). ``{user}`` in a path is a random seeded user id. Adding an endpoint is one line.
The host comes from ``--host`` (``augeoctl loadtest run`` passes the environment's URL).
"""

from __future__ import annotations

import random

from locust import between
from locust.contrib.fasthttp import FastHttpUser

USERS = 200  # seeded users in the sandbox (app.users ids 1..200)

# name (Locust reports it as "METHOD name"), method, path, weight, json body (or None)
JOURNEYS = [
    ("/health/ready", "GET", "/health/ready", 1, None),
    ("/api/organizations", "GET", "/api/organizations", 2, None),
    ("/api/users/[id]", "GET", "/api/users/{user}", 6, None),  # mostly cache hits
    ("/api/users/[id]/events", "GET", "/api/users/{user}/events?limit=10", 3, None),  # database reads
    ("/api/stats", "GET", "/api/stats", 1, None),
    ("/api/events", "POST", "/api/events", 2, {"user_id": "{user}", "kind": "loadtest"}),  # writes
]


def _fill(value, user: int):
    if isinstance(value, str):
        return int(value.format(user=user)) if value == "{user}" else value.format(user=user)
    if isinstance(value, dict):
        return {k: _fill(v, user) for k, v in value.items()}
    return value


def _journey(name: str, method: str, path: str, body):
    def run(self: FastHttpUser) -> None:
        user = random.randint(1, USERS)
        kwargs = {"name": name}
        if body is not None:
            kwargs["json"] = _fill(body, user)
        self.client.request(method, path.format(user=user), **kwargs)

    run.__name__ = "journey_" + "".join(c if c.isalnum() else "_" for c in name)
    return run


class PlatformUser(FastHttpUser):
    """An admin-panel user: reads mostly, writes sometimes, thinks between clicks."""

    wait_time = between(0.5, 2.0)
    tasks = {_journey(n, m, p, b): w for n, m, p, w, b in JOURNEYS}
