"""``augeoctl`` lines in Markdown, checked against the real command tree without running them.

Two kinds of line: concrete commands in ``sh`` code blocks (runbooks, the README's
examples), parsed by click exactly as the shell would pass them; and synopses in code spans
(the README's commands table: ``augeoctl backup create [--redis | --all]``), where only the
command path and the option names can be checked.
"""

from __future__ import annotations

import re
import shlex
import warnings

import click

from augeoctl.cli import cli

_SEPARATORS = {"|", "||", "&&", ";", "&"}
_GROUPING = str.maketrans("", "", "[](){}")


def sh_commands(text: str) -> list[list[str]]:
    """The arguments of every ``augeoctl`` command in the ``sh`` blocks of a Markdown text.

    A command may be one stage of a pipeline or list (``terraform output -json | augeoctl
    config from-terraform --input -``); comments are dropped.
    """
    out = []
    for block in re.findall(r"^```sh(?:[ \t]+\{[^}\n]*\})?[ \t]*\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            if not re.search(r"(^|[|&;])\s*augeoctl\s", line):
                continue
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            stage: list[str] = []
            for word in [*lexer, "|"]:
                if word not in _SEPARATORS:
                    stage.append(word)
                    continue
                if stage[:1] == ["augeoctl"]:
                    out.append(stage[1:])
                stage = []
    return out


def _rest(ctx: click.Context) -> list[str]:
    with warnings.catch_warnings():  # click 8.2 renamed where a group keeps the rest
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def subcommands(group: click.Group) -> dict[str, click.Command]:
    """A group's subcommands, the lazily loaded ones included."""
    ctx = click.Context(group)
    found = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    return {name: cmd for name, cmd in found.items() if cmd is not None}


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


def synopses(text: str) -> list[str]:
    """The code spans of a Markdown text that start with ``augeoctl``, outside code blocks.

    ``\\|`` (a pipe escaped inside a table cell) is read as ``|``.
    """
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [span.replace("\\|", "|") for span in re.findall(r"`(augeoctl [^`]*)`", prose)]


def _option(cmd: click.Command, name: str) -> click.Option | None:
    return next((p for p in cmd.params
                 if isinstance(p, click.Option) and name in (*p.opts, *p.secondary_opts)), None)


def _takes(cmd: click.Command) -> float:
    """How many positional arguments a command takes."""
    counts = [p.nargs for p in cmd.params if isinstance(p, click.Argument)]
    return float("inf") if any(n < 0 for n in counts) else sum(counts)


def check_synopsis(line: str) -> list[tuple[str, ...]]:
    """Check a synopsis against the CLI and return the command paths it names.

    `` | `` separates alternatives: a sibling command (``sandbox up | down``) or other
    options of the same command (``--to-time T | --latest``); brackets and parentheses only
    group. Every command and option named must exist there, a command line must end at a
    command that runs and give it no more arguments than it takes, and the values written
    out for a choice (``--expected-from terraform|azure``) must be among its choices.
    Upper-case words are placeholders.
    """
    segments = line.split(" | ")
    first = segments[0].split()
    assert first[0] == "augeoctl", line
    segments[0] = " ".join(first[1:])
    path: list[tuple[str, click.Command]] = [("augeoctl", cli)]
    named = []
    for i, segment in enumerate(segments):
        words = [w.translate(_GROUPING).removesuffix("...") for w in segment.split()]
        words = [w for w in words if w]
        parent = path[-2][1] if len(path) > 1 else None
        siblings = subcommands(parent) if i and words and isinstance(parent, click.Group) else {}
        if words and words[0] in siblings:
            path[-1] = (words[0], siblings[words.pop(0)])
        arguments = 0
        values = iter(words)
        for word in values:
            where, cmd = " ".join(n for n, _ in path), path[-1][1]
            if word.startswith("-") and word != "-":
                name, _, inline = word.partition("=")
                opt = _option(cmd, name)
                assert opt is not None, f"`{where}` has no option {name} (in `{line}`)"
                value = inline or (None if opt.is_flag or opt.count else next(values, None))
                if value and isinstance(opt.type, click.Choice) and not value.isupper():
                    unknown = set(value.split("|")) - set(opt.type.choices)
                    assert not unknown, f"`{where} {name}` does not accept {sorted(unknown)} (in `{line}`)"
            elif isinstance(cmd, click.Group):
                subs = subcommands(cmd)
                assert word in subs, f"`{where}` has no command {word!r} (in `{line}`)"
                path.append((word, subs[word]))
            else:
                arguments += 1
                assert arguments <= _takes(cmd), f"`{where}` takes no argument {word!r} (in `{line}`)"
        cmd = path[-1][1]
        assert not isinstance(cmd, click.Group) or cmd.invoke_without_command, (
            f"`{' '.join(n for n, _ in path)}` needs a command (in `{line}`)")
        named.append(tuple(n for n, _ in path[1:]))
    return named
