"""Sessions: `nox -s drill` (the main job), `nox -s tests`, `nox -s lint`, `nox -s terraform`;
slow ones on demand.

Sessions install what the machine lacks, Debian packages included (PostgreSQL server,
redis-server, Knot DNS), when run as root or with sudo.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

# Debian package -> a program that shows it is installed.
SYSTEM_PACKAGES = {
    "postgresql": "postgres",
    "redis-server": "redis-server",
    "knot": "knotd",
}


def _have(program: str) -> bool:
    if program == "postgres":
        return any(
            os.path.exists(os.path.join(d, "pg_ctl")) and int(d.split("/")[-2]) >= 15
            for d in glob.glob("/usr/lib/postgresql/*/bin")
            if d.split("/")[-2].isdigit()
        )
    return shutil.which(program) is not None or os.path.exists(f"/usr/sbin/{program}")


def ensure_system_packages(session: nox.Session, extra: dict[str, str] | None = None) -> None:
    """apt-get install the servers the sandbox and the tests run, when missing."""
    wanted = {**SYSTEM_PACKAGES, **(extra or {})}
    missing = [pkg for pkg, prog in wanted.items() if not _have(prog)]
    if not missing:
        return
    if not shutil.which("apt-get"):
        session.error(f"missing system packages {missing}; install them with your package manager")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            session.error(f"missing system packages {missing}; run as root or install them")
        prefix = ["sudo", "-n"]
    session.log(f"installing system packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True, env=env,
    )


def install_project(session: nox.Session, extras: str = "test") -> None:
    session.install("-e", f".[{extras}]")


CHECKOV_VENV = Path(__file__).resolve().parent / ".nox" / "checkov"


def checkov(session: nox.Session) -> str:
    """Path of checkov, in a virtualenv of its own (made once).

    Checkov pins an old `packaging` that conflicts with pytest, so it cannot share the
    test virtualenv; the tests find it through AUGEO_CHECKOV.
    """
    exe = CHECKOV_VENV / "bin" / "checkov"
    if not exe.exists():
        session.log(f"creating {CHECKOV_VENV} for checkov")
        session.run("python", "-m", "venv", "--clear", str(CHECKOV_VENV), external=True)
        session.run(str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
                    "checkov>=3.2", external=True)
    return str(exe)


@nox.session
def tests(session: nox.Session) -> None:
    """The full test suite against real PostgreSQL, Redis and DNS servers on loopback."""
    ensure_system_packages(session)
    install_project(session, "test")
    env = {"AUGEO_CHECKOV": checkov(session)}
    session.run("pytest", *(session.posargs or ["-q"]), env=env)


@nox.session
def terraform(session: nox.Session) -> None:
    """Offline Terraform checks: terraform fmt, checkov and tests/terraform (no provider download)."""
    if not shutil.which("terraform"):
        session.error("terraform is not on PATH (https://developer.hashicorp.com/terraform/install)")
    session.run("terraform", "fmt", "-check", "-recursive", "-diff", "terraform", external=True)
    exe = checkov(session)
    session.run(exe, "-d", "terraform", "--skip-download", "--framework", "terraform",
                "--quiet", "--compact", external=True)
    install_project(session, "test")
    session.run("pytest", "tests/terraform", *(session.posargs or ["-q"]),
                env={"AUGEO_CHECKOV": exe})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy over the package."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "augeoctl", "tests", "noxfile.py")
    session.run("mypy", "augeoctl")


DRILL_SCENARIOS = ("accidental-delete", "server-loss", "redis-loss")


@nox.session
def drill(session: nox.Session) -> None:
    """The main job: DR drills of every scenario on the local sandbox (RTO 4 h, RPO 15 min)."""
    ensure_system_packages(session)
    install_project(session, "test")
    session.run("augeoctl", "sandbox", "up")
    if session.posargs:
        session.run("augeoctl", "dr-drill", "--yes", *session.posargs)
    else:
        for scenario in DRILL_SCENARIOS:
            session.run("augeoctl", "dr-drill", "--scenario", scenario, "--yes")
    session.run("augeoctl", "dr-drill", "history", "--limit", "5")
    session.log("the sandbox is still running: `augeoctl sandbox down` (in this virtualenv) stops it")


@nox.session(name="load-test")
def load_test(session: nox.Session) -> None:
    """Locust against the sandbox's service with SLO gates (`-- --profile peak-1000 --host URL`)."""
    ensure_system_packages(session)
    install_project(session, "test")
    args = session.posargs or ["--profile", "peak-1000"]
    session.run("augeoctl", "loadtest", "run", *args)


BENCHES = sorted(p.stem.removeprefix("bench_") for p in Path("tests/bench").glob("bench_*.py"))


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark in tests/bench, side by side (slow); `-- restore drill` picks some."""
    ensure_system_packages(session, {"pgbackrest": "pgbackrest"})
    install_project(session, "test")
    session.install("checkdmarc>=6.0")
    wanted = [a for a in session.posargs if a != "--only"] or BENCHES  # `-- restore` or `-- --only restore`
    for name in wanted:
        if name not in BENCHES:
            session.error(f"no benchmark {name!r}; choose from {', '.join(BENCHES)}")
        session.run("python", f"tests/bench/bench_{name}.py")


@nox.session
def bench_dns(session: nox.Session) -> None:
    """DNS audit benchmark: augeoctl vs checkdmarc against Knot behind a 50 ms/query forwarder."""
    ensure_system_packages(session, {"knot": "knotd"})
    install_project(session, "test")
    session.install("checkdmarc>=6.0")
    session.run("python", "tests/bench/bench_dns.py", *session.posargs)


@nox.session
def bench_restore(session: nox.Session) -> None:
    """Restore benchmark: augeoctl vs pgBackRest vs cp + PostgreSQL replay (`-- --rounds 1`)."""
    ensure_system_packages(session, {"pgbackrest": "pgbackrest"})
    install_project(session, "test")
    session.run("python", "tests/bench/bench_restore.py", *session.posargs)
