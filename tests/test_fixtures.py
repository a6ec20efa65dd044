"""The fixtures' own promise: a discarded home leaves no server running and no file behind."""

from __future__ import annotations

import subprocess

import pytest

from augeoctl.local import procs
from tests.conftest import SandboxHandle, discard_home, make_home


@pytest.mark.integration
def test_a_discarded_home_leaves_no_process_and_no_file() -> None:
    home = make_home()
    handle = SandboxHandle(home)
    handle.up()
    servers = [handle.sandbox.status().postgres.pid, handle.sandbox.status().redis.pid]
    # a process the sandbox does not know of, naming the home (as a target a killed drill left)
    stray = subprocess.Popen(["sh", "-c", "sleep 600", f"{home}/stray"])
    discard_home(home)
    assert not any(procs.alive(pid) for pid in [*servers, stray.pid])  # the stray was reaped, too
    assert not home.exists()
