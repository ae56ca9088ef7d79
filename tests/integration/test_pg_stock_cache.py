"""Stock and the page cache across server processes on PostgreSQL and Redis: two real gunicorn processes on the
test database and one Redis key space; the scenario is tests/integration/stock_scenario.py."""

import os
import uuid

import pytest
from django.conf import settings
from django.db import connection

from tests.integration import sqlite_shop, stock_scenario
from tests.integration import test_sqlite_checkout as checkout
from tests.integration.conftest import _database_url, _redis_reachable
from tests.integration.servers import processes_stop

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def shop(transactional_db, tmp_path):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL: the servers share Redis as deployed")
    problem = _redis_reachable(settings.REDIS_URL)
    if problem:
        pytest.skip(problem)
    assert connection.vendor == "postgresql"
    seed = sqlite_shop.seed()  # committed: the servers read the test database
    environment = {
        **os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL, "CELERY_EAGER": "1",
        # one key prefix for both servers (the test settings' default is per process), none of this process's
        "CACHE_KEY_PREFIX": f"stock-{uuid.uuid4().hex[:8]}",
        # the test settings with throttles off and the cache as deployed (Redis, the micro-cache on)
        "DJANGO_SETTINGS_MODULE": "tests.integration.sqlite_settings", "PYTHONUNBUFFERED": "1",
    }
    servers = []
    try:
        for index in range(checkout.SERVERS):
            servers.append(checkout.serve(environment, tmp_path / f"server{index}.log"))
        yield checkout.Shop(None, [url for _, url in servers], seed)
    finally:
        processes_stop([process for process, _ in servers])


def test_the_last_unit_bought_through_one_server_is_out_of_stock_on_the_other(shop):
    stock_scenario.the_last_unit_bought_through_one_server_is_out_of_stock_on_the_other(shop)
