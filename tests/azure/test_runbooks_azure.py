"""Every runbook's `azure` steps, run as a user runs them: `augeoctl runbook run NAME --env
staging --yes` in a subprocess, whose steps run `augeoctl` against the fake Azure Resource
Manager on loopback (Flexible Server with a real PostgreSQL stand-in, App Service slots,
Managed Redis, Azure Monitor) through the real Azure SDKs.

The subprocesses log in with the real ``DefaultAzureCredential``, narrowed by azure-identity's
``AZURE_TOKEN_CREDENTIALS=AzureCliCredential`` to the Azure CLI credential; the `az` on their
PATH is a stand-in that prints the fake ARM's token in the shape of `az account
get-access-token --output json`.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from augeoctl.runbook import model
from tests.azure import standin as standin_server
from tests.conftest import REPO, run_cli
from tests.dns.conftest import dkim_keys, knot  # noqa: F401 - fixtures: Knot serves the email domain
from tests.dns.zones import VERIFY
from tests.fakearm.email import (
    AcsState,
    acs_records,
    install_acs,
    install_dns_zone,
    record_set,
    zone_path,
)
from tests.fakearm.postgres import SECRET_PASSWORD
from tests.fakearm.server import TOKEN
from tests.fakearm.web import SECRET_VALUE, WebApps
from tests.health.test_health_azure import Platform

pytestmark = pytest.mark.integration

BOOKS = [p for p in sorted((REPO / "runbooks").glob("*.md"))
         if p.name != "README.md" and "azure" in model.parse(p.read_text(), p.stem, p).environments]

FAKE_AZ = """#!/bin/sh
# `az account get-access-token --output json --resource ...`, as the Azure CLI prints it.
case "$*" in
  *get-access-token*) printf '{"accessToken": "%s", "expires_on": %s, "tokenType": "Bearer"}\\n' \\
      "$FAKE_TOKEN" "$(($(date +%s) + 3600))" ;;
  *) echo "az stand-in: only get-access-token" >&2; exit 2 ;;
esac
"""


@dataclass
class Staging:
    platform: Platform
    web: WebApps
    home: Path
    env: dict[str, str]  # what the runs add to the environment run_cli gives


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory, knot) -> Iterator[Staging]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("runbooks-azure")
    standin = standin_server.start(SECRET_PASSWORD, TOKEN)
    platform = Platform(tmp)
    web = WebApps(platform.arm, "app-augeo-staging-api", platform.pg.rg)
    web.serve_health()
    # The email domain: ACS's records and states, the Azure DNS zone, and Knot serving the same.
    rg, domain = platform.pg.rg, "good.example"
    install_acs(platform.arm, rg, "acs-email-staging", {domain: AcsState(domain, acs_records(domain, VERIFY))})
    zp = zone_path(platform.arm, rg, domain)
    install_dns_zone(platform.arm, rg, domain, [
        record_set(zp, "@", "TXT", [VERIFY, "v=spf1 include:spf.protection.outlook.com -all"]),
        record_set(zp, "_dmarc", "TXT", [f"v=DMARC1; p=reject; rua=mailto:dmarc@{domain}"]),
        record_set(zp, "@", "MX", [(10, f"mx.{domain}")]),
    ])
    cfg = platform.config(tmp, webapp_name=web.name, production_url=web.urls["production"],
                          staging_url=web.urls["staging"], postgres_port=standin.port,
                          postgres_user=standin_server.ENTRA_USER, postgres_database=standin_server.DATABASE,
                          poll_interval=0.05, email_service="acs-email-staging", dns_zone=domain,
                          dns_nameservers=knot.nameserver)
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ)
    az.chmod(az.stat().st_mode | stat.S_IXUSR)
    env = {"AUGEO_CONFIG": str(cfg), "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential", "FAKE_TOKEN": TOKEN,
           "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    yield Staging(platform, web, tmp / "home", env)
    web.stop()
    platform.stop()
    standin.stop()


def test_there_are_runbooks_with_azure_steps() -> None:
    assert len(BOOKS) >= 5, [p.name for p in BOOKS]


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.name)
def test_azure_steps_run_against_azure(staging: Staging, path: Path) -> None:
    # Every runbook starts from the slots after a deployment (another one's rollback swapped them).
    staging.web.hold(production="1.3.0", staging="1.2.0")
    r = run_cli("runbook", "run", path.stem, "--env", "staging", "--yes", "-o", "json",
                home=staging.home, env=staging.env)
    assert r.returncode == 0, r.stdout + r.stderr
    record = r.json()
    book = model.parse(path.read_text(), path.stem, path)
    assert [s["number"] for s in record["steps"]] == [s.number for s in book.steps if s.runs_on("azure")]
    assert record["result"] == "passed" and record["environment"] == "staging"
    assert all(s["exit_code"] == 0 for s in record["steps"])
    # The requests reached the fake ARM with the token the CLI credential handed out.
    assert staging.platform.arm.requests
    assert SECRET_VALUE not in r.stdout + r.stderr + Path(record["report"]).read_text()
