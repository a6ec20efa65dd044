"""Environments configuration, resolved once and validated by key.

Precedence: command-line flag > ``AUGEO_*`` environment variable > config file >
built-in default. The zero-config default is the ``local`` sandbox, which needs no
file at all. Azure environments (``dev``, ``staging``, ``prod`` or any other name)
are tables under ``[environments.NAME]`` in a TOML file::

    [environments.staging]
    kind = "azure"
    subscription_id = "00000000-0000-0000-0000-000000000000"
    resource_group = "rg-augeo-staging"
    postgres_server = "psql-augeo-staging"
    ...
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import ModuleType
from typing import Any

from augeoctl.config_limits import (
    ARCHIVE_TIMEOUT,
    BASE_URL,
    CONNECT_WAIT_MAX,
    REGION,
    SERVICE_WORKERS,
    WAL_STREAMING,
    WEBAPP_NAME,
)
from augeoctl.errors import ConfigError, UsageError

LOCAL = "local"


def _models() -> ModuleType:
    """The config file's pydantic models, imported only once a file or an AUGEO_* variable
    needs checking: the zero-config sandbox starts without pydantic."""
    from augeoctl import config_models

    return config_models


# Settings an AUGEO_* variable may give (it wins over the config file): variable ->
# (environment kind, key). AUGEO_REDIS_EXPORT_SAS is a secret, so it has no file key.
ENV_VARIABLES: dict[str, tuple[str, str]] = {
    "AUGEO_ARCHIVE_TIMEOUT": (LOCAL, "archive_timeout"),
    "AUGEO_WAL_STREAMING": (LOCAL, "wal_streaming"),
    "AUGEO_SERVICE_USER": (LOCAL, "service_user"),
    "AUGEO_PG_BINDIR": (LOCAL, "pg_bindir"),
    "AUGEO_REDIS_SERVER": (LOCAL, "redis_server"),
    "AUGEO_SERVICE_WORKERS": (LOCAL, "service_workers"),
    "AUGEO_REDIS_EXPORT_SAS": ("azure", "redis_export_sas"),
    "AUGEO_DRILL_STOP_AT": (LOCAL, "drill_stop_at"),
    "AUGEO_PAUSE_AT": (LOCAL, "pause_at"),
}
# A test and chaos hook, so it has no file key either: AUGEO_DRILL_STOP_AT=after:disaster
# stops a drill at that phase boundary until AUGEO_HOME/drills/stopped-at.json is removed.
# AUGEO_PAUSE_AT=STEP pauses a command (holding its lock) when it begins the progress
# step whose name starts with STEP, until AUGEO_HOME/paused-at.json is removed.
DRILL_PHASES = ("preflight", "workload", "disaster", "recovery", "verification", "service_check", "cleanup")


@dataclass(frozen=True)
class Environment:
    """One resolved environment."""

    name: str
    kind: str  # "local" or "azure"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.kind == LOCAL

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


@dataclass(frozen=True)
class Settings:
    """Everything resolved from flags, environment variables, file and defaults."""

    env: Environment
    output: str = "text"
    verbose: int = 0
    config_path: Path | None = None
    home: Path = field(default_factory=lambda: default_home())

    def replace(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def default_home() -> Path:
    """``AUGEO_HOME``, else /var/lib/augeoctl for root, else the per-user state folder."""
    if os.environ.get("AUGEO_HOME"):
        return checked_home(os.environ["AUGEO_HOME"], "AUGEO_HOME")
    if os.geteuid() == 0:
        # PostgreSQL runs as an unprivileged user when we are root, and it cannot
        # reach a folder under /root.
        return Path("/var/lib/augeoctl")
    # Not checked like a setting: commands that never start a server must keep working for
    # a user whose home has a space; the servers' own start refuses a path the shell reads.
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "augeoctl"


# What a path the sandbox's servers are given may contain. pg_ctl starts PostgreSQL through
# /bin/sh with the data folder and log file (and the programs' folder) in double quotes,
# archive_command and restore_command are shell lines, PostgreSQL expands % in them, a
# comma splits unix_socket_directories and a space splits a redis.conf line.
_SAFE_PATH = re.compile(r"[\w/.+@:~-]+")
_SAFE_PATH_TEXT = "letters, digits and / . _ - + @ : ~"


def unsafe_characters(value: str) -> str:
    """The characters of ``value`` outside the safe set, for a message (empty when none)."""
    bad = dict.fromkeys(c for c in value if not _SAFE_PATH.fullmatch(c))
    return " ".join(repr(c) if c.isspace() or not c.isprintable() else c for c in bad)


def checked_home(value: str, source: str) -> Path:
    """The sandbox home given by ``source``, refused unless it is an absolute path of safe
    characters that is (or can become) a folder; checked before anything is created."""
    path = Path(os.path.expanduser(value))  # "~nobody-known" stays relative, and is refused
    bad = unsafe_characters(str(path))
    if bad:
        raise ConfigError(
            f"{source} {value!r} contains {bad}: the sandbox's servers run shell commands "
            "and read configuration files holding this path",
            hint=f"choose a folder whose path has only {_SAFE_PATH_TEXT}, e.g. /var/lib/augeoctl",
        )
    if not path.is_absolute():
        raise ConfigError(
            f"{source} {value!r} is a relative path",
            hint=f"give an absolute path, e.g. {source}={Path.cwd() / path}"
            if source.isupper() else "give an absolute path, e.g. /var/lib/augeoctl",
        )
    probe = path
    try:
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        is_dir = probe.is_dir()
    except OSError:
        is_dir = True  # unreadable: reported when the folder is used
    if not is_dir:
        where = "is a file" if probe == path else f"is under the file {probe}"
        raise ConfigError(
            f"{source} {value!r} {where}, not a folder",
            hint="give a folder (created if missing), e.g. /var/lib/augeoctl",
        )
    return path


def default_config_path() -> Path | None:
    """The config file used when neither ``--config`` nor ``AUGEO_CONFIG`` is given."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    candidate = Path(base) / "augeoctl" / "environments.toml"
    return candidate if candidate.is_file() else None


def config_file_location(flag: str | Path | None = None) -> Path:
    """Where the config file is, or would be written: ``--config`` > ``AUGEO_CONFIG`` > default.

    Unlike ``resolve``, the default location is returned even when no file exists there yet.
    """
    if flag is not None:
        return Path(flag).expanduser()
    if os.environ.get("AUGEO_CONFIG"):
        return Path(os.environ["AUGEO_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "augeoctl" / "environments.toml"


def config_path(flag: str | Path | None = None) -> Path | None:
    """The config file to read: ``--config`` > ``AUGEO_CONFIG`` > the default, if it exists."""
    if flag is not None:
        return Path(flag).expanduser()
    if os.environ.get("AUGEO_CONFIG"):
        return Path(os.environ["AUGEO_CONFIG"]).expanduser()
    return default_config_path()


def wants_json(flag: str | None = None) -> bool:
    """``--output json`` or ``AUGEO_OUTPUT=json``, for messages written before (or without)
    a full resolve, such as an error in the config itself."""
    return (flag or os.environ.get("AUGEO_OUTPUT")) == "json"


def load_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist",
            hint="pass --config PATH (or AUGEO_CONFIG) naming an existing TOML file",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text: byte 0x{raw[exc.start]:02x} on line {line}",
            hint="TOML files are UTF-8: save the file as UTF-8 "
                 "(e.g. iconv -f latin1 -t utf-8 OLD > NEW)",
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"environments", "defaults"})
    if unknown:
        near = "; ".join(f"{k}: {m}" for k in unknown if (m := _models().suggestion(k, ["environments", "defaults"])))
        raise ConfigError(
            f"{path}: unknown top-level key(s): {', '.join(unknown)}",
            hint=(near + "; " if near else "") + "allowed top-level tables are [environments.NAME] and [defaults]",
        )
    _check_shape(path, data)
    return data


def _check_shape(path: Path, data: dict[str, Any]) -> None:
    """The tables every reader of the file relies on are tables, and [defaults] holds strings."""
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(
            f"{path}: defaults must be a table, got {defaults!r}",
            hint='write it as a table: [defaults] then env = "NAME" and output = "text" or "json"',
        )
    for key in ("env", "output"):
        if key in defaults and not isinstance(defaults[key], str):
            raise ConfigError(f"{path}: defaults.{key} must be a string, got {defaults[key]!r}",
                              hint=f'e.g. {key} = "{"local" if key == "env" else "json"}"')
    envs = data.get("environments", {})
    if not isinstance(envs, dict):
        raise ConfigError(
            f"{path}: environments must be a table of [environments.NAME] tables, got {envs!r}",
            hint="write one [environments.NAME] table per environment; "
                 "the local sandbox needs none",
        )
    for name, table in envs.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: environments.{name} must be a table, got {table!r}",
                              hint=f"write it as [environments.{name}] followed by its keys")


def _validate(name: str, raw: dict[str, Any], source: str) -> Environment:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: environments.{name} must be a table")
    kind = raw.get("kind") or (LOCAL if name == LOCAL else "azure")
    if kind not in (LOCAL, "azure"):
        raise ConfigError(
            f'{source}: environments.{name}.kind is "{kind}"', hint='use "local" or "azure"'
        )
    checked = _models().validate(kind, raw, f"environments.{name}", source)
    settings = {k: v for k, v in checked.items() if k != "kind"}
    return Environment(name=name, kind=kind, settings=_checked(name, settings, source))


def _from_variables(env: Environment) -> Environment:
    """Apply the AUGEO_* variables that set keys of this kind of environment."""
    settings = dict(env.settings)
    for variable, (kind, key) in ENV_VARIABLES.items():
        raw = os.environ.get(variable)
        if raw is None or raw == "" or kind != env.kind:
            continue
        typ = _models().key_type(env.kind, key)
        try:
            settings[key] = typ(raw)
        except ValueError:
            described = _models().keys(env.kind).get(key, key)
            raise ConfigError(f"{variable}={raw!r} is not valid: {key} must be an integer",
                              hint=f"unset {variable} or give {described}") from None
    return Environment(env.name, env.kind, _checked(env.name, settings, "the AUGEO_* variables"))


def _checked(name: str, settings: dict[str, Any], source: str) -> dict[str, Any]:
    """Values that have a type but not every value of it makes sense."""
    timeout = settings.get("archive_timeout")
    if timeout is not None and not ARCHIVE_TIMEOUT[0] <= timeout <= ARCHIVE_TIMEOUT[1]:
        raise ConfigError(f"{source}: environments.{name}.archive_timeout must be "
                          f"{ARCHIVE_TIMEOUT[0]}..{ARCHIVE_TIMEOUT[1]} seconds, "
                          f"got {timeout}")
    workers = settings.get("service_workers")
    if workers is not None and not SERVICE_WORKERS[0] <= workers <= SERVICE_WORKERS[1]:
        raise ConfigError(f"{source}: environments.{name}.service_workers must be "
                          f"{SERVICE_WORKERS[0]}..{SERVICE_WORKERS[1]}, got {workers}")
    bindir = settings.get("pg_bindir")
    if bindir and unsafe_characters(str(bindir)):
        # pg_ctl starts the postgres program beside it through /bin/sh.
        raise ConfigError(
            f"{source}: environments.{name}.pg_bindir {bindir!r} contains "
            f"{unsafe_characters(str(bindir))}",
            hint=f"use a folder whose path has only {_SAFE_PATH_TEXT}",
        )
    if settings.get("backup_retention_full") is not None or settings.get("backup_retention_window") is not None:
        from augeoctl.retention import policy

        try:
            policy(settings.get("backup_retention_full"), settings.get("backup_retention_window"),
                   source=f"{source}: environments.{name}")
        except UsageError as exc:
            raise ConfigError(exc.message, hint="backup_retention_full = 7, or backup_retention_window = \"7d\"") from None
    mode = settings.get("wal_streaming")
    if mode is not None and mode not in WAL_STREAMING:
        raise ConfigError(f'{source}: environments.{name}.wal_streaming is "{mode}"',
                          hint="use " + ", ".join(f'"{m}"' for m in WAL_STREAMING))
    webapp = settings.get("webapp_name")
    if webapp is not None and not WEBAPP_NAME.fullmatch(str(webapp)):
        raise ConfigError(f"{source}: environments.{name}.webapp_name {webapp!r} is not an App Service app name",
                          hint="2 to 60 letters, digits and hyphens, not starting or ending with a hyphen")
    for key in ("production_url", "staging_url"):
        url = settings.get(key)
        if url is not None and not BASE_URL.fullmatch(str(url)):
            raise ConfigError(f"{source}: environments.{name}.{key} {url!r} is not a base URL",
                              hint="give http(s)://HOST[:PORT][/PATH] without user, query or fragment, "
                                   "e.g. https://app-augeo-staging-api-staging.azurewebsites.net")
    region = settings.get("geo_location")
    if region is not None and not REGION.fullmatch(str(region)):
        raise ConfigError(f'{source}: environments.{name}.geo_location "{region}" is not an Azure region name',
                          hint='use the region\'s programmatic name, e.g. "northeurope" (`az account list-locations`)')
    wait = settings.get("postgres_connect_wait")
    if wait is not None and not 0 < wait <= CONNECT_WAIT_MAX:
        raise ConfigError(f"{source}: environments.{name}.postgres_connect_wait must be 0..{CONNECT_WAIT_MAX} seconds, "
                          f"got {wait}")
    stop = settings.get("drill_stop_at")
    if stop is not None:
        when, _, phase = str(stop).partition(":")
        if when not in ("before", "after") or phase not in DRILL_PHASES:
            raise ConfigError(f"AUGEO_DRILL_STOP_AT={stop!r} is not a drill phase boundary",
                              hint="use before:PHASE or after:PHASE, PHASE one of " + ", ".join(DRILL_PHASES))
    return settings


def validate_environment(name: str, raw: dict[str, Any], source: str) -> Environment:
    """Check one ``[environments.NAME]`` table as ``resolve`` would: keys, required keys, types."""
    return _validate(name, raw, source)


def environment_names(data: dict[str, Any]) -> list[str]:
    names = set(data.get("environments", {}) or {})
    names.add(LOCAL)
    return sorted(names)


def resolve(
    *,
    env: str | None = None,
    config: str | Path | None = None,
    output: str | None = None,
    verbose: int | None = None,
) -> Settings:
    """Resolve settings: flag > AUGEO_* variable > config file > default."""
    cfg_path = config_path(config)
    data = load_file(cfg_path) if cfg_path is not None else {}
    source = str(cfg_path) if cfg_path else "built-in defaults"
    defaults = data.get("defaults", {}) or {}
    unknown_defaults = sorted(set(defaults) - {"env", "output"})
    if unknown_defaults:
        near = "; ".join(f"{k}: {m}" for k in unknown_defaults if (m := _models().suggestion(k, ["env", "output"])))
        raise ConfigError(f"{source}: unknown key(s) in [defaults]: {', '.join(unknown_defaults)}",
                          hint=(near + "; " if near else "") + "[defaults] takes env and output")

    env_name = env or os.environ.get("AUGEO_ENV") or defaults.get("env") or LOCAL
    envs = data.get("environments", {}) or {}
    if env_name in envs:
        environment = _validate(env_name, envs[env_name], source)
    elif env_name == LOCAL:
        environment = Environment(name=LOCAL, kind=LOCAL, settings={})
    else:
        known = ", ".join(environment_names(data))
        raise ConfigError(
            f'environment "{env_name}" is not configured (known: {known})',
            hint=(
                f"add [environments.{env_name}] to "
                f"{cfg_path or 'a config file given by --config or AUGEO_CONFIG'}"
            ),
        )

    environment = _from_variables(environment)
    out = output or os.environ.get("AUGEO_OUTPUT") or defaults.get("output") or "text"
    if out not in ("text", "json", "tsv"):
        raise ConfigError(f'output format "{out}" is not known', hint="use text, json or tsv")
    try:
        verb = verbose if verbose else int(os.environ.get("AUGEO_VERBOSE", "0") or 0)
    except ValueError:
        raise ConfigError(f"AUGEO_VERBOSE={os.environ['AUGEO_VERBOSE']!r} is not a number",
                          hint="use 0, 1 or 2") from None

    if environment.is_local and environment.get("home") and not os.environ.get("AUGEO_HOME"):
        home = checked_home(str(environment.get("home")), f"{source}: environments.local.home")
    else:
        home = default_home()
    return Settings(env=environment, output=out, verbose=verb, config_path=cfg_path, home=home)
