"""SLO profiles and their gates, evaluated as pure functions over Locust's statistics."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from augeoctl.config_models import clean_schema, explain
from augeoctl.errors import ConfigError, UsageError
from augeoctl.timeparse import parse_duration

AGGREGATED = "Aggregated"

# Shipped with the package: the default SLO profiles and the locustfile, whose request names
# the endpoint gates use. loadtests/ in the repository holds identical copies.
PACKAGED = resources.files("augeoctl.loadtest") / "resources"
SLO_FILE = PACKAGED / "slo.toml"
LOCUSTFILE = PACKAGED / "locustfile.py"


@dataclass(frozen=True)
class Profile:
    name: str
    users: int
    spawn_rate: float
    run_time: str
    gates: dict[str, float]
    endpoints: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def run_seconds(self) -> float:
        return parse_duration(self.run_time).total_seconds()


@dataclass(frozen=True)
class EndpointStats:
    name: str
    requests: int
    failures: int
    avg_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class GateResult:
    scope: str  # "global" or a request name
    gate: str
    threshold: float
    measured: float | None
    passed: bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Gates(_Strict):
    """Thresholds of one scope (all requests, or one request name); each is optional."""

    avg_ms: float | None = Field(None, ge=0, description="average response time, at most (ms)")
    p50_ms: float | None = Field(None, ge=0, description="median response time, at most (ms)")
    p95_ms: float | None = Field(None, ge=0, description="95th percentile response time, at most (ms)")
    p99_ms: float | None = Field(None, ge=0, description="99th percentile response time, at most (ms)")
    error_rate: float | None = Field(None, ge=0, description="failed requests / requests, at most (0.01 is 1 %)")
    min_rps: float | None = Field(None, ge=0, description="requests per second, at least")


class EndpointGates(_Strict):
    gates: Gates = Field(default_factory=lambda: Gates.model_validate({}), description="gates of this request name (as Locust names it)")


class ProfileTable(_Strict):
    """``[profiles.NAME]``: a Locust run and the gates that judge it."""

    users: int = Field(ge=1, description="concurrent users")
    spawn_rate: float = Field(gt=0, description="users started per second")
    run_time: str = Field(description='how long the run lasts, e.g. "5m"')
    gates: Gates = Field(description="gates over all requests")
    endpoints: dict[str, EndpointGates] = Field(default_factory=dict,
                                                description='gates of single request names, e.g. "GET /api/users/[id]"')

    @field_validator("run_time")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            parse_duration(value)
        except UsageError as exc:
            raise ValueError(exc.message) from None
        return value


class SloFile(_Strict):
    """The SLO profiles file (TOML) of `augeoctl loadtest run --profile NAME`."""

    model_config = ConfigDict(extra="forbid", strict=True, title="augeoctl SLO profiles")
    profiles: dict[str, ProfileTable] = Field(default_factory=dict, description="one table per profile")


GATE_KEYS = set(Gates.model_fields)
_KNOWN = sorted(GATE_KEYS | set(ProfileTable.model_fields) | {"profiles"})


def _gates(g: Gates) -> dict[str, float]:
    return {k: float(v) for k, v in g.model_dump(exclude_none=True).items()}


def load_profiles(path: Path | Traversable) -> dict[str, Profile]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"SLO file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"SLO file {path} is not valid TOML: {exc}") from None
    try:
        parsed = SloFile.model_validate(data)
    except ValidationError as exc:
        raise explain(exc, data, path.name, _KNOWN) from None
    return {name: Profile(name, p.users, float(p.spawn_rate), p.run_time, _gates(p.gates),
                          {ep: _gates(e.gates) for ep, e in p.endpoints.items()})
            for name, p in parsed.profiles.items()}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the SLO profiles file, for editors."""
    return clean_schema(SloFile.model_json_schema())


def get_profile(path: Path | Traversable, name: str) -> Profile:
    profiles = load_profiles(path)
    if name not in profiles:
        raise UsageError(f'no SLO profile "{name}" in {path}', hint="profiles: " + ", ".join(sorted(profiles)))
    return profiles[name]


def read_stats(csv_path: Path) -> dict[str, EndpointStats]:
    """Locust's ``PREFIX_stats.csv``: one row per request name and an Aggregated row.

    Rows are keyed ``METHOD name`` (``GET /api/users/[id]``); a name that already starts
    with its method (the locustfile names requests that way, so Azure Load Testing's
    per-request criteria see the same names) is kept as it is.
    """
    out = {}
    with csv_path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            name, method = row["Name"], row.get("Type") or ""
            if name != AGGREGATED and method and not name.startswith(method + " "):
                name = f"{method} {name}"

            def num(key: str, row: dict[str, str] = row) -> float:
                try:
                    return float(row.get(key) or 0)
                except ValueError:
                    return 0.0

            out[name] = EndpointStats(name, int(num("Request Count")), int(num("Failure Count")),
                                      num("Average Response Time"), num("50%"), num("95%"), num("99%"),
                                      num("Requests/s"))
    return out


def _measure(stats: EndpointStats, gate: str) -> float:
    return {"avg_ms": stats.avg_ms, "p50_ms": stats.p50_ms, "p95_ms": stats.p95_ms, "p99_ms": stats.p99_ms,
            "error_rate": stats.error_rate, "min_rps": stats.rps}[gate]


def evaluate(profile: Profile, stats: dict[str, EndpointStats]) -> list[GateResult]:
    """Every gate of the profile against the run's statistics.

    A gate on an endpoint with no requests fails: an untested endpoint is not a pass.
    """
    results = []
    scopes = [("global", AGGREGATED, profile.gates)] + [(ep, ep, g) for ep, g in profile.endpoints.items()]
    for scope, key, gates in scopes:
        st = stats.get(key)
        for gate, threshold in sorted(gates.items()):
            if st is None or st.requests == 0:
                results.append(GateResult(scope, gate, threshold, None, False))
                continue
            value = _measure(st, gate)
            ok = value >= threshold if gate == "min_rps" else value <= threshold
            results.append(GateResult(scope, gate, threshold, round(value, 4), ok))
    return results
