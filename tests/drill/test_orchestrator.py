"""The drill orchestrator and the scenario registry, on a built platform: no servers."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from augeoctl import config
from augeoctl.cli import cli
from augeoctl.config import Environment, Settings
from augeoctl.drill import journal, model
from augeoctl.drill.context import DrillConfig, DrillContext
from augeoctl.drill.orchestrator import PHASES, Drill, DrillHooks, DrillInterrupted, StopAt
from augeoctl.drill.scenario import Confirmation, Outcome, Scenario
from augeoctl.drill.scenarios import REGISTRY, scenario_for
from augeoctl.errors import (
    EXIT_INTERRUPTED,
    EXIT_VERDICT,
    OperationFailed,
    PreflightFailed,
    RepairFailed,
    UnfinishedDrill,
    UsageError,
)
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
    signals: ClassVar[dict[str, int]] = {}  # phase -> a signal the drill sends itself in it
    ran: ClassVar[list[str]] = []

    def _step(self, phase: str) -> None:
        self.ran.append(phase)
        if phase in self.signals:
            os.kill(os.getpid(), self.signals[phase])
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


class Journaled(Built):
    """Built, with a journal, as a scenario that damages the sandbox has."""

    journaled = True


@pytest.fixture()
def built(tmp_path: Path):
    Built.fail, Built.ran, Built.signals = {}, [], {}
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


@pytest.mark.parametrize(("sig", "phase"), [(signal.SIGTERM, "recovery"), (signal.SIGINT, "verification")])
def test_a_signal_in_a_phase_runs_the_cleanup_keeps_the_report_and_exits_130(
        built: BuiltPlatform, sig: int, phase: str) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    Built.signals = {phase: sig}
    with pytest.raises(DrillInterrupted) as err:
        drill(built).run(CFG)
    name = signal.Signals(sig).name
    assert err.value.exit_code == EXIT_INTERRUPTED
    assert Built.ran[-1] == "cleanup" and phase in Built.ran
    data = model.to_json(err.value.report)
    assert data["interrupted"] == f"{name} during the {phase} phase"
    assert data["phases"][-2]["name"] == phase and not data["phases"][-2]["ok"]
    assert data["verdict"] == "FAIL" and data["reasons"][0] == f"interrupted: {name} during the {phase} phase"
    assert (built.home / "drills" / f"{data['id']}.json").exists()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_signal_during_the_cleanup_waits_until_it_is_done(built: BuiltPlatform) -> None:
    Built.signals = {"cleanup": signal.SIGTERM}
    with pytest.raises(DrillInterrupted) as err:
        drill(built).run(CFG)
    assert err.value.report.interrupted == "SIGTERM during the cleanup phase"
    assert err.value.report.phases[-1].name == "cleanup" and err.value.report.phases[-1].ok


def test_a_signal_in_the_preflight_damages_nothing(built: BuiltPlatform) -> None:
    Built.signals = {"preflight": signal.SIGINT}
    with pytest.raises(DrillInterrupted) as err:
        drill(built).run(CFG)
    assert Built.ran == ["preflight"]
    assert err.value.report.aborted == "SIGINT during the preflight phase"


def test_the_journal_lives_from_the_preflight_to_a_finished_repair(built: BuiltPlatform) -> None:
    seen: list[str] = []
    hooks = DrillHooks(after={"disaster": lambda ctx: seen.append(journal.path(built.home).read_text())})
    Drill(built, None, hooks, scenarios=(Journaled,)).run(CFG)
    assert '"phase": "disaster"' in seen[0] and '"scenario": "server-loss"' in seen[0]
    assert not journal.path(built.home).exists()


def test_a_failed_repair_keeps_the_journal_and_the_next_drill_is_refused(built: BuiltPlatform) -> None:
    Built.fail = {"cleanup": RepairFailed("the data folder is gone")}
    data = model.to_json(Drill(built, None, scenarios=(Journaled,)).run(CFG))
    assert data["verdict"] == "FAIL" and "phase cleanup failed: the data folder is gone" in data["reasons"]
    kept = journal.Journal.load(built.home)
    assert kept is not None and kept.drill_id == data["id"]
    assert kept.owner_alive()  # this test process wrote it, and runs
    Built.fail = {}
    with pytest.raises(UnfinishedDrill) as err:
        Drill(built, None, scenarios=(Journaled,)).run(CFG)
    assert err.value.exit_code == EXIT_VERDICT
    assert err.value.message.startswith(f"drill {data['id']} is running")  # this test process wrote it


def test_an_interrupted_drill_whose_repair_failed_says_so(built: BuiltPlatform) -> None:
    Built.signals = {"recovery": signal.SIGTERM}
    Built.fail = {"cleanup": RepairFailed("the data folder is gone")}
    with pytest.raises(UnfinishedDrill) as err:
        Drill(built, None, scenarios=(Journaled,)).run(CFG)
    assert "was interrupted (SIGTERM during the recovery phase) and the sandbox was not repaired" in err.value.message
    assert "augeoctl sandbox repair" in (err.value.hint or "")


def test_a_journal_left_by_a_dead_drill_names_the_repair(built: BuiltPlatform) -> None:
    j = journal.Journal.begin(built.home, "drill-20261124T101500Z", "server-loss", "test", False)
    j.note("owner", {"pid": 2**22 + 1, "start_ticks": 1})  # a process that does not exist
    with pytest.raises(UnfinishedDrill) as err:
        Drill(built, None, scenarios=(Journaled,)).run(CFG)
    assert err.value.message == ("an unfinished drill drill-20261124T101500Z left the sandbox damaged: "
                                 "run `augeoctl sandbox repair`")
    other = BuiltPlatform(Settings(env=Environment("staging", "azure"), home=built.home))
    assert journal.unfinished(other) is None  # another environment's drill


def test_stop_points_are_phase_boundaries_the_config_layer_knows() -> None:
    assert config.DRILL_PHASES == PHASES
    assert StopAt.parse("after:disaster") == StopAt("after", "disaster")
    assert StopAt.parse(None) is None
    with pytest.raises(ValueError, match="before:PHASE or after:PHASE"):
        StopAt.parse("during:recovery")


def test_commands_that_build_on_the_sandbox_refuse_while_a_drill_left_it_damaged(tmp_path: Path) -> None:
    j = journal.Journal.begin(tmp_path, "drill-20261124T101500Z", "server-loss", "local", False)
    j.note("owner", {"pid": 2**22 + 1, "start_ticks": 1})  # killed
    runner = CliRunner(env={"AUGEO_HOME": str(tmp_path), "AUGEO_ENV": None, "AUGEO_CONFIG": None,
                            "XDG_CONFIG_HOME": str(tmp_path / "none")})
    says = ("an unfinished drill drill-20261124T101500Z left the sandbox damaged: "
            "run `augeoctl sandbox repair`")
    status = runner.invoke(cli, ["sandbox", "status", "-o", "json"], catch_exceptions=False)
    assert status.exit_code == EXIT_VERDICT and says in status.stderr
    assert json.loads(status.stdout)["unfinished_drill"]["drill_id"] == "drill-20261124T101500Z"
    for args in (["sandbox", "up"], ["dr-drill", "--yes"], ["restore", "--latest"]):
        r = runner.invoke(cli, args, catch_exceptions=False)
        assert r.exit_code == EXIT_VERDICT and says in r.stderr, (args, r.output)
    assert not (tmp_path / "sandbox").exists()  # nothing was started
