"""config.db.statement_cursor: one cursor kept per connection for the hot path's statements, and still every
statement counted by the tests and guarded by the connection's health check."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.db import statement_cursor

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # outside an atomic block, close() closes
def test_the_cursor_is_kept_until_the_connection_is_reopened():
    cursor, opened = statement_cursor(), connection.connection
    assert statement_cursor() is cursor
    connection.close()  # SQLite's in-memory test database stays open
    fresh = statement_cursor()
    assert (fresh is cursor) is (connection.connection is opened)
    assert connection.vendor == "sqlite" or fresh is not cursor
    fresh.execute("SELECT 1")
    assert fresh.fetchone()[0] == 1


def test_statements_on_it_are_counted_while_queries_are_logged():
    statement_cursor().execute("SELECT 1")  # kept before the logging starts
    with CaptureQueriesContext(connection) as captured:
        statement_cursor().execute("SELECT 2")
    assert [query["sql"] for query in captured.captured_queries] == ["SELECT 2"]


@pytest.mark.django_db(transaction=True)
def test_a_connection_that_died_since_the_last_request_is_replaced():
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    connection.health_check_enabled = True  # CONN_HEALTH_CHECKS, as config.settings sets it on PostgreSQL
    try:
        statement_cursor().execute("SELECT 1")
        backend = connection.connection.info.backend_pid
        with connection._nodb_cursor() as other:
            other.execute("SELECT pg_terminate_backend(%s)", [backend])
        connection.close_if_unusable_or_obsolete()  # what Django does when the next request starts
        cursor = statement_cursor()
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != backend
    finally:
        connection.health_check_enabled = False
