"""Without REDIS_URL the cache is Django's database cache, whose table `migrate` creates (config.api.apps)."""

import os
import subprocess
import sys

from django.conf import settings
from django.db import connection

from config.api.apps import cache_table_create


def test_without_redis_the_default_cache_is_the_database_cache():
    environment = {**os.environ, "REDIS_URL": "", "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    printed = subprocess.run([sys.executable, "-c", "from config import settings; print(settings.CACHES)"],
                             cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, check=True)
    assert "django.core.cache.backends.db.DatabaseCache" in printed.stdout
    assert "'LOCATION': 'cache_entries'" in printed.stdout


def test_the_cache_table_is_there_and_shared_through_the_database(database_cache):
    assert "cache_entries" in connection.introspection.table_names()
    database_cache.set("shared", {"seen": 1}, 60)
    with connection.cursor() as cursor:  # another process reads the same row
        cursor.execute("SELECT COUNT(*) FROM cache_entries WHERE cache_key LIKE %s", ["%shared"])
        assert cursor.fetchone()[0] == 1
    assert database_cache.get("shared") == {"seen": 1}
    cache_table_create(using="default")  # every migrate runs it again: nothing to do
