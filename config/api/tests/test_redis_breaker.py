"""config.cache.BreakerRedis: once a Redis failed, its clients fail at once for BREAKER_SECONDS instead of each
waiting out the socket timeout again (a frozen Redis under a serving API: tests/integration/test_fault_redis.py)."""

import socket
import time

import pytest
import redis

from config import cache as breaker
from config.cache import BreakerRedis, RedisSkipped


def _client(port: int) -> BreakerRedis:
    # as the cache and the publisher make theirs: through a pool (a client made without one retries a refused
    # connection ten times, with backoff)
    return BreakerRedis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)


@pytest.fixture
def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_after_a_failure_calls_fail_at_once_until_the_window_ends(dead_port, monkeypatch):
    monkeypatch.setattr(breaker, "BREAKER_SECONDS", 0.3)
    client = _client(dead_port)
    connects = []
    real_connect = client.connection_pool.get_connection
    monkeypatch.setattr(client.connection_pool, "get_connection",
                        lambda *args, **kwargs: connects.append(1) or real_connect(*args, **kwargs))
    # when: Redis refuses the first call
    with pytest.raises(redis.ConnectionError) as first:
        client.get("key")
    assert not isinstance(first.value, RedisSkipped) and connects
    tried = len(connects)
    # then: the next calls, plain or pipelined, fail at once without connecting
    with pytest.raises(RedisSkipped):
        client.set("key", 1)
    pipe = client.pipeline(transaction=False)
    pipe.incrby("key", 1)
    with pytest.raises(RedisSkipped):
        pipe.execute()
    assert len(connects) == tried
    # and once the window has ended, Redis is asked again
    time.sleep(0.35)
    with pytest.raises(redis.ConnectionError) as again:
        client.get("key")
    assert not isinstance(again.value, RedisSkipped) and len(connects) > tried


def test_each_redis_has_its_own_window(dead_port):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        other_port = probe.getsockname()[1]
    failing, other = _client(dead_port), _client(other_port)
    with pytest.raises(redis.ConnectionError):
        failing.ping()
    with pytest.raises(RedisSkipped):
        failing.ping()
    with pytest.raises(redis.ConnectionError) as other_failure:  # asked, not skipped: another pool
        other.ping()
    assert not isinstance(other_failure.value, RedisSkipped)
