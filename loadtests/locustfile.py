"""Locust users for the Augeo API: journeys with weights and think time.

Each journey is one ``Journey`` line in JOURNEYS; adding an endpoint is one line.
``{user}`` in a path or body is a random seeded user id. Requests are reported under
``"METHOD label"`` (``GET /api/users/[id]``), the names the SLO profiles' per-endpoint
gates and Azure Load Testing's per-request criteria use.

The host comes from ``--host`` (``augeoctl loadtest run`` passes the environment's URL)
or ``LOCUST_HOST``. The file needs only Locust, so it runs unchanged on Azure Load Testing.
HTTP Basic credentials come from ``AUGEO_LOAD_BASIC_AUTH`` (``user:password``):
``augeoctl loadtest run --host http://user:password@host`` sets it and gives Locust the
host without them, so Locust's report and CSVs never show the password.
"""

from __future__ import annotations

import base64
import os
import random
from typing import Any, NamedTuple

from locust import between
from locust.contrib.fasthttp import FastHttpUser

USERS = int(os.environ.get("AUGEO_LOAD_USER_IDS", "200"))  # seeded users: app.users ids 1..200
BASIC_AUTH = os.environ.get("AUGEO_LOAD_BASIC_AUTH")  # "user:password", or unset


class Journey(NamedTuple):
    method: str
    label: str  # how the request is named in the statistics, after its method
    path: str
    weight: int
    body: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.method} {self.label}"


JOURNEYS = [
    Journey("GET", "/health/ready", "/health/ready", 1),  # the platform's probes
    Journey("GET", "/api/organizations", "/api/organizations", 2),
    Journey("GET", "/api/users/[id]", "/api/users/{user}", 6),  # Redis-cached: mostly hits
    Journey("GET", "/api/users/[id]/events", "/api/users/{user}/events?limit=10", 3),  # database reads
    Journey("GET", "/api/stats", "/api/stats", 1),  # a database aggregate
    Journey("POST", "/api/events", "/api/events", 2, {"user_id": "{user}", "kind": "loadtest"}),  # writes
]


def fill(value: Any, user: int) -> Any:
    """Put the user id into a body: ``"{user}"`` alone becomes the number itself."""
    if value == "{user}":
        return user
    if isinstance(value, str):
        return value.format(user=user)
    if isinstance(value, dict):
        return {k: fill(v, user) for k, v in value.items()}
    return value


def task_for(journey: Journey):
    def run(self: FastHttpUser) -> None:
        user = random.randint(1, USERS)
        kwargs: dict[str, Any] = {"name": journey.name}
        if journey.body is not None:
            kwargs["json"] = fill(journey.body, user)
        self.client.request(journey.method, journey.path.format(user=user), **kwargs)

    run.__name__ = "journey_" + "".join(c if c.isalnum() else "_" for c in journey.name)
    return run


class PlatformUser(FastHttpUser):
    """An admin-panel user: reads mostly, writes sometimes, thinks between clicks."""

    wait_time = between(0.5, 2.0)
    if BASIC_AUTH:  # RFC 7617
        default_headers = {"Authorization": "Basic " + base64.b64encode(BASIC_AUTH.encode()).decode()}
    tasks = {task_for(j): j.weight for j in JOURNEYS}  # type: ignore[assignment]  # Locust takes {task: weight} too
