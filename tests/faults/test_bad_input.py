"""Absurd and hostile input: every case exits with a message naming the input and the fix.

Bad input and configuration exit 2 and change nothing; a CNAME loop is an audit finding
(exit 4); a full disk during a restore names the cause, the folder and the free space.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from augeoctl import config
from augeoctl.backends.base import check_target_name
from augeoctl.backends.local_recovery import _RecoveryWatch, recovery_error
from augeoctl.cli import cli
from augeoctl.dns.names import host_domain
from augeoctl.errors import (
    EXIT_FAILED,
    ConfigError,
    RestoreError,
    RestoreRefused,
    TimeParseError,
    UsageError,
)
from augeoctl.local import tools
from augeoctl.local.postgres import SandboxPostgres
from augeoctl.local.sandbox import Sandbox
from augeoctl.progress import NullReporter
from augeoctl.timeparse import parse_duration, parse_time
from tests.conftest import run_cli
from tests.dns.conftest import dkim_keys, knot  # noqa: F401 (fixtures: Knot serving tests/dns/zones.py)


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path) -> None:
    for name in list(os.environ):
        if name.startswith("AUGEO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_usage(r, *says: str) -> None:
    """Exit 2 with a message and a hint, never an internal error or a traceback."""
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert "internal error" not in r.output and "Traceback" not in r.output, r.output
    for text in says:
        assert text in r.stderr, (text, r.stderr)


# -- 1. absurd durations and times ----------------------------------------------------


@pytest.mark.parametrize("when", [
    "-99999999999999999999d", "-999999999d", "-99999999999999999999ms", "-" + "9" * 400 + "s",
    "+99999999w", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
])
def test_an_absurd_restore_time_is_a_usage_error(monkeypatch, tmp_path, when) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("AUGEO_HOME", str(home))
    r = invoke("restore", "--to-time", when)
    assert_usage(r, f'"{when}" is out of range', "hint: give a realistic time")
    assert not home.exists()  # refused before anything was looked at or created
    with pytest.raises(TimeParseError, match="out of range"):
        parse_time(when)


@pytest.mark.parametrize("text", ["99999999999999999999d", "1000000000d", "9" * 400])
def test_an_absurd_duration_is_a_usage_error(text) -> None:
    with pytest.raises(TimeParseError, match="too long a duration"):
        parse_duration(text)
    assert_usage(invoke("dr-drill", "--rto", text), f'--rto: "{text}" is too long a duration', "hint:")
    assert_usage(invoke("dashboard", "--refresh", text), f'"{text}" is too long a duration', "hint:")


def test_sensible_relative_times_still_work() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert parse_time("-1h30m", now=now) == now - timedelta(minutes=90)
    assert parse_duration("999999999d") == timedelta(days=999999999)  # the largest Python holds


# -- 2. the config file ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "says"), [
    (b"defaults = 5\n", ["defaults must be a table, got 5", "hint: write it as a table: [defaults]"]),
    (b'environments = "local"\n', ["environments must be a table of [environments.NAME] tables, got 'local'",
                                   "hint: write one [environments.NAME] table"]),
    (b"[environments]\nstaging = 5\n", ["environments.staging must be a table, got 5",
                                        "hint: write it as [environments.staging]"]),
    (b'[defaults]\nenv = ["local"]\n', ["defaults.env must be a string", 'hint: e.g. env = "local"']),
    (b'[defaults]\n# caf\xe9 (Latin-1)\nenv = "local"\n', ["is not UTF-8 text: byte 0xe9 on line 2",
                                                           "hint: TOML files are UTF-8"]),
])
def test_a_malformed_config_file_names_the_file_and_key(tmp_path, text, says) -> None:
    cfg = tmp_path / "environments.toml"
    cfg.write_bytes(text)
    r = invoke("--config", str(cfg), "sandbox", "status")
    assert_usage(r, str(cfg), *says)
    with pytest.raises(ConfigError):
        config.resolve(config=cfg)
    with pytest.raises(ConfigError):  # every reader of the file, not only resolve
        config.load_file(cfg)


# -- 3. AUGEO_VERBOSE and AUGEO_HOME ------------------------------------------------------------


def test_augeo_verbose_that_is_not_a_number_is_refused_through_the_cli(monkeypatch) -> None:
    monkeypatch.setenv("AUGEO_VERBOSE", "lots")
    assert_usage(invoke("sandbox", "status"), "AUGEO_VERBOSE='lots' is not a number", "hint: use 0, 1 or 2")


@pytest.mark.parametrize(("home", "says"), [
    ("/etc/passwd", "AUGEO_HOME '/etc/passwd' is a file, not a folder"),
    ("/etc/passwd/augeo", "is under the file /etc/passwd, not a folder"),
    ("/tmp/h$(id>>x)", "contains $ ( > )"),
    ("/tmp/h`id`", "contains `"),
    ("/tmp/a;b", "contains ;"),
    ("/tmp/new\nline", r"contains '\n'"),
    ("/tmp/with space", "contains ' '"),
    ("/tmp/quote'd", "contains '"),
])
def test_an_unusable_augeo_home_is_refused(monkeypatch, home, says) -> None:
    monkeypatch.setenv("AUGEO_HOME", home)
    r = invoke("sandbox", "status")
    assert_usage(r, says, "hint:")
    with pytest.raises(ConfigError):
        config.resolve()


def test_a_relative_augeo_home_is_refused_before_anything_is_made(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUGEO_HOME", "rel/home")
    r = invoke("sandbox", "up")
    assert_usage(r, "AUGEO_HOME 'rel/home' is a relative path",
                 f"hint: give an absolute path, e.g. AUGEO_HOME={tmp_path / 'rel' / 'home'}")
    assert list(tmp_path.iterdir()) == []


def test_the_config_files_home_key_is_checked_the_same_way(tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[environments.local]\nhome = "state/augeo"\n')
    assert_usage(invoke("--config", str(cfg), "sandbox", "status"),
                 f"{cfg}: environments.local.home 'state/augeo' is a relative path")
    cfg.write_text(f'[environments.local]\nhome = "{tmp_path}/ok-home"\n')
    assert config.resolve(config=cfg).home == tmp_path / "ok-home"


def test_a_pg_bindir_the_shell_would_expand_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("AUGEO_PG_BINDIR", "/opt/$(id)/bin")
    assert_usage(invoke("sandbox", "status"), "pg_bindir '/opt/$(id)/bin' contains $ ( )")


def test_the_sandbox_itself_refuses_a_home_the_shell_would_expand(tmp_path) -> None:
    """Below the config layer (a Sandbox made in code): refused before a folder or a shell."""
    marker = tmp_path / "executed"
    home = tmp_path / f"h$(touch {marker})"
    sandbox = Sandbox(home)
    with pytest.raises(ConfigError, match="the shell interprets"):
        sandbox.postgres.up({}, NullReporter(), archive_timeout=60, wal_streaming="off")
    assert not home.exists() and not marker.exists()
    with pytest.raises(ConfigError):
        tools.check_shell_safe(tmp_path / 'a"b')
    tools.check_shell_safe(tmp_path / "plain-path_1.2+x@y:z~")


def test_no_program_is_started_through_a_shell() -> None:
    """Every subprocess gets an argument list: no shell=True, os.system or os.popen."""
    import ast

    package = Path(config.__file__).parent
    found = []
    for source in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            shell = any(k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                        for k in node.keywords)
            if shell or func in ("os.system", "os.popen"):
                found.append(f"{source.relative_to(package)}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert found == []


def test_archive_command_quotes_its_paths(tmp_path) -> None:
    """Paths are shell-quoted in archive_command (then doubled for postgresql.conf)."""
    folder = tmp_path / "it's pg"
    archive = tmp_path / "wal archive"
    pg = SandboxPostgres(folder, archive, tmp_path / "stream")
    pg.data.mkdir(parents=True)
    pg._write_conf(5432, 60, "off")
    line = next(ln for ln in (pg.data / "augeo.conf").read_text().splitlines()
                if ln.startswith("archive_command"))
    value = line.split("=", 1)[1].strip()
    assert value[0] == value[-1] == "'"
    command = value[1:-1].replace("''", "'")
    assert shlex.split(command) == [str(pg.archive_script), "%p", "%f", str(archive),
                                    tools.pg_tool("pg_waldump", pg.bindir)]  # the indexer's reader


@pytest.mark.integration
def test_a_home_with_a_command_substitution_runs_nothing(tmp_path) -> None:
    """`sandbox up` with AUGEO_HOME='/tmp/h$(touch MARKER)': exit 2, and the shell ran nothing."""
    marker = tmp_path / "executed"
    home = tmp_path / f"h$(touch {marker})"
    try:
        r = run_cli("sandbox", "up", home=home, timeout=300)
        assert r.returncode == 2, r
        assert "AUGEO_HOME" in r.stderr and "contains $ (" in r.stderr and "hint:" in r.stderr, r
        assert not marker.exists(), "the home's $(...) was executed"
        assert not home.exists()
    finally:
        if home.exists():  # only if it was not refused: stop what it started
            Sandbox(home).down()
            shutil.rmtree(home, ignore_errors=True)


# -- 4. a target name with a trailing newline -------------------------------------------------


def test_a_target_name_with_a_trailing_newline_is_refused(monkeypatch, tmp_path) -> None:
    with pytest.raises(RestoreRefused, match=r"'name\\n' is not valid"):
        check_target_name("name\n")
    assert check_target_name("name") == "name"
    home = tmp_path / "home"
    monkeypatch.setenv("AUGEO_HOME", str(home))
    r = invoke("restore", "--latest", "--target", "name\n")
    assert_usage(r, r"target name 'name\n' is not valid", "hint: use 1-63 lower-case letters")
    assert not home.exists()


# -- 5. domain names: invalid ones, and IDNA -------------------------------------------------------


@pytest.mark.parametrize(("argv", "says"), [
    (["-bad-.com"], "'-bad-.com' is not a domain name: the label '-bad-' starts or ends with a hyphen"),
    (["--", "-bad-.com"], "'-bad-.com' is not a domain name: the label '-bad-' starts or ends with a hyphen"),
    (["a_b.example"], "the label 'a_b' has a character other than letters, digits and hyphens"),
    (["foo..example"], "it has an empty label"),
    (["\U0001f600.example"], "cannot be converted to IDNA A-labels"),
    (["192.0.2.1"], "the last label is a number"),
    (["xn--zz.example"], "an xn-- label is not a valid A-label"),
    (["localhost"], "a domain has at least two labels"),
])
def test_an_invalid_domain_is_a_usage_error(argv, says) -> None:
    r = invoke("dns", "audit", "--no-tls", "-n", "127.0.0.1:9", *argv)
    assert r.exit_code == 2, r.output
    assert says in r.stderr and "mail.example.com" in r.stderr, r.stderr  # the input and the fix
    assert "internal error" not in r.output and "Traceback" not in r.output


def test_idna_names_are_converted_to_a_labels() -> None:
    assert host_domain("bücher.example") == ("xn--bcher-kva.example", "bücher.example")
    assert host_domain("BÜCHER.Example.") == ("xn--bcher-kva.example", "bücher.example")
    assert host_domain("xn--bcher-kva.example") == ("xn--bcher-kva.example", "bücher.example")
    assert host_domain("Mail.Example.com") == ("mail.example.com", "mail.example.com")
    with pytest.raises(UsageError, match="starts or ends with a hyphen"):
        host_domain("-bad-.com")


@pytest.mark.integration
def test_an_idna_domain_is_audited_under_its_a_labels_and_shown_in_both_forms(knot) -> None:  # noqa: F811
    r = invoke("dns", "audit", "bücher.example", "-n", knot.nameserver, "--no-tls", "-o", "json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["domain"] == "xn--bcher-kva.example"
    assert report["domain_unicode"] == "bücher.example"
    assert report["verdict"] == "pass", [f for f in report["findings"] if f["status"] != "pass"]
    r = invoke("dns", "audit", "bücher.example", "-n", knot.nameserver, "--no-tls")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0].startswith("Email DNS audit of bücher.example (xn--bcher-kva.example): PASS")


# -- 6. CNAME loops in DKIM and DMARC ---------------------------------------------------------------


@pytest.mark.integration
def test_a_cname_loop_is_a_finding_naming_the_loop(knot) -> None:  # noqa: F811
    r = invoke("dns", "audit", "cnameloop.example", "-n", knot.nameserver, "--no-tls", "-o", "json",
               "-s", "looped", "-s", "away")
    assert r.exit_code == 4, r.output  # a failed verdict, not a DNS error
    report = json.loads(r.stdout)
    loops = {f["group"]: [] for f in report["findings"] if f["id"] == "dns.cname-loop"}
    for f in report["findings"]:
        if f["id"] == "dns.cname-loop":
            assert f["status"] == "fail", f
            loops[f["group"]].append(f["message"])
    assert sorted(loops) == ["DKIM", "DMARC"], loops
    dkim = " | ".join(loops["DKIM"])
    # within one zone: the server answers the whole loop at once
    assert ("looped._domainkey.cnameloop.example -> looped2._domainkey.cnameloop.example -> "
            "looped._domainkey.cnameloop.example") in dkim
    # through another zone: followed hop by hop until a name comes back
    assert ("away._domainkey.cnameloop.example -> away._domainkey.cnameloop2.example -> "
            "away._domainkey.cnameloop.example") in dkim
    assert ("_dmarc.cnameloop.example -> _dmarc2.cnameloop.example -> _dmarc.cnameloop.example"
            in loops["DMARC"][0])
    for f in report["findings"]:
        assert "servfail" not in f["message"] and "answered The" not in f["message"], f
    assert report["counts"]["error"] == 0
    # the ACS selectors of the same zone are unaffected
    assert {f["status"] for f in report["findings"] if f["id"] == "dkim.acs-cname"} == {"pass"}


# -- 7. a full disk during a restore's WAL replay ----------------------------------------------------


_PG_LOG = """\
2026-11-24 18:05:00.101 UTC [4242] LOG:  starting archive recovery
2026-11-24 18:05:00.230 UTC [4242] LOG:  restored log file "000000010000000000000003" from archive
2026-11-24 18:05:00.371 UTC [4242] LOG:  redo starts at 0/3000028
{failure}
2026-11-24 18:05:01.020 UTC [4240] LOG:  startup process (PID 4242) exited with exit code 1
2026-11-24 18:05:01.021 UTC [4240] LOG:  aborting startup due to startup process failure
"""


@pytest.mark.parametrize("failure", [
    # PostgreSQL writing WAL or data during redo
    '2026-11-24 18:05:00.912 UTC [4242] PANIC:  could not write to file "pg_wal/xlogtemp.4242": '
    "No space left on device",
    '2026-11-24 18:05:00.912 UTC [4242] FATAL:  could not extend file "base/16384/16397": '
    "No space left on device\n2026-11-24 18:05:00.912 UTC [4242] HINT:  Check free disk space.",
    # cp in restore_command: PostgreSQL only sees a segment missing and stops short of the target
    "cp: error writing 'pg_wal/RECOVERYXLOG': No space left on device\n"
    "2026-11-24 18:05:00.912 UTC [4242] FATAL:  recovery ended before configured recovery target was reached",
])
def test_a_full_disk_during_replay_is_named_with_the_folder_and_free_space(tmp_path, failure) -> None:
    data = tmp_path / "targets" / "t1" / "data"
    data.mkdir(parents=True)
    log = tmp_path / "targets" / "t1" / "postgres.log"
    log.write_text(_PG_LOG.format(failure=failure))
    watch = _RecoveryWatch(log, data)
    watch.poll()  # what the restore does while it waits: the log's FATAL/PANIC ends the wait
    assert watch.fatal
    err = recovery_error(watch.fatal, tools.tail(log, 200), data, log, free=3 * 2**20)
    assert isinstance(err, RestoreError) and err.exit_code == EXIT_FAILED
    assert "No space left on device" in err.message
    assert str(data) in err.message and "3 MiB free" in err.message
    assert "free space" in (err.hint or "") and str(log) in (err.hint or "")


def test_other_recovery_failures_keep_their_message(tmp_path) -> None:
    log = tmp_path / "postgres.log"
    err = recovery_error("requested timeline 2 is not a child of this server's history", "", tmp_path, log,
                         free=None)
    assert err.message == "recovery failed: requested timeline 2 is not a child of this server's history"
    assert err.hint == f"the target's log is {log}"
