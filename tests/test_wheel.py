"""An installed wheel works away from the checkout: its resources travel with the package.

The wheel is built from the checkout, installed into a fresh virtualenv outside it, and run
from a folder outside it, so nothing can be read from the repository by accident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from augeoctl.loadtest.gates import load_profiles, read_stats
from tests.conftest import REPO

pytestmark = pytest.mark.integration

# What setuptools reads to build the wheel (setup.cfg names README.md as the description).
BUILD_INPUTS = ("augeoctl", "setup.cfg", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    # Build from a copy: an in-tree build reuses build/lib, where files deleted from the
    # checkout would still be packaged.
    src = base / "src"
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, src / name)
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("augeoctl-*.whl")
    env = base / "venv"
    _run([sys.executable, "-m", "venv", str(env)])
    _run([str(env / "bin" / "python"), "-m", "pip", "install", f"{wheel}[loadtest]"])  # the load test below
    (base / "wheel-path").write_text(str(wheel))
    return env


def test_the_core_needs_no_azure_sdk_locust_or_textual(venv: Path) -> None:
    """`pip install augeoctl` serves the sandbox; Azure, Locust and Textual come as extras."""
    import zipfile

    wheel = Path((venv.parent / "wheel-path").read_text())
    with zipfile.ZipFile(wheel) as zf:
        meta = next(zf.read(n).decode() for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
    requires = [ln.split(":", 1)[1].strip() for ln in meta.splitlines() if ln.startswith("Requires-Dist:")]
    core = [r for r in requires if "extra ==" not in r]
    for name in ("locust", "textual", "azure-"):
        assert not [r for r in core if r.lower().startswith(name)], (name, core)
    extras = {r.split("extra ==")[1].strip().strip('"\'') for r in requires if "extra ==" in r}
    assert {"azure", "loadtest", "dashboard", "all"} <= extras


@pytest.fixture(scope="module")
def package(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the installed package, as its own interpreter finds it."""
    r = installed(venv, tmp_path_factory.mktemp("cwd"), "python", "-c", "import augeoctl; print(augeoctl.__file__)")
    assert r.returncode == 0, r.stderr
    return Path(r.stdout.strip()).parent


def _run(cmd: list[str]) -> None:
    # Without PYTHONPATH: a checkout on it would make pip think augeoctl is installed.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def installed(venv: Path, cwd: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    """Run a program of the virtualenv from ``cwd``, with no augeoctl settings inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGEO_") and k != "PYTHONPATH"}
    env["AUGEO_HOME"] = str(cwd / "home")
    return subprocess.run([str(venv / "bin" / cmd[0]), *cmd[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_package_runs_from_the_virtualenv(venv: Path, package: Path) -> None:
    assert package.is_relative_to(venv) and not package.is_relative_to(REPO)


def test_every_file_of_the_package_is_installed(package: Path) -> None:
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}

    assert files(REPO / "augeoctl") - files(package) == set()  # package data: setup.cfg
    assert (package / "py.typed").is_file()


def test_export_azure_reads_the_packaged_slo_profiles(venv: Path, tmp_path: Path) -> None:
    r = installed(venv, tmp_path, "augeoctl", "loadtest", "export-azure", "--profile", "smoke",
                  "--host", "https://api.example.test", "-o", "json")
    assert r.returncode == 0, r.stderr
    smoke = load_profiles(REPO / "loadtests" / "slo.toml")["smoke"]
    assert f'- name: LOCUST_USERS\n    value: "{smoke.users}"' in json.loads(r.stdout)["yaml"]


def test_loadtest_run_drives_the_packaged_locustfile(venv: Path, tmp_path: Path) -> None:
    # Any HTTP answer will do (this one is 501 for everything): the point is that Locust
    # found the packaged locustfile and ran its journeys, named as the file names them.
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r = installed(venv, tmp_path, "augeoctl", "loadtest", "run", "--profile", "smoke", "--workers", "1",
                      "--run-time", "3s", "--host", f"http://127.0.0.1:{server.server_address[1]}",
                      "--results", str(tmp_path / "results"), "-o", "json")
    finally:
        server.shutdown()
    assert r.returncode == 4, r.stderr  # every request failed: the error-rate gate
    assert json.loads(r.stdout)["totals"]["requests"] > 0
    names = set(read_stats(tmp_path / "results" / "locust_stats.csv")) - {"Aggregated"}
    assert names and all(n.startswith(("GET /", "POST /")) for n in names), names


def test_the_traffic_query_is_packaged(venv: Path, tmp_path: Path) -> None:
    code = "from augeoctl.health.azure import kql; print(kql('traffic'), end='')"
    r = installed(venv, tmp_path, "python", "-c", code)
    assert r.returncode == 0, r.stderr
    queries = REPO / "dashboards" / "queries"
    assert r.stdout == (queries / "api_traffic.kql").read_text() + (queries / "traffic.kql").read_text()


def test_the_schema_migrations_are_packaged(venv: Path, tmp_path: Path) -> None:
    # The shipped Alembic project (ini, env.py, versions/, the drill's version location)
    # from the installed wheel: the SQL of `alembic upgrade head` in offline mode.
    code = ("from augeoctl.schema import AlembicProject, drill_versions; "
            "p = AlembicProject.shipped(extra_versions=(drill_versions(),)); "
            "print(p.resolve('d001')[0]); print(p.offline_sql(None, '0002'), end='')")
    r = installed(venv, tmp_path, "python", "-c", code)
    assert r.returncode == 0, r.stderr
    first, sql = r.stdout.split("\n", 1)
    assert first == "d001"
    assert "CREATE TABLE app.organizations" in sql and "CREATE INDEX events_user_idx" in sql
    assert "INSERT INTO alembic_version (version_num) VALUES ('0001')" in sql


def test_the_runbooks_are_packaged(venv: Path, package: Path, tmp_path: Path) -> None:
    shipped = package / "runbook" / "runbooks"
    assert not shipped.is_symlink()  # the wheel holds the files themselves
    for path in (REPO / "runbooks").glob("*.md"):
        assert (shipped / path.name).read_text() == path.read_text(), path.name
    r = installed(venv, tmp_path, "augeoctl", "runbook", "list", "-o", "json")
    assert r.returncode == 0, r.stderr
    names = {i["name"] for i in json.loads(r.stdout)["runbooks"]}
    assert names == {p.stem for p in (REPO / "runbooks").glob("*.md")} - {"README"}
    r = installed(venv, tmp_path, "augeoctl", "runbook", "show", "dr-drill")
    assert r.returncode == 0 and "Quarterly disaster-recovery drill" in r.stdout, r.stderr
