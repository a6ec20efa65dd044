"""`python3 noxfile.py` on a machine without a working `nox` puts one on the PATH and runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _fake_venv(data_home: Path) -> Path:
    """An installed nox virtualenv whose `nox` only echoes its arguments (no download)."""
    bindir = data_home / "augeoctl" / "nox-venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").symlink_to(sys.executable)
    nox = bindir / "nox"
    nox.write_text('#!/bin/sh\necho "fake nox $*"\n')
    nox.chmod(0o755)
    return nox


def _run(tmp_path: Path, bindir: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "AUGEO_NOX_BIN_DIR": str(bindir)}
    return subprocess.run([sys.executable, str(REPO / "noxfile.py"), "--version"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_dangling_link_left_by_an_earlier_install_is_replaced(tmp_path: Path) -> None:
    nox = _fake_venv(tmp_path / "data")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "nox").symlink_to(tmp_path / "gone" / "nox-venv" / "bin" / "nox")
    done = _run(tmp_path, bindir)
    assert done.returncode == 0, done.stderr
    assert "fake nox -f" in done.stdout and done.stdout.rstrip().endswith("--version")
    assert "points at a missing" in done.stderr
    assert os.readlink(bindir / "nox") == str(nox)


def test_a_fresh_machine_gets_a_link_and_a_working_link_is_kept(tmp_path: Path) -> None:
    nox = _fake_venv(tmp_path / "data")
    bindir = tmp_path / "bin"
    first = _run(tmp_path, bindir)
    assert first.returncode == 0, first.stderr
    assert os.readlink(bindir / "nox") == str(nox)
    second = _run(tmp_path, bindir)      # `nox` is now on the PATH: used as it is
    assert second.returncode == 0 and "fake nox" in second.stdout
    assert "linked" not in second.stderr
