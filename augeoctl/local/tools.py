"""Locating and running the server programs the local sandbox is made of.

Also reads the files shipped with them in ``resources/`` (configuration templates, the
seed SQL, the archive script), so an installed wheel works away from the checkout.
Where a program is comes from the sandbox's settings (``pg_bindir``, ``redis_server``);
without them it is looked for where distributions install it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from augeoctl.errors import ConfigError, ToolMissing

# Plumbing that moved to ``procs``, still offered here to existing callers.
from augeoctl.local.procs import alive as pid_alive
from augeoctl.local.procs import free_port, port_in_use

__all__ = [
    "MIN_PG_MAJOR", "dir_size", "free_port", "pg_bindir", "pg_major", "pg_tool", "pid_alive",
    "port_in_use", "redis_server", "resource_text", "run", "tail",
]

MIN_PG_MAJOR = 15
RESOURCES = resources.files("augeoctl.local") / "resources"

_INSTALL_HINT = (
    "install the PostgreSQL server (Debian: apt-get install postgresql) or set "
    "AUGEO_PG_BINDIR to its bin folder; `nox -s drill` installs it for you"
)


def resource_text(name: str) -> str:
    """A text file shipped in ``augeoctl/local/resources``."""
    return (RESOURCES / name).read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def pg_bindir(override: str | None = None) -> Path:
    """The PostgreSQL bin folder: ``override`` (the ``pg_bindir`` setting) if given, else
    the newest installed server's (15 or later): the packages' folders first, then what
    ``pg_config`` and ``initdb`` on the PATH point at (asked only when those have none)."""

    def candidates() -> Iterator[Path]:
        if override:
            yield Path(override)
            return
        found = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")
        found.sort(key=lambda p: _major_of(p), reverse=True)
        yield from (Path(p) for p in found)
        pg_config = shutil.which("pg_config")
        if pg_config:
            try:
                yield Path(subprocess.run(
                    [pg_config, "--bindir"], capture_output=True, text=True, check=True
                ).stdout.strip())
            except (OSError, subprocess.CalledProcessError):
                pass
        initdb = shutil.which("initdb")
        if initdb:
            yield Path(initdb).parent

    for cand in candidates():
        if (cand / "pg_ctl").exists() and (cand / "postgres").exists():
            major = pg_major(cand)
            if major < MIN_PG_MAJOR:
                continue
            return cand
    raise ToolMissing(
        f"no PostgreSQL server {MIN_PG_MAJOR}+ found (pg_ctl and postgres)", hint=_INSTALL_HINT
    )


def _major_of(path: str) -> int:
    m = re.search(r"(\d+)", Path(path).parent.name)
    return int(m.group(1)) if m else 0


@lru_cache(maxsize=4)
def pg_major(bindir: Path) -> int:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True
    ).stdout
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(m.group(1)) if m else 0


def pg_tool(name: str, bindir: str | os.PathLike[str] | None = None) -> str:
    """The path of a PostgreSQL program, from ``bindir`` (the ``pg_bindir`` setting) or found."""
    folder = pg_bindir(str(bindir) if bindir else None)
    path = folder / name
    if not path.exists():
        raise ToolMissing(f"{name} is not installed in {folder}", hint=_INSTALL_HINT)
    return str(path)


def redis_server(program: str | os.PathLike[str] | None = None) -> str:
    """The redis-server program: ``program`` (the ``redis_server`` setting) or found on PATH."""
    path = str(program) if program else shutil.which("redis-server")
    if not path:
        raise ToolMissing(
            "redis-server is not installed",
            hint="install it (Debian: apt-get install redis-server); `nox -s drill` does",
        )
    return path


# pg_ctl starts the server through /bin/sh with its program, data folder and log file in
# double quotes, where these still mean something to the shell.
_SHELL_SPECIAL = re.compile(r'[$`"\\\n]')


def check_shell_safe(*paths: str | os.PathLike[str]) -> None:
    """Refuse a path that a shell would expand or split inside double quotes."""
    for path in paths:
        if _SHELL_SPECIAL.search(str(path)):
            raise ConfigError(
                f"{str(path)!r} contains a character the shell interprets ($ ` \" \\ or a newline); "
                "PostgreSQL is started through /bin/sh with this path",
                hint="set AUGEO_HOME (or pg_bindir) to a path of letters, digits and / . _ - + @ : ~",
            )


def run(
    args: Sequence[str], *, check: bool = True, timeout: float | None = None, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Run a program, capturing its output as text."""
    return subprocess.run(
        list(args), capture_output=True, text=True, check=check, timeout=timeout, **kwargs
    )


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def tail(path: Path, lines: int = 10) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
