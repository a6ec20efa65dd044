"""The release seam: the two slots of the platform's API, what each holds, and the swap.

An environment runs its API in two slots, ``production`` and ``staging``. On Azure they
are the web app's production slot and its ``staging`` deployment slot; locally they are
two release folders of the reference service, each served by its own gunicorn. A slot
*holds* a version (the app setting ``AUGEO_RELEASE`` on Azure, which moves with the code
in a swap; the release folder locally) and *serves* the version its ``/health`` reports.

This module is the interface only. The operations users run (status, deploy with its
health gate, promote with its automatic swap back, rollback against the 5-minute
objective) are written once over it, in ``augeoctl.deploy``; HTTP probes of the slots
are shared there too, since both kinds serve ``/health`` and ``/health/ready``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from augeoctl.progress import Reporter
from augeoctl.releases import PRODUCTION, SLOTS, STAGING, check_version, older

__all__ = ["PRODUCTION", "SLOTS", "STAGING", "ReleaseBackend", "SlotInfo", "check_version", "older"]


@dataclass(frozen=True)
class SlotInfo:
    """What the platform says a slot holds (no probe): its version and where it answers."""

    slot: str
    version: str | None  # None: the slot holds no release
    url: str | None  # the slot's base URL (health probes); None when not running
    extra: dict[str, Any] | None = None  # platform details (pid, release folder, hostname, ...)


class ReleaseBackend(ABC):
    """The slots of one environment's API and the swap between them."""

    @abstractmethod
    def slot(self, name: str) -> SlotInfo:
        """What slot ``name`` (``production`` or ``staging``) holds, and its URL."""

    @abstractmethod
    def deploy(self, artifact: str, slot: str, reporter: Reporter) -> SlotInfo:
        """Put a release into a slot (never production) and start it; returns the slot.

        Locally ``artifact`` is a release folder or archive, or the version of a release
        already installed or shipped with augeoctl. On Azure the code is deployed by the
        pipeline (``azure/webapps-deploy``); this sets the slot's ``AUGEO_RELEASE`` to the
        version ``artifact`` names and restarts the slot. Health is not judged here.
        """

    @abstractmethod
    def swap(self, reporter: Reporter) -> None:
        """Exchange production and staging, so that each serves what the other held.

        Returns once the platform says the swap is done (Azure: the long-running
        operation finished; local: the slots' records are exchanged and both servers
        reloaded gracefully). Health is judged by the caller.
        """

    def finish_interrupted_swap(self, reporter: Reporter) -> str | None:
        """Complete a swap that was interrupted half-way, if the platform can tell; what
        was done, or None when there was nothing to finish."""
        return None

    def server_errors(self, slot: str) -> int | None:
        """How many 5xx responses the slot has served so far, where the platform counts
        them (the reference service's ``/metrics``); None where it does not."""
        return None
