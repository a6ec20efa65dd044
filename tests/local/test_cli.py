"""The command line itself: help, common options, completion, config errors, sandbox."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from augeoctl.cli import cli
from tests.cli_lines import subcommands
from tests.conftest import run_cli, wait_for, wait_gone


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in subcommands(group).items():
        path = (*prefix, name)
        out.append(path)
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, path))
    return out


@pytest.mark.parametrize("path", [(), *_commands(cli)], ids=lambda p: " ".join(p) or "augeoctl")
def test_every_command_has_help_and_common_options(path) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Usage:" in result.output
    cmd = cli
    for part in path:
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    assert cmd.help, f"{' '.join(path)} has no help text"
    # Groups too: the common options are accepted at every level of the command line.
    for opt in ("--env", "--config", "--output", "--verbose"):
        assert opt in result.output, f"{' '.join(path) or 'augeoctl'} lacks {opt}"


def test_output_option_before_and_after_the_command(tmp_path) -> None:
    env = {"AUGEO_HOME": str(tmp_path)}
    for args in (["--output", "json", "restore", "--to-time", "2026-01-01T00:00:00"],
                 ["restore", "--to-time", "2026-01-01T00:00:00", "--output", "json"],
                 ["restore", "--to-time", "2026-01-01T00:00:00"]):
        r = CliRunner(env=env).invoke(cli, args, catch_exceptions=False)
        assert r.exit_code == 2
        if "json" in args:
            assert '"TimeParseError"' in r.stdout
        else:
            assert r.stdout == ""
        assert "no UTC offset" in r.stderr


@pytest.mark.parametrize("args", [["-o", "json", "backup", "list"], ["backup", "-o", "json", "list"],
                                  ["backup", "list", "-o", "json"]], ids=" ".join)
def test_common_options_at_every_level(tmp_path, args) -> None:
    r = CliRunner(env={"AUGEO_HOME": str(tmp_path)}).invoke(cli, args, catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["backups"] == []


def test_the_last_common_option_on_the_line_wins(tmp_path) -> None:
    runner = CliRunner(env={"AUGEO_HOME": str(tmp_path)})
    r = runner.invoke(cli, ["-o", "json", "backup", "-o", "text", "list"], catch_exceptions=False)
    assert r.exit_code == 0 and r.stdout.startswith("no backups")
    r = runner.invoke(cli, ["-o", "text", "backup", "list", "-o", "json"], catch_exceptions=False)
    assert r.exit_code == 0 and json.loads(r.stdout)["backups"] == []


def test_env_variables_resolve_like_flags(tmp_path) -> None:
    cfg = tmp_path / "envs.toml"
    cfg.write_text('[environments.staging]\nsubscription_id = "s"\nresource_group = "rg"\n')
    env = {"AUGEO_HOME": str(tmp_path), "AUGEO_CONFIG": str(cfg), "AUGEO_ENV": "staging"}
    r = CliRunner(env=env).invoke(cli, ["targets", "list"], catch_exceptions=False)
    assert r.exit_code == 2
    assert "missing required key(s): postgres_server" in r.stderr
    # A flag wins over the variable.
    r = CliRunner(env=env).invoke(cli, ["targets", "list", "--env", "local", "-o", "json"],
                                  catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert '"targets": []' in r.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('[environments.dev]\nsubscription_id = "s"\nresource_group = "r"\npostgres_server = "p"\nbogus = 1\n',
         "unknown key(s) in environments.dev: bogus"),
        ("[environments.dev]\nresource_group = 'r'\n", "missing required key(s): postgres_server, subscription_id"),
        ("[environments.dev\n", "not valid TOML"),
        ("[something]\n", "unknown top-level key(s): something"),
        ('[environments.dev]\nsubscription_id = 5\nresource_group = "r"\npostgres_server = "p"\n',
         "subscription_id must be a string"),
        ('[environments.local]\narchive_timeout = "x"\n', "archive_timeout must be an integer"),
    ],
)
def test_config_errors_name_the_key(tmp_path, content, fragment) -> None:
    cfg = tmp_path / "envs.toml"
    cfg.write_text(content)
    r = CliRunner(env={"AUGEO_HOME": str(tmp_path)}).invoke(
        cli, ["--config", str(cfg), "--env", "local" if "local" in content else "dev", "targets", "list"],
        catch_exceptions=False,
    )
    assert r.exit_code == 2
    assert fragment in r.stderr
    assert "Traceback" not in r.output


def test_missing_config_file_is_reported(tmp_path) -> None:
    r = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.toml"), "targets", "list"],
                           catch_exceptions=False)
    assert r.exit_code == 2 and "does not exist" in r.stderr


def test_shell_completion_lists_commands_and_environments(tmp_path) -> None:
    cfg = tmp_path / "envs.toml"
    cfg.write_text('[environments.staging]\nsubscription_id = "s"\nresource_group = "r"\npostgres_server = "p"\n')
    r = run_cli(env={"_AUGEOCTL_COMPLETE": "bash_complete", "COMP_WORDS": "augeoctl ba", "COMP_CWORD": "1"})
    assert r.returncode == 0 and "backup" in r.stdout
    r = run_cli(env={"_AUGEOCTL_COMPLETE": "bash_complete", "AUGEO_CONFIG": str(cfg),
                     "COMP_WORDS": "augeoctl --env s", "COMP_CWORD": "2"})
    assert "staging" in r.stdout
    r = run_cli(env={"_AUGEOCTL_COMPLETE": "bash_source"})
    assert "complete" in r.stdout and "augeoctl" in r.stdout


@pytest.mark.integration
def test_sandbox_lifecycle_and_autostart(home: Path) -> None:
    try:
        up = run_cli("sandbox", "up", "-o", "json", home=home)
        assert up.returncode == 0, up
        st = up.json()
        assert st["postgres"]["running"] and st["redis"]["running"]
        assert st["postgres"]["dsn"].startswith("postgresql://augeo@127.0.0.1:")
        assert st["redis"]["url"].startswith("redis://127.0.0.1:")
        again = run_cli("sandbox", "up", "-o", "json", home=home)
        assert again.returncode == 0 and again.json()["postgres"]["pid"] == st["postgres"]["pid"]

        # A crashed server is reported, not hidden.
        os.kill(st["redis"]["pid"], signal.SIGKILL)
        wait_gone(st["redis"]["pid"])
        status = run_cli("sandbox", "status", "-o", "json", home=home)
        assert status.returncode == 4, status
        assert status.json()["redis"]["state"] == "crashed"
        assert "crashed: redis" in status.stderr
        fixed = run_cli("sandbox", "up", home=home)
        assert fixed.returncode == 0, fixed

        down = run_cli("sandbox", "down", "-o", "json", home=home)
        assert down.returncode == 0
        assert down.json()["postgres"]["state"] == "stopped"
        assert run_cli("sandbox", "status", home=home).returncode == 0

        # Commands that need the sandbox start it and say so on stderr.
        made = run_cli("backup", "create", "-o", "json", home=home)
        assert made.returncode == 0, made
        assert "not running: starting it" in made.stderr
        assert made.json()["backups"][0]["id"].startswith("pg-")
    finally:
        run_cli("sandbox", "down", home=home)


@pytest.mark.parametrize("args", [["--redis", "--postgres"], ["--kind", "redis", "--all"], ["--all", "--redis"]])
def test_backup_create_refuses_a_mix_of_kinds_before_doing_anything(args, tmp_path) -> None:
    r = run_cli("backup", "create", *args, home=tmp_path / "home")
    assert r.returncode == 2, r
    assert "choose one of" in r.stderr and "--kind postgres|redis|all" in r.stderr
    assert not (tmp_path / "home" / "sandbox").exists()


def test_dr_drill_history_filters_by_scenario_and_refuses_run_options(tmp_path) -> None:
    home = tmp_path / "home"
    drills = home / "drills"
    drills.mkdir(parents=True)
    for i, scenario in enumerate(["redis-loss", "server-loss", "redis-loss"]):
        (drills / f"drill-2026112{i}T000000Z.json").write_text(json.dumps(
            {"schema_version": 2, "id": f"drill-{i}", "scenario": scenario, "verdict": "PASS",
             "rto_seconds": 1.0, "rpo_seconds": 0.5, "lost_writes": 0, "missing_before_recovery_point": 0}))
    refused = run_cli("dr-drill", "--rto", "1h", "history", home=home)
    assert refused.returncode == 2 and "--rto apply to a drill run" in refused.stderr, refused
    listed = run_cli("dr-drill", "--scenario", "redis-loss", "history", "-o", "json", home=home)
    assert listed.returncode == 0, listed
    assert [d["id"] for d in listed.json()["drills"]] == ["drill-2", "drill-0"]
    everything = run_cli("dr-drill", "history", "-o", "json", home=home)
    assert len(everything.json()["drills"]) == 3


def test_every_yes_has_the_short_form_y() -> None:
    from augeoctl.cli import cli

    def walk(cmd: click.Command) -> list[click.Command]:
        subs = list(subcommands(cmd).values()) if isinstance(cmd, click.Group) else []
        return [cmd, *[c for s in subs for c in walk(s)]]

    yes = [(c.name, p) for c in walk(cli) for p in c.params if isinstance(p, click.Option) and "--yes" in p.opts]
    assert len(yes) >= 6
    assert all("-y" in p.opts for _, p in yes), [n for n, p in yes if "-y" not in p.opts]


@pytest.mark.parametrize(("args", "fragment"), [
    (["--redis", "--latest"], "it takes no --latest"),
    (["--redis", "--to-time", "-5m", "--geo"], "it takes no --to-time, --geo"),
    (["--backup", "redis-x"], "give it with --redis"),
    (["--redis", "--target", "Bad Name"], "target"),
])
def test_restore_redis_refuses_bad_input_before_doing_anything(args, fragment, tmp_path) -> None:
    home = tmp_path / "home"
    r = run_cli("restore", *args, home=home)
    assert r.returncode == 2 and fragment in r.stderr, r
    assert "Traceback" not in r.stderr and not (home / "sandbox").exists()


@pytest.mark.integration
def test_restore_redis_makes_a_new_target_and_leaves_the_live_redis_alone(sandbox) -> None:
    import redis

    live = redis.Redis.from_url(sandbox.sandbox.redis_url())
    live.set("session:1", "a")
    live.set("session:2", "b")
    assert run_cli("backup", "create", "--kind", "redis", home=sandbox.home).returncode == 0
    live.set("session:3", "after the backup")
    r = run_cli("restore", "--redis", "--target", "rt-1", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    made = r.json()
    assert made["target"] == "rt-1" and made["keys"] == live.dbsize() - 1
    assert redis.Redis.from_url(made["url"]).get("session:2") == b"b"
    assert live.get("session:3") == b"after the backup" and made["url"] != sandbox.sandbox.redis_url()
    again = run_cli("restore", "--redis", "--target", "rt-1", home=sandbox.home)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert run_cli("targets", "drop", "rt-1", "--yes", home=sandbox.home).returncode == 0


@pytest.mark.integration
def test_the_service_runs_the_configured_number_of_workers(home: Path) -> None:
    from augeoctl.local import procs

    try:
        up = run_cli("sandbox", "up", "-o", "json", home=home, env={"AUGEO_SERVICE_WORKERS": "2"})
        assert up.returncode == 0, up
        master = up.json()["app"]["pid"]
        assert wait_for(lambda: len(procs.children(master)) == 2, 60, "two uvicorn workers")
    finally:
        run_cli("sandbox", "down", home=home)


def _complete(words: str, home, **env) -> list[str]:
    r = run_cli(home=home, env={"_AUGEOCTL_COMPLETE": "bash_complete", "COMP_WORDS": words,
                                "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)), **env})
    assert r.returncode == 0, r
    return [line.split(",", 1)[-1] for line in r.stdout.split()]


def test_shell_completion_of_runbook_and_slo_profile_names(tmp_path) -> None:
    assert "failed-deployment" in _complete("augeoctl runbook run fail", tmp_path)
    assert "server-loss" in _complete("augeoctl runbook show ", tmp_path)
    assert _complete("augeoctl loadtest run --profile peak", tmp_path) == ["peak-1000"]
    assert _complete("augeoctl targets drop x", tmp_path) == []  # no sandbox: nothing, no error


@pytest.mark.integration
def test_shell_completion_of_backup_ids_and_target_names(sandbox) -> None:
    made = run_cli("backup", "create", "--kind", "redis", "-o", "json", home=sandbox.home)
    assert made.returncode == 0, made
    backup_id = made.json()["backups"][0]["id"]
    assert backup_id in _complete("augeoctl backup verify redis-", sandbox.home)
    assert backup_id in _complete("augeoctl restore --redis --backup r", sandbox.home)
    assert run_cli("restore", "--redis", "--target", "comp-1", home=sandbox.home).returncode == 0
    assert "comp-1" in _complete("augeoctl targets drop comp", sandbox.home)
    assert run_cli("targets", "drop", "comp-1", "--yes", home=sandbox.home).returncode == 0


@pytest.mark.integration
def test_backup_list_and_show_say_whether_and_when_each_backup_was_verified(sandbox) -> None:
    made = run_cli("backup", "create", "-o", "json", home=sandbox.home).json()["backups"][0]["id"]
    listed = {b["id"]: b for b in run_cli("backup", "list", "-o", "json", home=sandbox.home).json()["backups"]}
    assert listed[made]["verified"] is None and listed[made]["age_seconds"] >= 0
    assert run_cli("backup", "verify", made, home=sandbox.home).returncode == 0
    listed = {b["id"]: b for b in run_cli("backup", "list", "-o", "json", home=sandbox.home).json()["backups"]}
    assert listed[made]["verified"]["ok"] is True and listed[made]["verified"]["failed"] == []
    shown = run_cli("backup", "show", made, "-o", "json", home=sandbox.home)
    assert shown.returncode == 0, shown
    assert shown.json()["backup"]["verified"]["verified_at"] == listed[made]["verified"]["verified_at"]
    assert shown.json()["window"]["backup_id"] == made
    text = run_cli("backup", "show", made, home=sandbox.home).stdout
    assert "verified      ok " in text
    missing = run_cli("backup", "show", "pg-nope", home=sandbox.home)
    assert missing.returncode == 2 and 'no backup "pg-nope"' in missing.stderr


@pytest.mark.integration
def test_backup_list_plot_draws_backups_and_the_restorable_window_on_one_axis(sandbox) -> None:
    run_cli("backup", "create", home=sandbox.home)
    sandbox.switch_wal_and_wait()
    r = run_cli("backup", "list", "--plot", "-o", "json", home=sandbox.home)
    assert r.returncode == 0, r
    data = r.json()
    pg = [b for b in data["backups"] if b["kind"] == "postgres" and not b.get("damaged")]
    svg = Path(data["plot"]).read_text()
    assert svg.count("<path d=") == len(pg)  # a mark per backup
    assert svg.count('fill="#2ca02c"') == sum(1 for w in data["window"]["windows"] if w["latest"])  # a bar per window
    text = run_cli("backup", "list", "--plot", home=sandbox.home).stdout
    lanes = {ln.split()[0]: ln for ln in text.splitlines() if ln.startswith(("backups", "restorable"))}
    assert "▲" in lanes["backups"] and "█" in lanes["restorable"]


def test_the_window_chart_marks_where_wal_ends_at_a_gap() -> None:
    from datetime import UTC, datetime

    from augeoctl.catalogue import window_chart

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    backups = [{"id": "pg-1", "kind": "postgres", "finished_at": "2026-11-29T08:00:00Z"},
               {"id": "pg-2", "kind": "postgres", "finished_at": "2026-11-29T10:00:00Z"}]
    window = {"windows": [
        {"backup_id": "pg-1", "earliest": "2026-11-29T08:00:00Z", "latest": "2026-11-29T09:00:00Z",
         "ends_at_gap": ["000000010000000000000009"], "ends_at_damaged": []},
        {"backup_id": "pg-2", "earliest": "2026-11-29T10:00:00Z", "latest": "2026-11-29T11:59:00Z",
         "ends_at_gap": [], "ends_at_damaged": []}]}
    drawn = window_chart(backups, window, now)
    backups_lane, restorable, ends = drawn["lanes"]
    assert len(backups_lane.marks) == 2 and len(restorable.spans) == 2
    assert [name for _, name in ends.marks] == ["pg-1: window ends at missing 000000010000000000000009"]
    assert ends.marks[0][0] == datetime(2026, 11, 29, 9, 0, tzinfo=UTC).timestamp()
    assert drawn["end"] == now.timestamp() and drawn["start"] < backups_lane.marks[0][0]


def test_a_failed_verification_is_recorded_with_its_failed_checks(tmp_path) -> None:
    from datetime import UTC, datetime

    from augeoctl import catalogue
    from augeoctl.backends.base import Check, VerifyResult

    bad = VerifyResult("pg-1", "postgres", (Check("pg_verifybackup", True, ""), Check("wal-content", False, "x")))
    catalogue.record(tmp_path, "local", bad, datetime(2026, 11, 29, tzinfo=UTC))
    assert catalogue.verifications(tmp_path, "local") == {
        "pg-1": {"ok": False, "verified_at": "2026-11-29T00:00:00.000000Z", "failed": ["wal-content"]}}
    assert catalogue.verifications(tmp_path, "staging") == {}
    (tmp_path / catalogue.FILE).write_text("{not json")
    assert catalogue.verifications(tmp_path, "local") == {}  # unreadable: never verified, the safe reading


def test_tsv_has_a_header_and_one_row_per_item_for_scripts(tmp_path) -> None:
    from augeoctl.cli.common import tsv

    r = run_cli("runbook", "list", "-o", "tsv", home=tmp_path)
    assert r.returncode == 0, r
    header, *rows = r.stdout.splitlines()
    assert header.split("\t")[:2] == ["name", "title"]
    listed = run_cli("runbook", "list", "-o", "json", home=tmp_path).json()
    assert [row.split("\t")[0] for row in rows] == [b["name"] for b in listed["runbooks"]]
    assert all(len(row.split("\t")) == len(header.split("\t")) for row in rows)
    # nested fields flatten to a.b columns; tabs and newlines in values cannot break a row
    text = tsv({"items": [{"id": "a", "size": {"bytes": 3}, "note": "x\ty\nz", "ok": True, "tags": [1, 2]},
                          {"id": "b", "extra": None}]})
    assert text == "id\tsize.bytes\tnote\tok\ttags\textra\na\t3\tx\\ty\\nz\ttrue\t1,2\t\nb\t\t\t\t\t\n"
    # a result without a list is key<TAB>value rows
    assert tsv({"target": "t1", "window": {"earliest": None}}) == "target\tt1\nwindow.earliest\t\n"


HIDE_MODULES = '''
import sys
class _Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HIDDEN!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
        return None
sys.meta_path.insert(0, _Hidden())
'''


@pytest.mark.parametrize(("module", "args", "extra"), [
    ("locust", ["loadtest", "run", "--profile", "smoke", "--host", "http://127.0.0.1:9"], "loadtest"),
    ("textual", ["dashboard"], "dashboard"),
    ("azure", ["--env", "dev", "backup", "list"], "azure"),
])
def test_a_missing_extra_is_named_with_exit_3(tmp_path, module, args, extra) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE_MODULES.format(HIDDEN={module}))
    cfg = tmp_path / "envs.toml"
    cfg.write_text('[environments.dev]\nsubscription_id = "s"\nresource_group = "r"\npostgres_server = "p"\n')
    r = run_cli("--config", str(cfg), *args, home=tmp_path,
                env={"PYTHONPATH": f"{site}:{os.environ.get('PYTHONPATH', '')}"})
    assert r.returncode == 3, r
    assert f"'{extra}' extra" in r.stderr and f"augeoctl[{extra}]" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.integration
def test_sandbox_up_restarts_a_service_another_installation_started(home: Path) -> None:
    """A reference service whose pid file names another Python (an older virtualenv, perhaps
    removed since) is restarted by this augeoctl, not kept: its reloads would fork that
    installation's code."""
    assert run_cli("sandbox", "up", home=home).returncode == 0
    pidfile = home / "sandbox" / "app" / "service.pid"
    old_pid, python = pidfile.read_text().splitlines()
    assert python and Path(python).exists()
    pidfile.write_text(f"{old_pid}\n/opt/removed-venv/bin/python\n")
    r = run_cli("sandbox", "up", "-o", "json", home=home)
    assert r.returncode == 0, r
    assert "started by another installation" in r.stderr
    new_pid, now_python = pidfile.read_text().splitlines()
    assert new_pid != old_pid and now_python == python
    wait_gone(int(old_pid))
    assert r.json()["app"]["pid"] == int(new_pid)
    again = run_cli("sandbox", "up", home=home)  # started here now: kept
    assert again.returncode == 0 and pidfile.read_text().splitlines()[0] == new_pid
