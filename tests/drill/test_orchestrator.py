"""The drill orchestrator and the scenario registry, on a built platform: no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from augeoctl.config import Environment, Settings
from augeoctl.drill import model
from augeoctl.drill.context import DrillConfig, DrillContext
from augeoctl.drill.orchestrator import PHASES, Drill, DrillHooks
from augeoctl.drill.scenario import Confirmation, Outcome, Scenario
from augeoctl.drill.scenarios import REGISTRY, scenario_for
from augeoctl.errors import EXIT_VERDICT, OperationFailed, PreflightFailed, UsageError
from augeoctl.platform import platform_for
from augeoctl.platform.base import Platform, WalProtection
from augeoctl.progress import NullReporter


class BuiltPlatform(Platform):
    kind = "built"
    title = "a built platform"

    def postgres(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the built scenario touches no backend")

    def redis(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the built scenario touches no backend")

    def wal_protection(self) -> WalProtection:
        return WalProtection("archive", "built")

    def health(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the built scenario probes no health")

    def has_redis(self) -> bool:
        return False

    def service_url(self, reporter) -> str:  # type: ignore[no-untyped-def]
        raise AssertionError("the built scenario loads no service")


class Built(Scenario[BuiltPlatform]):
    """Records the phases it ran; ``fail`` maps a phase to the exception it raises."""

    name = "server-loss"
    platform_type = BuiltPlatform
    verifies = True
    fail: ClassVar[dict[str, Exception]] = {}
    ran: ClassVar[list[str]] = []

    def _step(self, phase: str) -> None:
        self.ran.append(phase)
        if phase in self.fail:
            raise self.fail[phase]

    def confirmation(self, config: DrillConfig) -> Confirmation | None:
        return None

    def preflight(self, ctx: DrillContext) -> None:
        self._step("preflight")

    def disaster(self, ctx: DrillContext) -> Outcome:
        self._step("disaster")
        ctx.disaster_at = datetime.now(UTC)
        return Outcome("marked")

    def recover(self, ctx: DrillContext) -> Outcome:
        self._step("recovery")
        assert ctx.disaster_at is not None
        ctx.recovery_point = ctx.disaster_at - timedelta(seconds=1)
        ctx.service_ready_at = ctx.disaster_at + timedelta(seconds=2)
        return Outcome("restored", (("copy", 1.0),))

    def verify(self, ctx: DrillContext) -> None:
        self._step("verification")

    def cleanup(self, ctx: DrillContext) -> Outcome:
        self._step("cleanup")
        return Outcome("repaired")


@pytest.fixture()
def built(tmp_path: Path):
    Built.fail, Built.ran = {}, []
    platform = BuiltPlatform(Settings(env=Environment("test", "local"), home=tmp_path))
    return platform


def drill(platform: Platform, hooks: DrillHooks | None = None) -> Drill:
    return Drill(platform, NullReporter(), hooks, scenarios=(Built,))


CFG = DrillConfig(scenario="server-loss", duration=1.0)


def test_phases_run_in_order_and_the_report_is_kept(built: BuiltPlatform) -> None:
    data = model.to_json(drill(built).run(CFG))
    assert Built.ran == ["preflight", "disaster", "recovery", "verification", "cleanup"]
    assert [p["name"] for p in data["phases"]] == Built.ran
    assert data["phases"][2]["parts"] == [{"name": "copy", "seconds": 1.0}]
    assert data["verdict"] == "PASS", data["reasons"]
    assert data["rpo_seconds"] == 1.0 and data["environment"] == "test"
    assert (built.home / "drills" / f"{data['id']}.json").exists()


def test_an_augeo_error_fails_the_phase_and_the_drill_goes_on(built: BuiltPlatform) -> None:
    Built.fail = {"recovery": OperationFailed("the restore broke")}
    data = model.to_json(drill(built).run(CFG))
    assert Built.ran[-2:] == ["verification", "cleanup"]
    assert data["verdict"] == "FAIL"
    assert "phase recovery failed: the restore broke" in data["reasons"]


def test_a_bug_is_not_a_verdict_it_surfaces_after_the_cleanup(built: BuiltPlatform) -> None:
    Built.fail = {"recovery": KeyError("restore")}
    with pytest.raises(KeyError):
        drill(built).run(CFG)
    assert Built.ran == ["preflight", "disaster", "recovery", "cleanup"]
    assert not (built.home / "drills").exists() or not list((built.home / "drills").glob("*.json"))


def test_a_failed_preflight_aborts_before_the_disaster(built: BuiltPlatform) -> None:
    Built.fail = {"preflight": PreflightFailed("not enough disk")}
    data = model.to_json(drill(built).run(CFG))
    assert Built.ran == ["preflight"]
    assert data["aborted"] == "not enough disk" and data["verdict"] == "FAIL"
    assert [p["name"] for p in data["phases"]] == ["preflight"]
    assert PreflightFailed.exit_code == EXIT_VERDICT


def test_hooks_run_before_and_after_named_phases(built: BuiltPlatform) -> None:
    seen: list[str] = []
    hooks = DrillHooks(before={"recovery": lambda ctx: seen.append(f"before recovery {Built.ran[-1]}")},
                       after={"disaster": lambda ctx: seen.append(f"after disaster {ctx.disaster_at is not None}")})
    drill(built, hooks).run(CFG)
    assert seen == ["after disaster True", "before recovery disaster"]


def test_a_hook_may_stop_the_drill_at_a_phase_and_cleanup_still_runs(built: BuiltPlatform) -> None:
    class Stop(Exception):
        pass

    def stop(ctx: DrillContext) -> None:
        raise Stop

    with pytest.raises(Stop):
        drill(built, DrillHooks(before={"recovery": stop})).run(CFG)
    assert Built.ran == ["preflight", "disaster", "cleanup"]


def test_hooks_must_name_a_phase() -> None:
    with pytest.raises(ValueError, match="no drill phase named recover"):
        DrillHooks(after={"recover": lambda ctx: None})
    assert PHASES[0] == "preflight" and PHASES[-1] == "cleanup"


def _settings(tmp_path: Path, kind: str) -> Settings:
    env = Environment("staging", kind, {"postgres_server": "psql-x"}) if kind == "azure" \
        else Environment("local", "local")
    return Settings(env=env, home=tmp_path)


def test_the_registry_covers_the_report_scenarios(tmp_path: Path) -> None:
    assert {cls.name for cls in REGISTRY} == set(model.SCENARIOS)
    local = platform_for(_settings(tmp_path, "local"))
    assert [scenario_for(local, n, NullReporter()).name for n in model.SCENARIOS] == list(model.SCENARIOS)


def test_redis_loss_is_refused_on_azure_with_where_it_runs(tmp_path: Path) -> None:
    azure = platform_for(_settings(tmp_path, "azure"))
    with pytest.raises(UsageError) as err:
        Drill(azure).confirmation(DrillConfig(scenario="redis-loss"))
    assert err.value.message == "the redis-loss drill runs on the local sandbox only"
    assert err.value.hint == "choose accidental-delete or server-loss on Azure"


def test_confirmations_come_from_the_scenario(tmp_path: Path) -> None:
    azure = Drill(platform_for(_settings(tmp_path, "azure")))
    asked = azure.confirmation(DrillConfig(scenario="server-loss"))
    assert asked is not None and asked.name == "staging" and "psql-x" in asked.description
    assert azure.confirmation(DrillConfig(scenario="server-loss", keep=True)) is None
    local = Drill(platform_for(_settings(tmp_path, "local"))).confirmation(DrillConfig(scenario="redis-loss"))
    assert local == Confirmation("redis-loss", "a drill that will SIGKILL the sandbox's Redis and remove "
                                 "its RDB (repaired afterwards)")
