"""With DEBUG off, a cache that is not shared between processes is warned about: by `manage.py check` (and
migrate, runserver) and in the log when a server process loads the app."""

import logging
from io import StringIO

import pytest
from django.core.management import call_command

from config.api.checks import cache_shared_check, startup_warnings_log

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
DATABASE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"}}
REDIS = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"}}


@pytest.mark.parametrize("caches", [LOCMEM, DUMMY], ids=["locmem", "dummy"])
def test_a_per_process_cache_without_debug_is_warned_about(settings, caches):
    settings.DEBUG, settings.CACHES = False, caches
    [warning] = cache_shared_check()
    assert warning.id == "api.W001" and "not shared between processes" in warning.msg
    out = StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "api.W001" in out.getvalue()


@pytest.mark.parametrize("debug, caches", [(True, LOCMEM), (False, DATABASE), (False, REDIS)],
                         ids=["debug", "database", "redis"])
def test_a_shared_cache_or_debug_is_not_warned_about(settings, debug, caches):
    settings.DEBUG, settings.CACHES = debug, caches
    assert cache_shared_check() == []


def test_a_server_process_logs_the_warning_at_startup(settings, caplog):
    settings.DEBUG, settings.CACHES = False, LOCMEM
    with caplog.at_level(logging.WARNING, logger="config.startup"):
        startup_warnings_log()
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "api.W001" in caplog.records[0].getMessage()
