"""common.postgresql: the health check of a reused connection makes no round trip while the
connection is quiet, and still replaces a connection the server has ended."""

import select
import time
from unittest import mock

import psycopg
import pytest
from django.db import close_old_connections, connection, connections

from common.postgresql.base import DatabaseWrapper, connection_quiet

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _request_starts():
    """What Django does when a request (or a Celery task) starts: the next query checks the
    connection first."""
    close_old_connections()
    assert connection.health_check_done is False


def test_postgres_connections_use_the_project_backend():
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.health_check_enabled


def test_a_quiet_connection_is_reused_without_asking_the_server():
    pid = _backend_pid()
    _request_starts()
    with mock.patch.object(DatabaseWrapper, "is_usable", autospec=True) as is_usable:
        assert _backend_pid() == pid
    is_usable.assert_not_called()
    assert connection.health_check_done is True


def test_a_connection_the_server_ended_is_replaced_before_the_query():
    pid = _backend_pid()
    with psycopg.connect(_dsn(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    _wait_readable(connection.connection)
    assert connection_quiet(connection.connection) is False
    _request_starts()
    assert _backend_pid() != pid  # no error: the check saw it and connected again


def test_a_busy_socket_falls_back_to_asking_the_server():
    _backend_pid()
    _request_starts()
    with (
        mock.patch("common.postgresql.base.connection_quiet", return_value=False),
        mock.patch.object(DatabaseWrapper, "is_usable", autospec=True, return_value=True) as used,
    ):
        _backend_pid()
    used.assert_called_once()


def test_without_a_socket_to_look_at_it_is_not_called_quiet():
    closed = psycopg.connect(_dsn())
    closed.close()
    assert connection_quiet(closed) is False
    with psycopg.connect(_dsn()) as busy:
        busy.execute("SELECT 1")  # a transaction is open: not idle
        assert connection_quiet(busy) is False
        busy.rollback()
        assert connection_quiet(busy) is True


def _dsn() -> str:
    settings = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        **({"password": settings["PASSWORD"]} if settings["PASSWORD"] else {}),
    )


def _wait_readable(raw, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([raw.fileno()], [], [], 0.05)[0]:
            return
    pytest.fail("the ended session's socket never became readable")
