"""Backends behind the one seam per external system, chosen by the environment."""

from __future__ import annotations

from augeoctl.backends.base import PostgresBackend, RedisBackend
from augeoctl.config import Settings


def postgres_backend(settings: Settings) -> PostgresBackend:
    if settings.env.is_local:
        from augeoctl.backends.local_pg import LocalPostgresBackend
        from augeoctl.local.sandbox import Sandbox

        return LocalPostgresBackend(Sandbox(settings.home, settings.env.settings))
    return _azure(settings, "azure_pg", "AzurePostgresBackend")


def redis_backend(settings: Settings) -> RedisBackend:
    if settings.env.is_local:
        from augeoctl.backends.local_redis import LocalRedisBackend
        from augeoctl.local.sandbox import Sandbox

        return LocalRedisBackend(Sandbox(settings.home, settings.env.settings))
    return _azure(settings, "azure_redis", "AzureRedisBackend")


def _azure(settings: Settings, module: str, cls: str):  # type: ignore[no-untyped-def]
    import importlib

    from augeoctl.errors import UsageError

    try:
        mod = importlib.import_module(f"augeoctl.backends.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"augeoctl.backends.{module}":
            raise
        raise UsageError(
            f'environment "{settings.env.name}" is an Azure environment, and this command '
            "has no Azure backend in this version",
            hint="use --env local",
        ) from None
    return getattr(mod, cls)(settings.env)
