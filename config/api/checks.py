"""System checks of the deployment (``manage.py check``, ``migrate`` and ``runserver`` run them), also logged when a
WSGI/ASGI server (gunicorn) loads the app, which runs no checks itself (``startup_warnings_log``)."""

import logging

from django.conf import settings
from django.core import checks

logger = logging.getLogger("config.startup")

# Caches that live inside one process: with several server processes each keeps its own login lockout counters,
# throttles and catalog generations, so a lock, a limit or a publish holds in one process only.
PROCESS_LOCAL_CACHES = frozenset({
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
})


@checks.register(checks.Tags.caches)
def cache_shared_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A warning when DEBUG is off and the default cache is not shared between processes."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or backend not in PROCESS_LOCAL_CACHES:
        return []
    return [checks.Warning(
        f"The default cache ({backend.rsplit('.', 1)[-1]}) is not shared between processes: with more than one "
        "server process the login lockout, the throttles and the catalog cache count per process.",
        hint="Set REDIS_URL, or leave CACHES to its default without it: the database cache every process shares.",
        id="api.W001",
    )]


def startup_warnings_log() -> None:
    """Logs what the deployment checks warn about, once per server process (config/wsgi.py, config/asgi.py)."""
    for message in cache_shared_check():
        logger.warning("%s (%s) %s", message.msg, message.id, message.hint)
