"""The README's command lines exist: every command path and option it names, and every command."""

from __future__ import annotations

import re

import click
import pytest

from augeoctl.cli import cli
from tests.cli_lines import check_synopsis, resolve, sh_commands, subcommands, synopses
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out = set()
    for name, cmd in subcommands(group).items():
        path = (*prefix, name)
        out.add(path)
        if isinstance(cmd, click.Group):
            out |= _commands(cmd, path)
    return out


@pytest.mark.parametrize("line", synopses(README))
def test_every_synopsis_names_real_commands_and_options(line: str) -> None:
    check_synopsis(line)


@pytest.mark.parametrize("args", sh_commands(README), ids=" ".join)
def test_every_example_parses(args: list[str]) -> None:
    resolve(args)


def test_every_command_is_in_the_readme() -> None:
    named = {path for line in synopses(README) for path in check_synopsis(line)}
    named |= {path[:i] for path in named for i in range(1, len(path))}
    assert _commands(cli) - named == set()


@pytest.mark.parametrize(("line", "why"), [
    ("augeoctl backup lst", "has no command 'lst'"),
    ("augeoctl backup create [--redis | --al]", "has no option --al"),
    ("augeoctl sandbox up | dwn", "takes no argument 'dwn'"),
    ("augeoctl backup verify A B", "takes no argument 'B'"),
    ("augeoctl restore --to-tim T", "has no option --to-tim"),
    ("augeoctl dns audit D [--expected-from terraform|gcp]", "does not accept ['gcp']"),
    ("augeoctl targets", "needs a command"),
    ("augeoctl backup -o json lst", "has no command 'lst'"),
])
def test_a_wrong_synopsis_would_be_caught(line: str, why: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(why)):
        check_synopsis(line)
