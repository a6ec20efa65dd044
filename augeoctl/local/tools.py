"""Locating and running the server programs the local sandbox is made of."""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from augeoctl.errors import ToolMissing

MIN_PG_MAJOR = 15

_INSTALL_HINT = (
    "install the PostgreSQL server (Debian: apt-get install postgresql) or set "
    "AUGEO_PG_BINDIR to its bin folder; `nox -s drill` installs it for you"
)


@lru_cache(maxsize=1)
def pg_bindir() -> Path:
    """The newest installed PostgreSQL server's bin folder (15 or later)."""
    override = os.environ.get("AUGEO_PG_BINDIR")
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))
    else:
        found = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")
        found.sort(key=lambda p: _major_of(p), reverse=True)
        candidates.extend(Path(p) for p in found)
        pg_config = shutil.which("pg_config")
        if pg_config:
            try:
                out = subprocess.run(
                    [pg_config, "--bindir"], capture_output=True, text=True, check=True
                ).stdout.strip()
                candidates.append(Path(out))
            except (OSError, subprocess.CalledProcessError):
                pass
        initdb = shutil.which("initdb")
        if initdb:
            candidates.append(Path(initdb).parent)
    for cand in candidates:
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


def pg_tool(name: str) -> str:
    path = pg_bindir() / name
    if not path.exists():
        raise ToolMissing(f"{name} is not installed in {pg_bindir()}", hint=_INSTALL_HINT)
    return str(path)


def redis_server() -> str:
    path = os.environ.get("AUGEO_REDIS_SERVER") or shutil.which("redis-server")
    if not path:
        raise ToolMissing(
            "redis-server is not installed",
            hint="install it (Debian: apt-get install redis-server); `nox -s drill` does",
        )
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def run(
    args: Sequence[str], *, check: bool = True, timeout: float | None = None, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Run a program, capturing its output as text."""
    return subprocess.run(
        list(args), capture_output=True, text=True, check=check, timeout=timeout, **kwargs
    )


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): look at its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return True


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
