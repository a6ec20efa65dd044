"""Fixtures of the fault tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from augeoctl.cli.common import PAUSE_FILE
from tests.conftest import SandboxHandle
from tests.faults.commands import Command


@pytest.fixture()
def started(sandbox: SandboxHandle) -> Iterator[list[Command]]:
    """Commands a test starts; none outlives it, and no pause marker is left behind."""
    commands: list[Command] = []
    yield commands
    (sandbox.home / PAUSE_FILE).unlink(missing_ok=True)
    for c in commands:
        if c.proc.poll() is None:
            c.proc.kill()
        c.proc.wait(60)
