"""Release versions and slot names, shared by the release seam and the sandbox's slots
(the bottom layer: it imports nothing of augeoctl but the errors)."""

from __future__ import annotations

import re

from augeoctl.errors import UsageError

PRODUCTION = "production"
STAGING = "staging"
SLOTS = (PRODUCTION, STAGING)

# A release version: PEP 440 (1.4.0, 1.4.0rc1, 1.2.0+broken-api). Versions are compared
# with packaging.version, so "older" has one meaning on every platform.
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*([a-z0-9.+_-]*)$", re.IGNORECASE)


def check_version(version: str) -> str:
    """A release version as given, or a usage error naming the expected form."""
    from packaging.version import InvalidVersion, Version

    if not _VERSION.fullmatch(version or ""):
        raise UsageError(f"{version!r} is not a release version",
                         hint="use a PEP 440 version such as 1.4.0, 1.4.0rc1 or 1.4.0+build.7")
    try:
        Version(version)
    except InvalidVersion:
        raise UsageError(f"{version!r} is not a release version",
                         hint="use a PEP 440 version such as 1.4.0, 1.4.0rc1 or 1.4.0+build.7") from None
    return version


def older(a: str, b: str) -> bool:
    """Whether release ``a`` is older than release ``b``."""
    from packaging.version import Version

    return Version(a) < Version(b)
