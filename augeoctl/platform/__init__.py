"""The platform seam: one object per environment that hands out everything augeoctl
operates on (PostgreSQL and Redis backends, health probes, the disasters a drill can
cause, later the deployment slots).

``platform_for(settings)`` is the only place that tells a local sandbox from an Azure
environment; callers see the ``Platform`` interface alone.
"""

from __future__ import annotations

from augeoctl.config import Settings
from augeoctl.platform.base import Platform

__all__ = ["Platform", "platform_for"]


def platform_for(settings: Settings) -> Platform:
    """The platform of the environment the settings name (heavy SDKs load lazily)."""
    if settings.env.is_local:
        from augeoctl.platform.local import LocalPlatform

        return LocalPlatform(settings)
    from augeoctl.extras import require

    require("azure")
    from augeoctl.platform.azure import AzurePlatform

    return AzurePlatform(settings)
