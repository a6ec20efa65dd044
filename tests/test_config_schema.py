"""The config file's models: did-you-mean for unknown keys, and the JSON Schema editors use."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from augeoctl import config, config_models
from augeoctl.cli import cli
from augeoctl.errors import ConfigError
from tests.conftest import REPO

AZURE = 'subscription_id = "s"\nresource_group = "r"\npostgres_server = "p"\n'


def refused(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "envs.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        config.resolve(env="dev" if "environments.dev" in text else None, config=path)
    return err.value


@pytest.mark.parametrize(("text", "wrong", "meant"), [
    (f"[environments.dev]\n{AZURE}postgres_sever = \"x\"\n", "postgres_sever", "postgres_server"),
    (f"[environments.dev]\n{AZURE}geo_loaction = \"northeurope\"\n", "geo_loaction", "geo_location"),
    ("[environments.local]\narchive_timout = 60\n", "archive_timout", "archive_timeout"),
    ("[defualts]\nenv = \"local\"\n", "defualts", "defaults"),
    ("[defaults]\noutptu = \"json\"\n", "outptu", "output"),
])
def test_an_unknown_key_names_the_key_meant_instead_of_every_key(tmp_path, text, wrong, meant) -> None:
    err = refused(tmp_path, text)
    assert wrong in err.message
    assert err.hint and f"did you mean {meant}" in err.hint
    # Not a dump of the 47 Azure keys: the close match, and where the full list is.
    assert "subscription_id" not in (err.hint or "") or meant == "subscription_id"


def test_an_unknown_key_with_no_close_match_points_to_the_schema(tmp_path) -> None:
    err = refused(tmp_path, f"[environments.dev]\n{AZURE}zzz = 1\n")
    assert "zzz" in err.message and "did you mean" not in (err.hint or "")
    assert "augeoctl config schema" in (err.hint or "")


def test_strict_types_and_allowed_values(tmp_path) -> None:
    assert "retry_total must be an integer, got '5'" in refused(
        tmp_path, f"[environments.dev]\n{AZURE}retry_total = \"5\"\n").message
    assert "redis_tls must be true or false, got 1" in refused(
        tmp_path, f"[environments.dev]\n{AZURE}redis_tls = 1\n").message
    err = refused(tmp_path, f"[environments.dev]\n{AZURE}postgres_auth = \"token\"\n")
    assert 'postgres_auth is "token"' in err.message and '"entra" or "password"' in (err.hint or "")
    # A number where a float is wanted may be written as an integer.
    path = tmp_path / "ok.toml"
    path.write_text(f"[environments.dev]\n{AZURE}poll_interval = 2\n")
    assert config.resolve(env="dev", config=path).env.get("poll_interval") == 2


def test_the_schema_command_prints_the_committed_schema() -> None:
    r = CliRunner().invoke(cli, ["config", "schema"])
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(printed)
    committed = json.loads((REPO / "docs" / "augeoctl-config.schema.json").read_text())
    assert printed == committed, "regenerate: augeoctl config schema > docs/augeoctl-config.schema.json"
    azure = printed["$defs"]["AzureTable"]
    assert set(azure["properties"]) == set(config_models.AzureTable.model_fields)
    assert set(azure["required"]) == {"subscription_id", "resource_group", "postgres_server"}
    assert azure["additionalProperties"] is False
    local = printed["$defs"]["LocalTable"]["properties"]
    assert local["archive_timeout"] == {**local["archive_timeout"], "minimum": 1, "maximum": 86400, "type": "integer"}
    assert local["wal_streaming"]["enum"] == ["off", "async", "sync"]


@pytest.mark.parametrize(("text", "valid"), [
    (f"[environments.staging]\n{AZURE}webapp_name = \"app-augeo-staging-api\"\n", True),
    ("[environments.local]\narchive_timeout = 60\n[defaults]\nenv = \"local\"\noutput = \"json\"\n", True),
    (f"[environments.staging]\n{AZURE}postgres_sever = \"x\"\n", False),
    ("[environments.local]\narchive_timeout = 0\n", False),
    (f"[environments.staging]\n{AZURE}webapp_name = \"-bad-\"\n", False),
    ("[defaults]\noutput = \"yaml\"\n", False),
])
def test_the_schema_agrees_with_the_loader(tmp_path, text, valid) -> None:
    """What an editor flags with the schema is what augeoctl refuses, and the other way round."""
    schema = config_models.json_schema()
    schema_ok = jsonschema.Draft202012Validator(schema).is_valid(tomllib.loads(text))
    path = tmp_path / "envs.toml"
    path.write_text(text)
    name = next(iter(tomllib.loads(text).get("environments", {"local": {}})))
    try:
        config.resolve(env=name, config=path)
        loader_ok = True
    except ConfigError:
        loader_ok = False
    assert schema_ok is valid and loader_ok is valid


def test_the_slo_schema_is_committed_and_agrees_with_the_loader(tmp_path) -> None:
    from augeoctl.loadtest.gates import load_profiles

    r = CliRunner().invoke(cli, ["config", "schema", "--slo"])
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed == json.loads((REPO / "docs" / "augeoctl-slo.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(printed)
    shipped = REPO / "loadtests" / "slo.toml"
    assert validator.is_valid(tomllib.loads(shipped.read_text())) and load_profiles(shipped)
    bad = tmp_path / "slo.toml"
    for text in ('[profiles.x]\nusers = 1\nspawn_rate = 1\nrun_time = "5s"\n[profiles.x.gates]\np42_ms = 1\n',
                 '[profiles.x]\nusers = 0\nspawn_rate = 1\nrun_time = "5s"\n[profiles.x.gates]\n',
                 '[profiles.x]\nusers = 1\nspawn_rate = 0\nrun_time = "5s"\n[profiles.x.gates]\n'):
        bad.write_text(text)
        assert not validator.is_valid(tomllib.loads(text))
        with pytest.raises(ConfigError):
            load_profiles(bad)
