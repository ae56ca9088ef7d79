"""The default cache's own Redis client, for the few places that need Redis' atomic commands (a pipelined
throttle window, the catalog's stock-map hand-over): ``None`` when the cache is not django-redis (the database
cache of the embedded default, local memory in tests), and those places keep their plain cache-API path."""

from django.core.cache import caches


def redis_client():
    backend = caches["default"]  # the backend itself: ``cache`` is a proxy to it
    if type(backend).__module__.startswith("django_redis"):
        return backend.client.get_client(write=True)
    return None
