"""AUGEO_* variables are resolved and validated once, by the config layer."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from augeoctl import config
from augeoctl.cli import cli
from augeoctl.errors import ConfigError


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("AUGEO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))


def test_variables_set_the_local_sandbox_settings_over_the_file(monkeypatch, tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[environments.local]\narchive_timeout = 90\nwal_streaming = "async"\n')
    assert config.resolve(config=cfg).env.settings == {"archive_timeout": 90, "wal_streaming": "async"}
    monkeypatch.setenv("AUGEO_ARCHIVE_TIMEOUT", "30")
    monkeypatch.setenv("AUGEO_SERVICE_USER", "augeo-svc")
    monkeypatch.setenv("AUGEO_PG_BINDIR", "/opt/pg/bin")
    monkeypatch.setenv("AUGEO_REDIS_SERVER", "/opt/redis/bin/redis-server")
    monkeypatch.setenv("AUGEO_SERVICE_WORKERS", "2")
    monkeypatch.setenv("AUGEO_REDIS_EXPORT_SAS", "https://x.blob/c?sig=s")  # an Azure setting: not local
    s = config.resolve(config=cfg).env.settings
    assert s == {"archive_timeout": 30, "wal_streaming": "async", "service_user": "augeo-svc",
                 "pg_bindir": "/opt/pg/bin", "redis_server": "/opt/redis/bin/redis-server", "service_workers": 2}


@pytest.mark.parametrize(("name", "value", "says"), [
    ("AUGEO_ARCHIVE_TIMEOUT", "soon", "AUGEO_ARCHIVE_TIMEOUT='soon' is not valid"),
    ("AUGEO_ARCHIVE_TIMEOUT", "0", "archive_timeout must be 1..86400"),
    ("AUGEO_WAL_STREAMING", "always", 'wal_streaming is "always"'),
    ("AUGEO_SERVICE_WORKERS", "0", "service_workers must be 1..16"),
    ("AUGEO_VERBOSE", "loud", "AUGEO_VERBOSE='loud' is not a number"),
])
def test_a_bad_variable_is_a_usage_error_that_names_it(monkeypatch, name, value, says) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(".", r"\.")):
        config.resolve()
    r = CliRunner().invoke(cli, ["sandbox", "status"], catch_exceptions=False)
    assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output


def test_a_bad_value_in_the_file_is_refused_by_key(tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[environments.local]\nwal_streaming = "fast"\n')
    with pytest.raises(ConfigError, match=r"environments\.local\.wal_streaming"):
        config.resolve(config=cfg)
