"""Helpers shared by the benchmark scripts (not a benchmark itself)."""

from __future__ import annotations

import compileall
import functools
import json
import os
import subprocess
import sys
from pathlib import Path


def augeoctl_env(home: Path) -> dict[str, str]:
    """The environment of a measured ``augeoctl``: ``AUGEO_HOME=home``, no other AUGEO_*
    setting, and bytecode as an installed package has it: the package is compiled once
    (``pip install`` does it for a user; an editable checkout compiles on first use,
    unless PYTHONDONTWRITEBYTECODE is set, as in some shells and CI images)."""
    _compile_package()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AUGEO_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["AUGEO_HOME"] = str(home)
    return env


@functools.cache
def _compile_package() -> None:
    compileall.compile_dir(str(Path(__file__).resolve().parents[2] / "augeoctl"), quiet=1)


def augeoctl(home: Path, *args: str, ok: tuple[int, ...] = (0,)) -> dict:
    """Run ``augeoctl ... --output json`` with ``AUGEO_HOME=home``; its JSON result."""
    env = augeoctl_env(home)
    proc = subprocess.run([sys.executable, "-m", "augeoctl", *args, "--output", "json"],
                          capture_output=True, text=True, env=env)
    if proc.returncode not in ok:
        raise SystemExit(f"augeoctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout)


def drop_caches() -> bool:
    """Start a measured run from a cold page cache (root only), so runs compare."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False
