"""Driver errors become the exception tree: a refused connection is exit 3, not a bug."""

from __future__ import annotations

import socket

import psycopg
import pytest
import redis

from augeoctl.drivers import translate, translated
from augeoctl.errors import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    AugeoError,
    DependencyError,
    OperationFailed,
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_postgresql_connection_is_unreachable() -> None:
    with pytest.raises(DependencyError) as info, translated("restore"):
        psycopg.connect(f"postgresql://augeo@127.0.0.1:{closed_port()}/augeo", connect_timeout=5)
    assert info.value.exit_code == EXIT_UNREACHABLE
    assert info.value.message.startswith("restore: cannot reach PostgreSQL")


def test_a_refused_redis_connection_is_unreachable() -> None:
    with pytest.raises(DependencyError) as info, translated():
        redis.Redis(port=closed_port(), socket_connect_timeout=5).ping()
    assert "cannot reach Redis" in info.value.message


def test_a_server_side_error_is_a_failed_operation_and_others_pass_through() -> None:
    mapped = translate(psycopg.errors.UndefinedTable('relation "app.x" does not exist'))
    assert isinstance(mapped, OperationFailed) and mapped.exit_code == EXIT_FAILED
    assert isinstance(translate(redis.exceptions.ResponseError("WRONGTYPE")), OperationFailed)
    assert translate(ValueError("a bug")) is None
    with pytest.raises(ValueError), translated():
        raise ValueError("a bug stays a bug")
    with pytest.raises(AugeoError, match="kept"), translated():
        raise AugeoError("kept")


def test_the_cli_edge_reports_an_escaped_driver_error_with_its_code_not_as_a_bug() -> None:
    import click
    from click.testing import CliRunner

    from augeoctl.cli.common import AugeoGroup

    @click.group(cls=AugeoGroup)
    def tool() -> None:
        pass

    @tool.command()
    def connect() -> None:
        psycopg.connect(f"postgresql://augeo@127.0.0.1:{closed_port()}/augeo", connect_timeout=5)

    r = CliRunner().invoke(tool, ["connect"], catch_exceptions=False)
    assert r.exit_code == EXIT_UNREACHABLE, r.output
    assert "cannot reach PostgreSQL" in r.output and "internal error" not in r.output
