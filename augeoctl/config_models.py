"""The config file's tables as pydantic models: keys, types, required keys and the JSON Schema.

``[environments.NAME]`` is a :class:`LocalTable` (``kind = "local"``) or an
:class:`AzureTable` (any other environment). Both refuse unknown keys
(``extra="forbid"``) and convert nothing (``strict``: ``"5"`` is not an integer), and an
unknown key is answered with the nearest known ones (difflib). Checks that need more than a
type (ranges, names, URLs, the retention policy) stay in ``config._checked``, which the
``AUGEO_*`` variables pass through too; their limits and patterns are in the schema, so an
editor shows them.

:func:`json_schema` is the schema of the whole file for editors (``augeoctl config schema``).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from augeoctl.config_limits import (
    ARCHIVE_TIMEOUT,
    BASE_URL,
    CONNECT_WAIT_MAX,
    REGION,
    SERVICE_WORKERS,
    WEBAPP_NAME,
    WalStreaming,
)
from augeoctl.errors import ConfigError


def _whole(rx: re.Pattern[str]) -> str:
    return f"^(?:{rx.pattern})$"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LocalTable(_Table):
    """``[environments.local]``: the sandbox on this machine (every key optional)."""

    kind: Literal["local"] | None = Field(None, description='"local"')
    home: str | None = Field(None, description="state folder of the sandbox (also AUGEO_HOME)")
    archive_timeout: int | None = Field(None, description="seconds before a partly filled WAL segment is archived",
                                        json_schema_extra={"minimum": ARCHIVE_TIMEOUT[0],
                                                           "maximum": ARCHIVE_TIMEOUT[1]})
    wal_streaming: WalStreaming | None = Field(None, description="pg_receivewal streaming")
    service_user: str | None = Field(None, description="unprivileged user the servers run as when augeoctl runs as root")
    pg_bindir: str | None = Field(None, description="folder of the PostgreSQL programs (initdb, pg_ctl ...)")
    redis_server: str | None = Field(None, description="the redis-server program")
    service_workers: int | None = Field(None, description="uvicorn worker processes of each slot of the reference service",
                                        json_schema_extra={"minimum": SERVICE_WORKERS[0],
                                                           "maximum": SERVICE_WORKERS[1]})
    backup_retention_full: int | None = Field(
        None, description="base backups `backup create` keeps, expiring older ones (`backup expire`)",
        json_schema_extra={"minimum": 1})
    backup_retention_window: str | None = Field(
        None, description="or: how far back every point stays restorable, like 7d (`backup expire`)")


class AzureTable(_Table):
    """``[environments.NAME]`` of an Azure environment (dev, staging, prod ...)."""

    kind: Literal["azure"] | None = Field(None, description='"azure" (default for any environment other than local)')
    subscription_id: str = Field(description="Azure subscription id")
    resource_group: str = Field(description="resource group holding the platform")
    postgres_server: str = Field(description="PostgreSQL Flexible Server name")
    location: str | None = Field(None, description="Azure region of the platform")
    tenant_id: str | None = Field(None, description="Microsoft Entra tenant id")
    redis_name: str | None = Field(None, description="Azure Managed Redis / Azure Cache for Redis name")
    key_vault: str | None = Field(None, description="Key Vault name or URI")
    postgres_secret: str | None = Field(None, description="Key Vault secret holding the PostgreSQL admin password")
    postgres_user: str | None = Field(None, description="PostgreSQL login (Entra principal or admin user)")
    postgres_database: str | None = Field(None, description="application database name")
    app_insights: str | None = Field(None, description="Application Insights resource name")
    app_service_plan: str | None = Field(None, description="App Service plan name (CPU and memory from Azure Monitor)")
    log_analytics_workspace_id: str | None = Field(None, description="Log Analytics workspace id (GUID)")
    dns_zone: str | None = Field(None, description="Azure DNS zone of the email domain")
    email_domain: str | None = Field(
        None, description="the email domain `dns audit` checks when none is given (default: dns_zone)")
    dns_nameservers: str | None = Field(
        None, description="nameservers `dns audit` asks instead of the system resolver: IP[:PORT], comma-separated")
    dns_resource_group: str | None = Field(None, description="resource group of the DNS zone, if different")
    email_service: str | None = Field(None, description="ACS Email service name")
    api_url: str | None = Field(None, description="public URL of the API")
    admin_url: str | None = Field(None, description="public URL of the admin front end")
    arm_endpoint: str | None = Field(None, description="Azure Resource Manager endpoint (sovereign clouds)")
    authority: str | None = Field(None, description="Microsoft Entra authority host (sovereign clouds)")
    credential_scope: str | None = Field(None, description="ARM token scope (sovereign clouds)")
    ca_bundle: str | None = Field(None, description="PEM file of extra trusted certificate authorities")
    retry_total: int | None = Field(None, description="retries of a failed or throttled Azure request")
    poll_interval: float | None = Field(None, description="seconds between polls of a long-running operation")
    postgres_port: int | None = Field(None, description="PostgreSQL port (default 5432)")
    postgres_sslmode: str | None = Field(None, description="libpq sslmode for PostgreSQL connections (default require)")
    postgres_auth: Literal["entra", "password"] | None = Field(
        None, description='"entra" (access token, default) or "password" (from Key Vault)')
    key_vault_url: str | None = Field(None, description="Key Vault URI, when it is not https://NAME.vault.azure.net")
    logs_endpoint: str | None = Field(None, description="Log Analytics query endpoint (sovereign clouds)")
    redis_kind: Literal["managed", "cache"] | None = Field(
        None, description='"managed" (Azure Managed Redis, default) or "cache" (Azure Cache for Redis)')
    redis_export_secret: str | None = Field(
        None, description="Key Vault secret holding the SAS URL of the RDB export container")
    redis_host: str | None = Field(None, description="Redis host name, when not NAME.redis.cache.windows.net")
    redis_port: int | None = Field(None, description="Redis port (default 6380, TLS)")
    redis_tls: bool | None = Field(None, description="connect to Redis with TLS (default true)")
    webapp_name: str | None = Field(
        None, description="App Service web app of the API (its production slot and the staging slot)",
        json_schema_extra={"pattern": _whole(WEBAPP_NAME)})
    production_url: str | None = Field(
        None, description="base URL of the production slot's health probes (default https://DEFAULT_HOST_NAME)",
        json_schema_extra={"pattern": _whole(BASE_URL)})
    staging_url: str | None = Field(
        None, description="base URL of the staging slot's health probes (default https://DEFAULT_HOST_NAME)",
        json_schema_extra={"pattern": _whole(BASE_URL)})
    postgres_host: str | None = Field(None, description="PostgreSQL host name (default NAME.postgres.database.azure.com)")
    migration_user: str | None = Field(
        None, description="Entra principal name the migration pipeline logs in to PostgreSQL as")
    geo_location: str | None = Field(
        None, description="region of a geo-restore (default: the Azure pair of the server's region)",
        json_schema_extra={"pattern": _whole(REGION)})
    postgres_connect_wait: float | None = Field(
        None, description="seconds a restored server may take to accept connections (default 900)",
        json_schema_extra={"exclusiveMinimum": 0, "maximum": CONNECT_WAIT_MAX})


class Defaults(_Table):
    """``[defaults]``: what a command uses when no flag or AUGEO_* variable says otherwise."""

    env: str | None = Field(None, description="environment of commands without --env (default local)")
    output: Literal["text", "json", "tsv"] | None = Field(None, description="output format (default text)")


# Settings only an AUGEO_* variable gives (a secret, and two test and chaos hooks): name -> type.
VARIABLE_ONLY: dict[str, type] = {"redis_export_sas": str, "drill_stop_at": str, "pause_at": str}

_KINDS = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}
_TYPE_ERRORS = {"string_type": str, "int_type": int, "bool_type": bool, "float_type": float,
                "int_from_float": int}


def table_model(kind: str) -> type[_Table]:
    return LocalTable if kind == "local" else AzureTable


def keys(kind: str) -> dict[str, str]:
    """Key -> description of one kind of environment."""
    return {k: f.description or "" for k, f in table_model(kind).model_fields.items()}


def required_keys(kind: str) -> list[str]:
    return [k for k, f in table_model(kind).model_fields.items() if f.is_required()]


def key_type(kind: str, key: str) -> type:
    """The Python type of a setting (its file key, or a variable-only one)."""
    if key in VARIABLE_ONLY:
        return VARIABLE_ONLY[key]
    annotation = table_model(kind).model_fields[key].annotation
    for typ in (bool, int, float, str):  # X | None, or a Literal of strings
        if annotation is typ or typ in getattr(annotation, "__args__", ()):
            return typ
    return str


def suggestion(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    return f"did you mean {' or '.join(close)}?" if close else ""


def validate(kind: str, raw: dict[str, Any], where: str, source: str) -> dict[str, Any]:
    """The keys ``raw`` sets, checked against the ``kind``'s model; :class:`ConfigError` naming
    ``where`` (e.g. ``environments.dev``) otherwise."""
    model = table_model(kind)
    try:
        return model.model_validate(raw).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise _config_error(exc, model, kind, raw, where, source) from None


def _config_error(exc: ValidationError, model: type[_Table], kind: str, raw: dict[str, Any],
                  where: str, source: str) -> ConfigError:
    errors = exc.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        known = sorted(model.model_fields)
        hints = [f"{k}: {s}" for k in unknown if (s := suggestion(k, known))]
        hint = "; ".join(hints) if hints else ""
        hint = (hint + "; " if hint else "") + "`augeoctl config schema` lists every key of each kind of environment"
        return ConfigError(f"{source}: unknown key(s) in {where}: {', '.join(unknown)}", hint=hint)
    missing = sorted(str(e["loc"][0]) for e in errors if e["type"] == "missing")
    if missing:
        return ConfigError(f"{source}: {where} is missing required key(s): {', '.join(missing)}",
                           hint="required for " + ("the sandbox" if kind == "local" else "an Azure environment")
                                + ": " + ", ".join(required_keys(kind)))
    first = errors[0]
    key = str(first["loc"][0])
    return _value_error(first, f"{source}: {where}.{key}", raw.get(key, first.get("input")))


def _value_error(error: Any, path: str, value: Any) -> ConfigError:
    """A key whose value is wrong: of the wrong type, not one of the allowed values, out of
    bounds, or refused by a validator."""
    kind = error["type"]
    if kind in _TYPE_ERRORS:
        return ConfigError(f"{path} must be {_KINDS[_TYPE_ERRORS[kind]]}, got {value!r}")
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        return ConfigError(f'{path} is "{value}"', hint="use " + str(ctx.get("expected", "")).replace("'", '"'))
    bounds = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than_equal": "<= {le}"}
    if kind in bounds:
        return ConfigError(f"{path} must be a number {bounds[kind].format(**ctx)}, got {value!r}")
    return ConfigError(f"{path}: {error['msg']}, got {value!r}")


def explain(exc: ValidationError, raw: dict[str, Any], where: str, known: list[str]) -> ConfigError:
    """One :class:`ConfigError` for a validation error of a nested table: the dotted key,
    what was wrong, and for an unknown key the nearest of ``known``."""
    first = exc.errors()[0]
    loc = [str(x) for x in first["loc"]]
    path = ".".join([where, *loc])
    value: Any = raw
    for part in loc:
        value = value.get(part) if isinstance(value, dict) else None
    kind = first["type"]
    if kind == "extra_forbidden":
        near = suggestion(loc[-1], known)
        return ConfigError(f"{where}: unknown key {'.'.join(loc)}",
                           hint=(near + "; " if near else "") + "known: " + ", ".join(sorted(set(known))))
    if kind == "missing":
        return ConfigError(f"{path} is missing")
    return _value_error(first, path, value)


class ConfigFile(_Table):
    """The augeoctl config file (TOML): environments, and defaults for every command."""

    model_config = ConfigDict(extra="forbid", strict=True, title="augeoctl configuration")
    environments: dict[str, LocalTable | AzureTable] = Field(
        default_factory=dict,
        description='one table per environment: [environments.local] (kind "local", optional) and '
                    "[environments.NAME] for each Azure environment")
    defaults: Defaults | None = None


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the config file, for editors (e.g. Taplo's
    ``#:schema`` directive in the TOML file)."""
    return clean_schema(ConfigFile.model_json_schema())


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic schema made for TOML: no ``null`` branches, and the draft named."""
    for definition in schema.get("$defs", {}).values():
        for prop in definition.get("properties", {}).values():
            _no_null(prop)
    for prop in schema.get("properties", {}).values():
        _no_null(prop)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _no_null(prop: dict[str, Any]) -> None:
    """TOML has no null: an optional key is one that is left out, not ``X | null``."""
    branches = prop.pop("anyOf", None)
    if branches is not None:
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) == 1:
            prop.update(kept[0])
        else:
            prop["anyOf"] = kept
    if prop.get("default", ...) is None:
        del prop["default"]
