"""Progress on stderr without a terminal: timestamped step lines, a heartbeat on long
steps, nothing with -q."""

from __future__ import annotations

import io
import re

from rich.console import Console

from augeoctl.cli.common import Reporter
from tests.conftest import wait_for

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO: ")


def plain(verbose: int = 0, heartbeat: float = 30.0) -> tuple[Reporter, io.StringIO]:
    rep = Reporter(verbose=verbose, live=False, heartbeat=heartbeat)
    buf = io.StringIO()
    rep.console = Console(file=buf, width=200, highlight=False)
    return rep, buf


def test_a_step_says_when_it_starts_and_ends() -> None:
    rep, buf = plain()
    with rep.step("copy base backup"):
        pass
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 and all(LINE.match(ln) for ln in lines), lines
    assert lines[0].endswith("copy base backup: start") and "copy base backup: done in" in lines[1]


def test_a_long_step_beats_with_its_latest_status() -> None:
    rep, buf = plain(heartbeat=0.05)
    with rep.step("replay WAL"):
        rep.status("12 WAL segment(s) replayed")
        wait_for(lambda: "replay WAL: running for" in buf.getvalue(), 30, "a heartbeat line")
    beat = next(ln for ln in buf.getvalue().splitlines() if "running for" in ln)
    assert LINE.match(beat) and beat.endswith("(12 WAL segment(s) replayed)")
    assert "replay WAL: done in" in buf.getvalue().splitlines()[-1]  # the beat stopped with the step


def test_quiet_prints_no_progress_but_still_warnings() -> None:
    rep, buf = plain(verbose=-1, heartbeat=0.01)
    with rep.step("anything"):
        rep.warn("something to know")
    assert buf.getvalue().strip() == "warning: something to know"


def test_q_on_the_command_line_silences_progress_at_any_level(home) -> None:
    import click
    from click.testing import CliRunner

    from augeoctl.cli.common import common_options, reporter, settings

    @click.group()
    @common_options
    def root() -> None:
        pass

    @root.command()
    @common_options
    def work() -> None:
        with reporter().step("a step"):
            pass
        click.echo(settings().verbose)

    for args in (["work"], ["-q", "work"], ["work", "-q"]):
        r = CliRunner().invoke(root, args, catch_exceptions=False, env={"AUGEO_HOME": str(home)})
        quiet = "-q" in args
        assert r.stdout.strip() == ("-1" if quiet else "0"), (args, r.stdout)
        assert ("a step: start" in r.stderr) is not quiet, (args, r.stderr)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outer_step_keeps_its_own_time_across_nested_steps() -> None:
    rep, buf = plain()
    rep.clock = clock = Clock()
    with rep.step("recovery"):
        clock.now += 1.0
        with rep.step("copy base backup"):
            clock.now += 0.5
        with rep.step("replay WAL"):
            clock.now += 2.0
        clock.now += 0.9
    done = [ln.split("INFO: ", 1)[1] for ln in buf.getvalue().splitlines() if "done in" in ln]
    assert done == ["copy base backup: done in 500 ms", "replay WAL: done in 2.0 s", "recovery: done in 4.4 s"]


def test_on_a_terminal_each_step_is_one_task_and_ends_with_its_own_duration() -> None:
    rep = Reporter(live=True)
    buf = io.StringIO()
    rep.console = Console(file=buf, width=120, force_terminal=True, color_system=None, highlight=False)
    rep.clock = clock = Clock()
    with rep.step("recovery"):
        with rep.step("replay WAL"):
            rep.status("12 WAL segment(s) replayed")
            assert [t.description for t in rep._progress.tasks] == [
                "recovery", "  replay WAL: 12 WAL segment(s) replayed"]  # both shown, nested indented
            clock.now += 2.0
        clock.now += 2.4
    assert rep._progress is None  # the display stopped with the outermost step
    out = buf.getvalue()
    assert "  ✓ replay WAL (2.0 s)" in out and "✓ recovery (4.4 s)" in out
    try:
        with rep.step("failing"):
            raise ValueError("x")
    except ValueError:
        pass
    assert "✗ failing" in buf.getvalue()
