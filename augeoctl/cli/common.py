"""What every command shares: common options, settings, output and error handling."""

from __future__ import annotations

import functools
import json
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from augeoctl import config
from augeoctl.errors import EXIT_INTERRUPTED, AugeoError, Interrupted, UsageError, VerdictFailed
from augeoctl.timeparse import format_duration, format_time, parse_duration

_FLAGS = "augeo.flags"


def _store(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        flags = ctx.find_root().meta.setdefault(_FLAGS, {})
        if key == "verbose":
            if value:
                flags["verbose"] = flags.get("verbose", 0) + value
        elif key == "quiet":
            if value:  # a flag: given at any level, it holds (its default elsewhere is not a "no")
                flags["quiet"] = True
        elif value is not None:
            flags[key] = value
        return value

    return callback


def _complete_env(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    cfg = config.config_path(ctx.find_root().meta.get(_FLAGS, {}).get("config"))
    try:
        data = config.load_file(cfg) if cfg else {}
    except AugeoError:
        data = {}
    return [n for n in config.environment_names(data) if n.startswith(incomplete)]


def _completer(names: Callable[[click.Context], list[str]]) -> Callable[..., list[str]]:
    """A click ``shell_complete`` callback offering ``names(ctx)`` that start with what is
    typed; it answers nothing rather than failing (no config, no sandbox yet ...)."""
    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
        try:
            found = names(ctx)
        except Exception:  # noqa: BLE001 - completion never fails loudly
            return []
        return [n for n in found if n.startswith(incomplete)]
    return complete


def _local_platform(ctx: click.Context) -> Any:
    """The sandbox's platform, or None: an Azure environment is not asked (completion must
    answer at once and never reach the network)."""
    from augeoctl.platform import platform_for

    resolved = settings(ctx)
    return platform_for(resolved) if resolved.env.is_local else None


def _target_names(ctx: click.Context) -> list[str]:
    platform = _local_platform(ctx)
    return [t.name for t in platform.postgres().list_targets()] if platform else []


def _backup_ids(ctx: click.Context) -> list[str]:
    """The sandbox's PostgreSQL and Redis backups, newest first."""
    platform = _local_platform(ctx)
    found = [*platform.postgres().list_backups(), *platform.redis().list_backups()] if platform else []
    return sorted((b.id for b in found), reverse=True)


def _runbook_names(_ctx: click.Context) -> list[str]:
    from augeoctl.runbook import model

    return [r.name for r in model.all_runbooks()]


def _profile_names(ctx: click.Context) -> list[str]:
    """SLO profiles of the --slo-file given on the line, else of the packaged file."""
    from pathlib import Path

    from augeoctl.loadtest.gates import SLO_FILE, load_profiles

    given = ctx.params.get("slo_file")
    return list(load_profiles(Path(given) if given else SLO_FILE))


complete_targets = _completer(_target_names)
complete_backups = _completer(_backup_ids)
complete_runbooks = _completer(_runbook_names)
complete_profiles = _completer(_profile_names)


def common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--env/--config/--output/-v for a group or a command.

    Every group and command of the CLI carries them, so they are accepted at any level:
    ``augeoctl -o json backup list``, ``augeoctl backup -o json list`` and ``augeoctl
    backup list -o json`` are the same. The values land in the root context; given at more
    than one level, the last one on the line wins (``-v`` adds up).
    """
    options = [
        click.option("--env", "-e", metavar="NAME", expose_value=False, callback=_store("env"),
                     shell_complete=_complete_env,
                     help="Environment: local (default) or one from the config [AUGEO_ENV]."),
        click.option("--config", metavar="PATH", expose_value=False, callback=_store("config"),
                     type=click.Path(dir_okay=False),
                     help="Environments config file (TOML) [AUGEO_CONFIG]."),
        click.option("--output", "-o", type=click.Choice(["text", "json", "tsv"]), expose_value=False,
                     callback=_store("output"),
                     help="Result format on stdout: text, json, or tsv (a header row, then one row per "
                          "item, for scripts) [AUGEO_OUTPUT]."),
        click.option("--verbose", "-v", count=True, expose_value=False, callback=_store("verbose"),
                     help="More detail on stderr (repeat for more)."),
        click.option("--quiet", "-q", is_flag=True, expose_value=False, callback=_store("quiet"),
                     help="No progress lines on stderr (warnings and errors still)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def settings(ctx: click.Context | None = None) -> config.Settings:
    """The settings of this invocation, resolved once."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if "augeo.settings" not in root.meta:
        flags = root.meta.get(_FLAGS, {})
        root.meta["augeo.settings"] = config.resolve(
            env=flags.get("env"), config=flags.get("config"), output=flags.get("output"),
            verbose=-1 if flags.get("quiet") else flags.get("verbose"),
        )
        from augeoctl import logs

        logs.configure(root.meta["augeo.settings"].verbose)
    return root.meta["augeo.settings"]


def duration_seconds(text: str, what: str) -> float:
    """A duration option (``30s``, ``5m``, ``4h``) in seconds; a usage error naming the option."""
    from augeoctl.errors import UsageError
    from augeoctl.timeparse import parse_duration

    try:
        return parse_duration(text).total_seconds()
    except UsageError as exc:
        raise UsageError(f"{what}: {exc.message}", hint=exc.hint) from None


def flag(name: str, ctx: click.Context | None = None) -> Any:
    """A common option as given on the command line (None when absent), without resolving.

    For commands that must work before the environment they name is configured.
    """
    ctx = ctx or click.get_current_context()
    return ctx.find_root().meta.get(_FLAGS, {}).get(name)


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Path):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit(result: dict[str, Any], text: Callable[[dict[str, Any]], str] | str | None = None) -> None:
    """Write a command's result on stdout: JSON, TSV, or text made by ``text``.

    TSV is for scripts: a header row, then one row per item of the result's only list of
    objects, nested fields flattened to ``a.b`` columns; a result without such a list is
    written as ``key<TAB>value`` rows."""
    if settings().output == "json":
        click.echo(json.dumps(result, default=json_default, indent=2, sort_keys=False))
        return
    if settings().output == "tsv":
        click.echo(tsv(result), nl=False)
        return
    if text is None:
        click.echo(json.dumps(result, default=json_default, indent=2))
    elif isinstance(text, str):
        click.echo(text)
    else:
        click.echo(text(result))


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float | list | dict):
        try:
            value = json_default(value)
        except TypeError:
            value = str(value)
    if isinstance(value, list):
        return ",".join(_cell(v) if not isinstance(v, dict) else json.dumps(v, default=json_default) for v in value)
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def tsv(result: dict[str, Any]) -> str:
    """A result as tab-separated values (see ``emit``)."""
    lists = [k for k, v in result.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
    empty = [k for k, v in result.items() if isinstance(v, list) and not v]
    rows = lists[0] if len(lists) == 1 else (empty[0] if not lists and len(empty) == 1 else None)
    if rows is None:
        flat = _flat(result)
        return "".join(f"{k}\t{_cell(v)}\n" for k, v in flat.items())
    items = [_flat(x) for x in result.get(rows) or []]
    columns: list[str] = []
    for item in items:
        columns += [c for c in item if c not in columns]
    lines = ["\t".join(columns)] if columns else []
    lines += ["\t".join(_cell(item.get(c)) for c in columns) for item in items]
    return "".join(line + "\n" for line in lines)


HEARTBEAT_SECONDS = 30.0  # without a terminal, a long step says it is alive this often


@dataclass
class _Step:
    name: str
    started: float
    depth: int
    last: str = ""  # the newest status (for the heartbeat)
    task: Any = None  # its rich.progress task on a terminal


class Reporter:
    """Progress on stderr: on a terminal, a rich.progress display with one task per step
    (nested steps indented under their parent, each with its own elapsed time, and a ✓
    line with its duration when it ends); without one, a timestamped line when each step
    starts and ends and a heartbeat every 30 s on a long step (as pgBackRest's INFO lines).
    ``verbose`` -1 (``-q``) prints no progress lines. Each step keeps its own start time,
    so an outer step's duration includes the steps nested in it."""

    def __init__(self, verbose: int = 0, live: bool | None = None, *,
                 pause_at: str | None = None, pause_file: Path | None = None,
                 heartbeat: float = HEARTBEAT_SECONDS) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.live = self.console.is_terminal if live is None else live
        self.verbose = verbose
        self.heartbeat = heartbeat
        self.clock: Callable[[], float] = time.monotonic
        self._steps: list[_Step] = []
        self._progress: Any = None
        self.pause_at = pause_at
        self.pause_file = pause_file

    def _out(self) -> Any:
        """Where lines go: above the live display while it runs, else the console."""
        return self._progress.console if self._progress is not None else self.console

    def info(self, message: str) -> None:
        self._out().print(message, markup=False, highlight=False)

    def warn(self, message: str) -> None:
        self._out().print(f"warning: {message}", style="yellow", markup=False, highlight=False)

    def status(self, message: str) -> None:
        if not self._steps:
            if self.verbose > 1:
                self.info(f"  {message}")
            return
        st = self._steps[-1]
        st.last = message
        if self._progress is not None and st.task is not None:
            self._progress.update(st.task, description=f"{'  ' * st.depth}{st.name}: {message}")
        elif self.verbose > 1:
            self.info(f"  {message}")

    def _line(self, text: str) -> None:
        stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
        self.console.print(f"{stamp} INFO: {text}", markup=False, highlight=False, soft_wrap=True)

    def _elapsed(self, st: _Step) -> str:
        return format_duration(self.clock() - st.started)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self._pause(name)
        st = _Step(name, self.clock(), len(self._steps))
        self._steps.append(st)
        try:
            if self.live:
                with self._live_step(st):
                    yield
            elif self.verbose < 0:
                yield
            else:
                with self._logged_step(st):
                    yield
        finally:
            self._steps.pop()

    @contextmanager
    def _live_step(self, st: _Step) -> Iterator[None]:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        if self._progress is None:
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                      console=self.console, transient=True)
            self._progress.start()
        progress = self._progress
        st.task = progress.add_task(f"{'  ' * st.depth}{st.name}")
        ok = False
        try:
            yield
            ok = True
        finally:
            progress.remove_task(st.task)
            mark = "[green]✓[/]" if ok else "[red]✗[/]"
            progress.console.print(f"{'  ' * st.depth}{mark} {escape(st.name)} [dim]({self._elapsed(st)})[/]",
                                   highlight=False)
            if st.depth == 0:
                progress.stop()
                self._progress = None

    @contextmanager
    def _logged_step(self, st: _Step) -> Iterator[None]:
        self._line(f"{st.name}: start")
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat):
                self._line(f"{st.name}: running for {self._elapsed(st)}" + (f" ({st.last})" if st.last else ""))

        beater = threading.Thread(target=beat, name="progress-heartbeat", daemon=True)
        beater.start()
        try:
            yield
        finally:
            stop.set()
            beater.join()
        self._line(f"{st.name}: done in {self._elapsed(st)}")

    def _pause(self, name: str) -> None:
        """The ``pause_at`` test hook (AUGEO_PAUSE_AT): wait at the start of a step, with the
        command's lock held, until the marker file is removed."""
        if not self.pause_at or self.pause_file is None or not name.startswith(self.pause_at):
            return
        self.pause_file.parent.mkdir(parents=True, exist_ok=True)
        self.pause_file.write_text(json.dumps({"pid": os.getpid(), "step": name}))
        self.info(f"paused before {name} (AUGEO_PAUSE_AT): remove {self.pause_file} to go on")
        try:
            while self.pause_file.exists():
                time.sleep(0.05)
        finally:
            self.pause_file.unlink(missing_ok=True)


PAUSE_FILE = "paused-at.json"  # written by the pause_at test hook, in AUGEO_HOME


def reporter() -> Reporter:
    s = settings()
    return Reporter(verbose=s.verbose, pause_at=s.env.get("pause_at"), pause_file=s.home / PAUSE_FILE)


# -- one writer at a time ------------------------------------------------------------------

WAIT_HELP = ("Wait up to DURATION (e.g. 30s, 10m) while another command holds the "
             "AUGEO_HOME lock; default 0: exit 3 at once, naming the holder.")


def wait_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--wait DURATION`` for a command that takes the command lock."""
    return click.option("--wait", "wait", metavar="DURATION", default="0", show_default=True,
                        help=WAIT_HELP)(f)


def _command_line(ctx: click.Context) -> str:
    """The command line of this run, for the lock's record."""
    root = ctx.find_root()
    if root.info_name == "augeoctl":  # run as the program: argv is this command's
        return shlex.join(["augeoctl", *sys.argv[1:]])
    return " ".join(["augeoctl", *ctx.command_path.split()[1:]])


@contextmanager
def command_lock(wait: str | None = "0") -> Iterator[None]:
    """Hold the command lock of AUGEO_HOME (``augeoctl.local.lock``) while the block runs.

    Another command holding it: exit 3 naming it, or wait up to ``--wait`` for it. A lock
    left by a killed command is taken over, with a warning.
    """
    from augeoctl.local.lock import CommandLock

    try:
        seconds = parse_duration(wait or "0").total_seconds()
    except UsageError as exc:
        raise UsageError(f"--wait: {exc.message}", hint=exc.hint) from None
    ctx = click.get_current_context()
    with CommandLock(settings(ctx).home).hold(_command_line(ctx), wait=seconds, reporter=reporter()):
        yield


def exclusive(f: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command under the command lock, with its ``--wait`` option.

    Put it below ``common_options``; commands that take the lock only sometimes (``restore``
    without ``--dry-run``) use ``wait_option`` and ``command_lock`` instead.
    """
    @functools.wraps(f)
    def wrapper(*args: Any, wait: str, **kwargs: Any) -> Any:
        with command_lock(wait):
            return f(*args, **kwargs)

    return wait_option(wrapper)


def report_error(exc: AugeoError, as_json: bool) -> None:
    # A failed verdict has already been written as the command's result.
    if as_json and not isinstance(exc, VerdictFailed):
        payload = {
            "error": {
                "type": type(exc).__name__,
                "message": exc.message,
                "hint": exc.hint,
                "exit_code": exc.exit_code,
            }
        }
        result = getattr(exc, "result", None)  # what a failed operation did (a migration's record)
        if result is not None:
            payload["error"]["result"] = result
        click.echo(json.dumps(payload, indent=2))
    click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)


class AugeoGroup(click.Group):
    """Translates the exception tree into messages and exit codes, once.

    ``lazy_subcommands`` ({name: "module:attribute"}) names commands whose module is
    imported only when the command is looked up, as click's documentation shows for a
    command line with many heavy subcommands.
    """

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands and cmd_name not in self.commands:
            import importlib

            module, _, attribute = self.lazy_subcommands[cmd_name].partition(":")
            cmd = getattr(importlib.import_module(module), attribute)
            self.add_command(cmd, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AugeoError as exc:
            as_json = _wants_json(ctx)
            report_error(exc, as_json)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            report_error(Interrupted("interrupted"), _wants_json(ctx))
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            from augeoctl.drivers import translate

            mapped = translate(exc)  # a PostgreSQL or Redis error that escaped the library
            if mapped is not None:
                report_error(mapped, _wants_json(ctx))
                ctx.exit(mapped.exit_code)
            # anything else is a bug: say so plainly; the traceback with -v
            verbose = ctx.find_root().meta.get(_FLAGS, {}).get("verbose", 0)
            if verbose:
                import traceback

                traceback.print_exc()
            report_error(
                AugeoError(f"internal error: {type(exc).__name__}: {exc}",
                           hint="this is a bug in augeoctl; run again with -v for the traceback"),
                _wants_json(ctx),
            )
            ctx.exit(1)


def _wants_json(ctx: click.Context) -> bool:
    root = ctx.find_root()
    s = root.meta.get("augeo.settings")
    if s is not None:
        return s.output == "json"
    return config.wants_json(root.meta.get(_FLAGS, {}).get("output"))


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    return "\n".join(lines)


def is_stdout_json() -> bool:
    return settings().output == "json"


def confirm_by_name(name: str, yes: bool, what: str) -> None:
    """Destructive steps ask for the object's name to be typed, unless --yes."""
    from augeoctl.errors import UsageError

    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"{what} needs confirmation and there is no terminal to ask on",
            hint="pass --yes to confirm",
        )
    typed = click.prompt(f"Type {name!r} to confirm {what}", err=True, default="", show_default=False)
    if typed != name:
        raise UsageError("confirmation did not match; nothing was changed")
