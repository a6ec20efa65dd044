"""The registry of drill scenarios: which scenarios each kind of platform has.

A scenario class names the platform type it runs on; looking one up for a platform
picks the class registered for that platform's type, so nothing here branches on
local or Azure. A name that exists only elsewhere is refused with where it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from augeoctl.drill import azure, local, local_deploy, local_migration, model
from augeoctl.drill.scenario import Scenario
from augeoctl.errors import UsageError
from augeoctl.platform import Platform
from augeoctl.progress import Reporter

ScenarioType = type[Scenario[Any]]

REGISTRY: tuple[ScenarioType, ...] = (*local.SCENARIOS, *local_migration.SCENARIOS, *local_deploy.SCENARIOS,
                                      *azure.SCENARIOS)


def available(platform: Platform, registry: Iterable[ScenarioType] = REGISTRY) -> list[ScenarioType]:
    """The scenarios that run on this platform."""
    return [cls for cls in registry if isinstance(platform, cls.platform_type)]


def scenario_for(platform: Platform, name: str, reporter: Reporter,
                 registry: Iterable[ScenarioType] = REGISTRY) -> Scenario[Any]:
    """A new scenario object for one drill run on ``platform``."""
    registry = tuple(registry)
    here = available(platform, registry)
    for cls in here:
        if cls.name == name:
            return cls(platform, reporter)
    elsewhere = list(dict.fromkeys(cls.platform_type.title for cls in registry if cls.name == name))
    if not elsewhere:
        raise UsageError(f'unknown scenario "{name}"', hint="choose " + ", ".join(model.SCENARIOS))
    raise UsageError(f"the {name} drill runs on {' or '.join(elsewhere)} only",
                     hint=f"choose {' or '.join(cls.name for cls in here)} on {platform.title}")
