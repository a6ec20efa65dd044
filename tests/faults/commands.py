"""Commands the fault tests run as a user would: `augeoctl ARGS` in a subprocess.

A command can be made to stop at an exact point with the documented test hook
``AUGEO_PAUSE_AT=STEP``: it pauses when it begins that progress step, writes
``AUGEO_HOME/paused-at.json`` and waits until the file is removed. Helpers here wait for
events (that file, a line on stderr, a process's exit), never for a fixed time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from augeoctl.cli.common import PAUSE_FILE
from tests.conftest import wait_for


def flat(text: str) -> str:
    """Progress lines as one line: stderr wraps long messages at the console's width."""
    return " ".join(text.split())


class Command:
    """`augeoctl ARGS` in a subprocess, optionally pausing at a progress step.

    ``hook`` sets another stop hook instead (its variable and the marker file it writes),
    such as the drill's ``AUGEO_DRILL_STOP_AT``.
    """

    def __init__(self, home: Path, args: list[str], out: Path, pause_at: str | None = None,
                 hook: tuple[str, str, Path] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_")}
        env["AUGEO_HOME"] = str(home)
        self.marker = home / PAUSE_FILE
        if pause_at:
            env["AUGEO_PAUSE_AT"] = pause_at
        if hook:
            variable, value, self.marker = hook
            env[variable] = value
        exe = shutil.which("augeoctl")
        cmd = [exe] if exe else [sys.executable, "-m", "augeoctl"]
        self.home = home
        out.mkdir(parents=True, exist_ok=True)
        self.stdout, self.stderr = out / "stdout", out / "stderr"
        with open(self.stdout, "w") as so, open(self.stderr, "w") as se:
            self.proc = subprocess.Popen([*cmd, *args], stdout=so, stderr=se, env=env,
                                         stdin=subprocess.DEVNULL)

    def paused(self) -> dict[str, Any]:
        """Wait until the command pauses at its step; what it wrote there."""
        def there() -> dict[str, Any] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"the command ended before its pause: {self.output()}")
            try:
                return json.loads(self.marker.read_text())
            except (OSError, ValueError):
                return None

        return wait_for(there, 300, "the command's pause")

    def said(self, text: str) -> None:
        """Wait until the command has written ``text`` on stderr (it still runs then)."""
        def there() -> bool:
            if text in flat(self.stderr.read_text()):
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"the command ended before saying {text!r}: {self.output()}")
            return False

        wait_for(there, 300, f"{text!r} on stderr")

    def go_on(self) -> None:
        self.marker.unlink()

    def wait(self, timeout: float = 600) -> int:
        return self.proc.wait(timeout)

    def json(self) -> Any:
        return json.loads(self.stdout.read_text())

    def output(self) -> str:
        return (f"rc={self.proc.poll()} stdout={self.stdout.read_text()[-3000:]} "
                f"stderr={self.stderr.read_text()[-3000:]}")
