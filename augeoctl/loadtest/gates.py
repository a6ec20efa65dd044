"""SLO profiles and their gates, evaluated as pure functions over Locust's statistics."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from augeoctl.errors import ConfigError, UsageError
from augeoctl.timeparse import parse_duration

GATE_KEYS = {"avg_ms", "p50_ms", "p95_ms", "p99_ms", "error_rate", "min_rps"}
PROFILE_KEYS = {"users", "spawn_rate", "run_time", "gates", "endpoints"}
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


def _check_gates(where: str, gates: Any) -> dict[str, float]:
    if not isinstance(gates, dict):
        raise ConfigError(f"{where}.gates must be a table")
    unknown = sorted(set(gates) - GATE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown gate(s) {', '.join(unknown)}", hint="known: " + ", ".join(sorted(GATE_KEYS)))
    out = {}
    for k, v in gates.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ConfigError(f"{where}.gates.{k} must be a number >= 0")
        out[k] = float(v)
    return out


def load_profiles(path: Path | Traversable) -> dict[str, Profile]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"SLO file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"SLO file {path} is not valid TOML: {exc}") from None
    profiles = {}
    for name, raw in (data.get("profiles") or {}).items():
        where = f"{path.name}: profiles.{name}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        unknown = sorted(set(raw) - PROFILE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        missing = sorted({"users", "spawn_rate", "run_time", "gates"} - set(raw))
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        users, rate = raw["users"], raw["spawn_rate"]
        if isinstance(users, bool) or not isinstance(users, int) or users < 1:
            raise ConfigError(f"{where}.users must be a whole number >= 1")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
            raise ConfigError(f"{where}.spawn_rate must be a number > 0 (users started per second)")
        parse_duration(str(raw["run_time"]))
        endpoints = {ep: _check_gates(f"{where}.endpoints.{ep}", (v or {}).get("gates", {}))
                     for ep, v in (raw.get("endpoints") or {}).items()}
        profiles[name] = Profile(name, int(raw["users"]), float(raw["spawn_rate"]), str(raw["run_time"]),
                                 _check_gates(where, raw["gates"]), endpoints)
    return profiles


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
