"""The runbooks are executable documentation: every command parses, local ones run."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import click
import pytest

from augeoctl.cli import cli
from tests.conftest import REPO, make_home, run_cli

RUNBOOKS = sorted((REPO / "runbooks").glob("*.md"))


def commands(path: Path) -> list[list[str]]:
    out = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(), re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("augeoctl "):
                out.append(shlex.split(line)[1:])
    return out


def _rest(ctx: click.Context) -> list[str]:
    with warnings.catch_warnings():  # click 8.2 renamed where a group keeps the rest
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def resolve(args: list[str]) -> None:
    """Parse a command line against the CLI without running it."""
    ctx = cli.make_context("augeoctl", list(args), resilient_parsing=False)
    cmd: click.Command = cli
    rest = _rest(ctx)
    while isinstance(cmd, click.Group) and rest:
        sub = cmd.get_command(ctx, rest[0])
        assert sub is not None, f"unknown command {rest[0]!r} in {args}"
        ctx = sub.make_context(rest[0], rest[1:], parent=ctx)
        cmd = sub
        rest = _rest(ctx) if isinstance(sub, click.Group) else []


def test_there_are_runbooks() -> None:
    assert len(RUNBOOKS) >= 3
    for path in RUNBOOKS:
        if path.name != "README.md":
            assert commands(path), f"{path.name} has no augeoctl commands"


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.name)
def test_every_runbook_command_parses(path: Path) -> None:
    for args in commands(path):
        resolve(args)


def test_a_wrong_command_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        resolve(["restore", "--to-tim", "now"])


@pytest.mark.integration
@pytest.mark.parametrize(
    "path", [p for p in RUNBOOKS if "<!-- runbook: local -->" in p.read_text()], ids=lambda p: p.name
)
def test_local_runbooks_run_on_a_fresh_sandbox(path: Path) -> None:
    home = make_home()
    try:
        assert run_cli("sandbox", "up", home=home).returncode == 0
        assert run_cli("backup", "create", "--all", home=home).returncode == 0
        for args in commands(path):
            r = run_cli(*args, home=home)
            assert r.returncode == 0, (args, r)
    finally:
        run_cli("sandbox", "down", home=home)
