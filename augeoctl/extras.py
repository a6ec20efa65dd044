"""Optional parts of augeoctl, installed as extras: ``azure`` (the Azure environments),
``loadtest`` (Locust) and ``dashboard`` (Textual); ``all`` is the three.

A command that needs one checks for it before doing anything, and a missing one is a
dependency error (exit 3) naming the extra and how to add it.
"""

from __future__ import annotations

import importlib.util

from augeoctl.errors import ToolMissing

EXTRAS = {
    "azure": ("azure.identity", "Azure environments"),
    "loadtest": ("locust", "the load test"),
    "dashboard": ("textual", "the dashboard"),
}


def require(extra: str) -> None:
    """Refuse (ToolMissing, exit 3) when the extra's package cannot be imported."""
    module, what = EXTRAS[extra]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ToolMissing(
            f"{what} need the {extra!r} extra of augeoctl, which is not installed (no {module.split('.')[0]} module)",
            hint=f"pip install 'augeoctl[{extra}]' into augeoctl's environment; with pipx, reinstall with the "
                 f"extra: pipx install --force '.[{extra}]' (or '.[all]') from the clone",
        )
