"""The API's App Service slots through the real azure-mgmt-web client against the fake ARM.

The fake keeps each slot's app settings and swaps the code and the settings that are not
slot settings; one loopback HTTP server per slot serves ``/health`` with the release the
slot holds, so a test sees the version served follow the swap.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from augeoctl import azure, config
from augeoctl.backends.azure_web import ENTRA_SCOPE, AzureReleaseBackend, azure_pg_dsn
from augeoctl.errors import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, AugeoError
from augeoctl.platform import platform_for
from augeoctl.progress import NullReporter
from tests.fakearm.server import TOKEN, FakeArm, TestCredential
from tests.fakearm.web import SECRET_SETTING, SECRET_VALUE, WebApps

WEBAPP = "app-augeo-staging-api"


@pytest.fixture()
def fake(tmp_path: Path):
    arm = FakeArm(tmp_path).start()
    web = WebApps(arm, WEBAPP)
    web.serve_health()
    yield web
    web.stop()
    arm.stop()


def write_config(tmp_path: Path, fake: WebApps, *, urls: bool = True, **extra: Any) -> Path:
    values: dict[str, Any] = {
        "subscription_id": fake.arm.subscription, "resource_group": fake.rg,
        "postgres_server": "psql-augeo-staging", "webapp_name": fake.name,
        "arm_endpoint": fake.arm.url, "ca_bundle": str(fake.arm.ca), "retry_total": 2, "poll_interval": 0.02,
    }
    if urls:
        values.update(production_url=fake.urls["production"], staging_url=fake.urls["staging"])
    values.update(extra)
    path = tmp_path / "environments.toml"
    path.write_text("[environments.staging]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return path


def release(cfg: Path) -> AzureReleaseBackend:
    backend = platform_for(config.resolve(config=cfg, env="staging")).release()
    assert isinstance(backend, AzureReleaseBackend)
    return backend


def served(url: str | None, path: str = "/health") -> tuple[int, dict[str, Any]]:
    assert url is not None
    try:
        with urllib.request.urlopen(url + path, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def changes(fake: WebApps) -> list:
    """Requests that change something (listing app settings is a POST that reads)."""
    return [r for r in fake.arm.requests
            if r.method in ("PUT", "PATCH", "DELETE") or (r.method == "POST" and not r.path.endswith("/list"))]


def test_slot_reports_the_release_setting_and_the_default_host_name(tmp_path, fake, credential) -> None:
    backend = release(write_config(tmp_path, fake, urls=False))
    prod, staging = backend.slot("production"), backend.slot("staging")
    assert (prod.version, staging.version) == ("1.3.0", "1.2.0")
    assert prod.url == f"https://{WEBAPP}.azurewebsites.net"
    assert staging.url == f"https://{WEBAPP}-staging.azurewebsites.net"
    assert staging.extra == {"webapp": WEBAPP, "hostname": f"{WEBAPP}-staging.azurewebsites.net", "state": "Running"}
    assert fake.arm.calls("GET", rf"/sites/{WEBAPP}/slots/staging$")
    assert credential.scopes[0] == (fake.arm.url + "/.default",)
    # Configured URLs win over the host names (probes through a private endpoint, a proxy).
    configured = release(write_config(tmp_path, fake)).slot("staging")
    assert configured.url == fake.urls["staging"]
    with pytest.raises(AugeoError) as bad:
        backend.slot("canary")
    assert bad.value.exit_code == EXIT_USAGE
    assert not changes(fake)


def test_deploy_sets_the_release_keeps_the_other_settings_and_restarts_staging(tmp_path, fake, credential) -> None:
    reporter = NullReporter()
    before = dict(fake.settings["staging"])
    info = release(write_config(tmp_path, fake)).deploy("1.4.0", "staging", reporter)
    assert info.slot == "staging" and info.version == "1.4.0" and info.url == fake.urls["staging"]
    assert fake.settings["staging"] == {**before, "AUGEO_RELEASE": "1.4.0"}
    assert fake.settings["production"]["AUGEO_RELEASE"] == "1.3.0"
    assert fake.restarts == {"production": 0, "staging": 1}
    (put,) = [r for r in fake.arm.requests if r.method == "PUT"]
    assert put.path.endswith(f"/sites/{WEBAPP}/slots/staging/config/appsettings")
    # The update came before the restart, so the restarted slot reads the new setting.
    order = [r.path.rsplit("/", 1)[1] for r in changes(fake)]
    assert order == ["appsettings", "restart"]
    assert served(info.url) == (200, {"status": "ok", "version": "1.4.0"})
    assert reporter.messages == ["step: set AUGEO_RELEASE=1.4.0 on the staging slot", "step: restart the staging slot"]


@pytest.mark.parametrize(("artifact", "slot", "words"), [
    ("1.4.0", "production", "never into production"),
    ("latest", "staging", "not a release version"),
    ("1.4.0", "blue", "not a slot"),
])
def test_deploy_refuses_bad_input_before_changing_anything(tmp_path, fake, credential, artifact, slot, words) -> None:
    with pytest.raises(AugeoError) as refused:
        release(write_config(tmp_path, fake)).deploy(artifact, slot, NullReporter())
    assert refused.value.exit_code == EXIT_USAGE and words in str(refused.value)
    assert not changes(fake)


def test_a_sticky_release_setting_is_refused(tmp_path, fake, credential) -> None:
    fake.sticky.append("AUGEO_RELEASE")
    backend = release(write_config(tmp_path, fake))
    for act in (lambda: backend.deploy("1.4.0", "staging", NullReporter()), lambda: backend.swap(NullReporter())):
        with pytest.raises(AugeoError) as refused:
            act()
        assert refused.value.exit_code == EXIT_USAGE and "slot setting" in str(refused.value)
        assert "sticky_settings" in (refused.value.hint or "")
    assert not changes(fake)


def test_swap_exchanges_the_releases_and_the_served_versions_follow(tmp_path, fake, credential) -> None:
    backend = release(write_config(tmp_path, fake))
    backend.deploy("1.4.0", "staging", NullReporter())
    reporter = NullReporter()
    backend.swap(reporter)
    assert (backend.slot("production").version, backend.slot("staging").version) == ("1.4.0", "1.3.0")
    assert served(fake.urls["production"])[1]["version"] == "1.4.0"
    assert served(fake.urls["staging"])[1]["version"] == "1.3.0"
    # Slot settings stayed with their slot; the secret moved with the code, unchanged.
    assert fake.settings["production"]["AUGEO_ENVIRONMENT"] == "staging"
    assert fake.settings["staging"]["AUGEO_ENVIRONMENT"] == "staging-staging-slot"
    assert fake.code == {"production": "code-1.2.0", "staging": "code-1.3.0"}
    (post,) = fake.arm.calls("POST", r"/slotsswap$")
    assert post.path.endswith(f"/sites/{WEBAPP}/slotsswap")
    assert post.body == {"targetSlot": "staging", "preserveVnet": True}
    assert post.status == 202
    # The operation was polled through InProgress until it succeeded.
    polls = fake.arm.calls("GET", r"/operations/")
    assert len(polls) >= fake.lro_polls + 1
    assert reporter.messages == ["step: swap staging with production"]
    # Swapping back is the same operation: the releases return.
    backend.swap(NullReporter())
    assert served(fake.urls["production"])[1]["version"] == "1.3.0"


def test_readiness_is_what_the_slot_serves(tmp_path, fake, credential) -> None:
    info = release(write_config(tmp_path, fake)).slot("staging")
    assert served(info.url, "/health/ready")[0] == 200
    fake.ready["staging"] = False
    assert served(info.url, "/health/ready") == (503, {"status": "not ready"})
    assert served(fake.urls["production"], "/health/ready")[0] == 200


def test_a_failed_swap_is_an_error_naming_the_operation_and_changes_nothing(tmp_path, fake, credential) -> None:
    backend = release(write_config(tmp_path, fake))
    fake.fail_next_swap = "Cannot swap slots because the staging slot did not warm up"
    with pytest.raises(AugeoError) as failed:
        backend.swap(NullReporter())
    assert failed.value.exit_code == EXIT_FAILED
    message = str(failed.value)
    assert f"swapping the staging slot with production of web app {WEBAPP}" in message
    assert "did not warm up" in message
    assert (backend.slot("production").version, backend.slot("staging").version) == ("1.3.0", "1.2.0")
    assert served(fake.urls["production"])[1]["version"] == "1.3.0"
    assert fake.code == {"production": "code-1.3.0", "staging": "code-1.2.0"}


def test_throttling_and_server_errors_are_retried(tmp_path, fake, credential) -> None:
    backend = release(write_config(tmp_path, fake))
    fake.arm.inject("GET", r"/slots/staging$", 429, times=2, retry_after=0)
    fake.arm.inject("POST", r"/slots/staging/config/appsettings/list$", 503, times=1)
    fake.arm.inject("POST", r"/slotsswap$", 500, times=1)
    assert backend.slot("staging").version == "1.2.0"
    backend.swap(NullReporter())
    assert [r.status for r in fake.arm.calls("GET", r"/slots/staging$")][:3] == [429, 429, 200]
    assert [r.status for r in fake.arm.calls("POST", r"/appsettings/list$")][:2] == [503, 200]
    assert [r.status for r in fake.arm.calls("POST", r"/slotsswap$")] == [500, 202]
    assert fake.settings["production"]["AUGEO_RELEASE"] == "1.2.0"


def test_persistent_server_errors_exit_with_the_unreachable_code(tmp_path, fake, credential) -> None:
    fake.arm.inject("GET", r"/sites/", 500, times=50)
    with pytest.raises(AugeoError) as failed:
        release(write_config(tmp_path, fake)).slot("production")
    assert failed.value.exit_code == EXIT_UNREACHABLE and "HTTP 500" in str(failed.value)


def test_refused_credentials_and_missing_roles_are_auth_errors(tmp_path, fake) -> None:
    cfg = write_config(tmp_path, fake)
    azure.set_credential_factory(lambda env: TestCredential("expired-token"))
    try:
        with pytest.raises(AugeoError) as refused:
            release(cfg).slot("staging")
    finally:
        azure.set_credential_factory(None)
    assert refused.value.exit_code == EXIT_UNREACHABLE
    assert "refused the credentials" in str(refused.value) and "HTTP 401" in str(refused.value)
    assert "az login" in (refused.value.hint or "")
    fake.arm.inject("POST", r"/slotsswap$", 403, times=1)
    azure.set_credential_factory(lambda env: TestCredential())
    try:
        with pytest.raises(AugeoError) as forbidden:
            release(cfg).swap(NullReporter())
    finally:
        azure.set_credential_factory(None)
    assert forbidden.value.exit_code == EXIT_UNREACHABLE
    assert "HTTP 403" in str(forbidden.value) and "swapping the staging slot" in str(forbidden.value)
    assert "role assignments" in (forbidden.value.hint or "")
    assert fake.settings["production"]["AUGEO_RELEASE"] == "1.3.0"


def test_no_secret_app_setting_reaches_output_or_logs(tmp_path, fake, credential, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    backend = release(write_config(tmp_path, fake, urls=False))
    reporter = NullReporter()
    shown: list[str] = []
    for info in (backend.slot("production"), backend.deploy("1.4.0", "staging", reporter)):
        shown += [repr(info), json.dumps(dataclasses.asdict(info))]
    backend.swap(reporter)
    fake.fail_next_swap = f"swap failed for {WEBAPP}"
    with pytest.raises(AugeoError) as failed:
        backend.swap(reporter)
    shown += [str(failed.value), failed.value.hint or "", *reporter.messages, caplog.text]
    # The secret was read and written back, so it passed through the tool.
    assert fake.settings["production"][SECRET_SETTING] == SECRET_VALUE
    for text in shown:
        assert SECRET_VALUE not in text and SECRET_SETTING not in text and TOKEN not in text


def test_an_environment_without_webapp_name_has_no_release_backend(tmp_path, fake, credential) -> None:
    cfg = write_config(tmp_path, fake, urls=False)
    cfg.write_text(cfg.read_text().replace(f'webapp_name = "{WEBAPP}"\n', ""))
    with pytest.raises(AugeoError) as refused:
        release(cfg)
    assert refused.value.exit_code == EXIT_USAGE and "webapp_name" in str(refused.value)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("webapp_name", "-bad-", "not an App Service app name"),
    ("webapp_name", "app_with_underscore", "not an App Service app name"),
    ("staging_url", "ftp://example.test", "not a base URL"),
    ("production_url", "https://user:pw@example.test", "not a base URL"),
    ("staging_url", "https://example.test/?x=1", "not a base URL"),
])
def test_release_settings_are_validated(tmp_path, fake, key, value, words) -> None:
    cfg = write_config(tmp_path, fake, **{key: value})
    with pytest.raises(AugeoError) as bad:
        config.resolve(config=cfg, env="staging")
    assert bad.value.exit_code == EXIT_USAGE and words in str(bad.value) and key in str(bad.value)


# -- the migrations' connection ------------------------------------------------------------


def env_of(**settings: Any) -> config.Environment:
    base = {"subscription_id": "s", "resource_group": "rg", "postgres_server": "psql-augeo-staging"}
    return config.validate_environment("staging", {**base, **settings}, "test")


def test_pg_dsn_uses_the_pipeline_identity_and_an_entra_token() -> None:
    from psycopg.conninfo import conninfo_to_dict

    cred = TestCredential("eyJ0eXAi.pay-load_part.sig+/=")
    dsn = azure_pg_dsn(env_of(migration_user="gh-augeo-staging-deploy", postgres_user="augeo-staging-dba",
                              postgres_database="augeo"), cred)
    assert cred.scopes == [(ENTRA_SCOPE,)]
    parts = conninfo_to_dict(dsn)
    assert parts == {"user": "gh-augeo-staging-deploy", "password": "eyJ0eXAi.pay-load_part.sig+/=",
                     "host": "psql-augeo-staging.postgres.database.azure.com", "port": "5432",
                     "dbname": "augeo", "sslmode": "require"}


def test_pg_dsn_host_user_and_port_from_config() -> None:
    from psycopg.conninfo import conninfo_to_dict

    dsn = azure_pg_dsn(env_of(postgres_user="ops@augeo.example", postgres_host="psql.private.example",
                              postgres_port=6432), TestCredential())
    parts = conninfo_to_dict(dsn)
    assert (parts["user"], parts["host"], parts["port"]) == ("ops@augeo.example", "psql.private.example", "6432")
    assert parts["password"] == TOKEN and parts["sslmode"] == "require"


def test_pg_dsn_needs_a_user_and_reports_a_refused_token() -> None:
    with pytest.raises(AugeoError) as missing:
        azure_pg_dsn(env_of(), TestCredential())
    assert missing.value.exit_code == EXIT_USAGE and "migration_user" in str(missing.value)

    class Refusing(TestCredential):
        def get_token(self, *scopes: str, **kwargs: Any):
            from azure.core.exceptions import ClientAuthenticationError

            raise ClientAuthenticationError("no workload identity federation configured")

    with pytest.raises(AugeoError) as refused:
        azure_pg_dsn(env_of(migration_user="gh-deploy"), Refusing())
    assert refused.value.exit_code == EXIT_UNREACHABLE and "Entra token for PostgreSQL" in str(refused.value)


def test_release_commands_on_azure_deploy_promote_and_roll_back(tmp_path, fake, credential) -> None:
    from click.testing import CliRunner

    from augeoctl.cli import cli

    cfg = write_config(tmp_path, fake)

    def run(*args: str):
        return CliRunner().invoke(cli, ["--config", str(cfg), "--env", "staging", *args, "-o", "json"],
                                  catch_exceptions=False)

    deployed = run("release", "deploy", "1.4.0", "--timeout", "30s")
    assert deployed.exit_code == 0, deployed.output
    assert json.loads(deployed.stdout)["healthy"] is True
    promoted = run("release", "promote", "--yes", "--watch", "0s")
    assert promoted.exit_code == 0, promoted.output
    p = json.loads(promoted.stdout)
    assert (p["from_version"], p["to_version"], p["verdict"]) == ("1.3.0", "1.4.0", "PASS")
    assert served(fake.urls["production"])[1]["version"] == "1.4.0"
    status = {s["slot"]: s for s in json.loads(run("release", "status").stdout)["slots"]}
    assert (status["production"]["holds"], status["staging"]["holds"]) == ("1.4.0", "1.3.0")
    assert all(s["consistent"] and s["ready"] for s in status.values())
    rolled = run("rollback", "--yes")
    assert rolled.exit_code == 0, rolled.output
    r = json.loads(rolled.stdout)
    assert (r["to_version"], r["verdict"]) == ("1.3.0", "PASS") and r["objective_seconds"] == 300
    assert served(fake.urls["production"])[1]["version"] == "1.3.0"
    fake.ready["staging"] = False  # staging (1.4.0 again) unhealthy: nothing to promote
    refused = run("release", "promote", "--yes")
    assert refused.exit_code == 2 and "not healthy" in refused.stderr
    assert SECRET_VALUE not in deployed.output + promoted.output + rolled.output + refused.output
