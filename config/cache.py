"""The default cache's own Redis client, for the few places that need Redis' atomic commands (a pipelined
throttle window, the catalog's stock-map hand-over): ``None`` when the cache is not django-redis (the database
cache of the embedded default, local memory in tests), and those places keep their plain cache-API path."""

import time

import redis
from django.core.cache import caches
from redis.client import Pipeline

# After Redis failed to answer (refused, reset, or silent past the 2 s socket timeout), the clients of that Redis (one
# connection pool: the cache's, the lean task publisher's) fail at once for this long instead of each waiting out
# the timeout again; the first call after it tries Redis again. A frozen Redis then costs one request in this many
# seconds 2 s, not every call of every request (a checkout made some ten).
BREAKER_SECONDS = 5.0


class RedisSkipped(redis.ConnectionError):
    """Not sent: this Redis failed less than BREAKER_SECONDS ago."""


def _breaker_check(pool) -> None:
    if getattr(pool, "failed_until", 0.0) > time.monotonic():
        raise RedisSkipped("Redis failed within the last few seconds; not asked again yet")


def _breaker_trip(pool) -> None:
    pool.failed_until = time.monotonic() + BREAKER_SECONDS


class BreakerPipeline(Pipeline):
    def execute(self, raise_on_error: bool = True):
        _breaker_check(self.connection_pool)
        try:
            return super().execute(raise_on_error)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if not isinstance(exc, RedisSkipped):
                _breaker_trip(self.connection_pool)
            raise


class BreakerRedis(redis.Redis):
    """A Redis client that stops asking a Redis that just failed (BREAKER_SECONDS). The cache's client class
    (settings CACHES OPTIONS REDIS_CLIENT_CLASS), so the cache API, the throttles' pipelines and the stock map's
    scripts all go through it; config.celery's lean publisher too."""

    def execute_command(self, *args, **options):
        _breaker_check(self.connection_pool)
        try:
            return super().execute_command(*args, **options)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if not isinstance(exc, RedisSkipped):
                _breaker_trip(self.connection_pool)
            raise

    def pipeline(self, transaction: bool = True, shard_hint=None) -> BreakerPipeline:
        return BreakerPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def redis_client():
    backend = caches["default"]  # the backend itself: ``cache`` is a proxy to it
    if type(backend).__module__.startswith("django_redis"):
        return backend.client.get_client(write=True)
    return None
