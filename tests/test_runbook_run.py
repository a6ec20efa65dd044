"""``runbook run``: steps in order, the first failure stops the run and its record says so,
``--from-step`` resumes with the values captured before, destructive steps are confirmed,
secrets never reach a record. Real bash, real ``augeoctl`` subprocesses; no servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from augeoctl.cli.common import Reporter
from augeoctl.errors import UsageError
from augeoctl.runbook import model
from augeoctl.runbook.run import RunbookFailed, Runner, read_records
from tests.conftest import REPO, run_cli, wait_for, wait_gone

BOOK = """\
# Practice

```sh {env=local}
# capture: HOME_DIR=.home
# capture: RUNNING=.running
augeoctl sandbox status -o json
```

## Check the capture

```sh {env=local}
test "$HOME_DIR" = "$AUGEO_HOME"
test "$RUNNING" = false
echo "secret url postgresql://app:hunter2-secret@db.example/app"
```

## The gate

```sh {env=local}
# if this fails: create the marker file, then resume
echo "checking the marker"
test -e "$HOME_DIR/marker"
```

## Azure only

```sh {env=azure}
false
```

## Finish

```sh {env=local destructive}
touch "$HOME_DIR/done"
```
"""


def _book(tmp_path: Path, text: str = BOOK) -> model.Runbook:
    path = tmp_path / "practice.md"
    path.write_text(text)
    return model.parse(text, "practice", path)


def _runner(rb: model.Runbook, home: Path, **kw) -> Runner:
    kw.setdefault("yes", True)
    return Runner(rb, kind="local", environment="local", home=home, reporter=Reporter(live=False),
                  environ={"AUGEO_HOME": str(home), "AUGEO_ENV": "local"}, command="augeoctl runbook run practice",
                  **kw)


def _record(home: Path) -> dict:
    (path,) = sorted((home / "runbook-runs").glob("*.json"))[-1:]
    return json.loads(path.read_text())


def test_a_failing_step_stops_the_run_and_from_step_resumes(tmp_path: Path, home: Path) -> None:
    rb = _book(tmp_path)
    with pytest.raises(RunbookFailed) as failed:
        _runner(rb, home).run()
    assert "step 3 (The gate) failed: exit code 1" in failed.value.message
    assert failed.value.hint.startswith("create the marker file, then resume")
    assert "--from-step 3" in failed.value.hint
    record = _record(home)
    assert record["result"] == "failed"
    assert [(s["number"], s["status"]) for s in record["steps"]] == [(1, "ok"), (2, "ok"), (3, "failed")]
    gate = record["steps"][2]
    assert gate["exit_code"] == 1 and "checking the marker" in gate["output"]
    assert gate["if_fails"] == "create the marker file, then resume"
    assert record["captured"] == {"HOME_DIR": str(home), "RUNNING": "false"}
    assert all(s["seconds"] is not None and s["started_at"] for s in record["steps"])
    assert not (home / "done").exists()  # nothing after the failure ran
    md = (home / "runbook-runs" / f"{record['id']}.md").read_text()
    assert "**FAILED**" in md and "If this fails: create the marker file" in md

    (home / "marker").touch()
    resumed = _runner(rb, home, from_step=3).run()
    assert resumed.result == "passed" and resumed.resumed_from == record["id"]
    assert [(s.number, s.status) for s in resumed.steps] == [(1, "skipped"), (2, "skipped"), (3, "ok"), (5, "ok")]
    assert (home / "done").exists()  # step 5 used $HOME_DIR, captured by the first run
    assert [r.result for r in read_records(home, "practice")] == ["failed", "passed"]


def test_secrets_in_output_are_masked_in_the_record(tmp_path: Path, home: Path) -> None:
    (home / "marker").touch()
    _runner(_book(tmp_path), home).run()
    for path in (home / "runbook-runs").iterdir():
        text = path.read_text()
        assert "hunter2" not in text
    assert "postgresql://app:***@db.example/app" in _record(home)["steps"][1]["output"]


def test_a_destructive_step_without_yes_and_no_terminal_runs_nothing(tmp_path: Path, home: Path) -> None:
    with pytest.raises(UsageError) as refused:
        _runner(_book(tmp_path), home, yes=False, confirm=None).run()
    assert "step 5 (Finish)" in refused.value.message and "nothing was run" in refused.value.message
    assert not (home / "runbook-runs").exists()


def test_a_declined_step_stops_the_run(tmp_path: Path, home: Path) -> None:
    (home / "marker").touch()
    asked = []
    with pytest.raises(RunbookFailed, match="not confirmed"):
        _runner(_book(tmp_path), home, yes=False, confirm=lambda step: asked.append(step.number) or False).run()
    assert asked == [5] and not (home / "done").exists()
    assert _record(home)["result"] == "declined"


def test_a_capture_that_finds_nothing_fails_its_step(tmp_path: Path, home: Path) -> None:
    rb = _book(tmp_path, BOOK.replace("HOME_DIR=.home", "HOME_DIR=.nowhere[0]"))
    with pytest.raises(RunbookFailed, match="step 1 .* capture: .nowhere\\[0\\] is not in the step's JSON output"):
        _runner(rb, home).run()


def test_resuming_without_the_captured_values_is_refused(tmp_path: Path, home: Path) -> None:
    with pytest.raises(UsageError, match=r"step 1 captures \$HOME_DIR") as refused:
        _runner(_book(tmp_path), home, from_step=3).run()
    assert refused.value.hint == "resume from step 1 or earlier (--from-step 1)"


@pytest.mark.parametrize("tag, error", [
    ("{env=moon}", "unknown environment"),
    ("{env=local danger}", "unknown step attribute 'danger'"),
    ("{destructive}", "a step names its environments"),
])
def test_a_malformed_step_tag_is_named(tag: str, error: str) -> None:
    with pytest.raises(UsageError, match=error) as bad:
        model.parse(f"# X\n\ntext\n\n```sh {tag}\ntrue\n```\n", "x", Path("x.md"))
    assert "x.md line 5" in bad.value.message


# -- through the command line ----------------------------------------------------------


def test_cli_destructive_without_yes_and_without_a_terminal_exits_2(home: Path) -> None:
    r = run_cli("runbook", "run", "dr-drill", "--env", "local", home=home, input="")
    assert r.returncode == 2, r
    assert "is destructive and needs confirmation" in r.stderr and "--yes" in r.stderr
    assert not (home / "runbook-runs").exists() and not (home / "sandbox").exists()


def test_cli_bad_names_and_steps_exit_2(home: Path) -> None:
    r = run_cli("runbook", "run", "no-such-book", home=home)
    assert r.returncode == 2 and "no runbook named 'no-such-book'" in r.stderr and "dr-drill" in r.stderr
    r = run_cli("runbook", "run", "dr-drill", "--from-step", "99", "--yes", home=home)
    assert r.returncode == 2 and "--from-step 99" in r.stderr
    r = run_cli("runbook", "run", str(home / "missing.md"), home=home)
    assert r.returncode == 2 and "no runbook file" in r.stderr
    r = run_cli("runbook", "run", "after-deployment", home=home)  # azure steps only
    assert r.returncode == 2 and "no steps for local" in r.stderr


def test_cli_list_and_show(home: Path) -> None:
    listed = run_cli("runbook", "list", "-o", "json", home=home).json()
    names = {i["name"]: i for i in listed["runbooks"]}
    assert set(names) == {p.stem for p in (REPO / "runbooks").glob("*.md")} - {"README"}
    assert names["dr-drill"]["environments"] == ["local"] and names["dr-drill"]["last_run"] is None
    shown = run_cli("runbook", "show", "point-in-time-restore", home=home)
    assert shown.returncode == 0 and "Find the moment of the damage" in shown.stdout
    assert "```" not in shown.stdout  # rendered, not the raw Markdown


HANGING = """\
# Hanging

## Before

```sh {env=local}
echo "first step"
```

## The step that waits

```sh {env=local}
echo $$ > "$AUGEO_HOME/step.pid"
while [ ! -e "$AUGEO_HOME/release" ]; do sleep 0.05; done
```

## After

```sh {env=local}
touch "$AUGEO_HOME/after"
```
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_step_stops_the_step_and_records_the_run_as_interrupted(
        tmp_path: Path, home: Path, sig: signal.Signals) -> None:
    book = tmp_path / "hanging.md"
    book.write_text(HANGING)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
    env["AUGEO_HOME"] = str(home)
    exe = shutil.which("augeoctl")
    cmd = [exe] if exe else [sys.executable, "-m", "augeoctl"]
    proc = subprocess.Popen([*cmd, "runbook", "run", str(book), "--yes", "-o", "json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid_file = home / "step.pid"
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 120, "the step running")
        step_pid = int(pid_file.read_text())
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted at step 2" in err
    wait_gone(step_pid, 60)  # the step's shell did not outlive the run
    assert not (home / "after").exists()  # nothing after the interrupted step ran
    record = _record(home)
    assert record["result"] == "interrupted" and record["runbook"] == "hanging"
    assert [(s["number"], s["status"]) for s in record["steps"]] == [(1, "ok"), (2, "interrupted")]
    assert record["finished_at"]
