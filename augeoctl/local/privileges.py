"""Running the sandbox's servers as an unprivileged user when augeoctl runs as root.

PostgreSQL refuses to run as root; when augeoctl runs as root the servers run as the
service user (``postgres`` where it exists, else ``nobody``), and the folders they write
are owned by it. Not root, everything runs as ourselves and nothing changes owner.

Every function takes ``user``: the configured service user's name (the sandbox's
``service_user`` setting); None means the default, ``postgres``.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

from augeoctl.errors import ConfigError, ToolMissing

DEFAULT_SERVICE_USER = "postgres"


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int


def service_user(user: str | None = None) -> ServiceUser | None:
    """The user servers run as when augeoctl runs as root; None when not root."""
    if os.geteuid() != 0:
        return None
    name = user or DEFAULT_SERVICE_USER
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        try:
            pw = pwd.getpwnam("nobody")
        except KeyError:
            raise ToolMissing(
                f'running as root needs an unprivileged user for PostgreSQL; "{name}" does not exist',
                hint="install the postgresql package (it creates the postgres user) or set AUGEO_SERVICE_USER",
            ) from None
    return ServiceUser(pw.pw_name, pw.pw_uid, pw.pw_gid)


def as_service(args: list[str], user: str | None = None) -> list[str]:
    """The command line that runs ``args`` as the service user."""
    su = service_user(user)
    if su is None:
        return args
    return ["runuser", "-u", su.name, "--", *args]


def make_dir(path: Path, mode: int = 0o700, user: str | None = None) -> Path:
    """Create a folder owned by the service user (or by us when not root)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    su = service_user(user)
    if su is not None:
        os.chown(path, su.uid, su.gid)
    return path


def chown_tree(path: Path, user: str | None = None) -> None:
    """Give a folder (recursively) or a file to the service user."""
    su = service_user(user)
    if su is None:
        return
    if not path.is_dir():
        os.lchown(path, su.uid, su.gid)
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, su.uid, su.gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), su.uid, su.gid)


def check_home_reachable(home: Path, user: str | None = None) -> None:
    """When root, the service user must be able to reach the home folder."""
    su = service_user(user)
    if su is None:
        return
    probe = home
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    ok = subprocess.run(
        ["runuser", "-u", su.name, "--", "test", "-x", str(probe)], capture_output=True
    ).returncode == 0
    if not ok:
        raise ConfigError(
            f"the sandbox home {home} is not reachable by the service user {su.name} "
            "that runs PostgreSQL (augeoctl runs as root, and PostgreSQL refuses to)",
            hint="set AUGEO_HOME to a folder outside /root, e.g. /var/lib/augeoctl",
        )
