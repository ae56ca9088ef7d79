"""Redis stopped while the API serves (README "Redis", "When a service fails"): a real server process on the test
database (PostgreSQL) whose cache, throttles and Celery broker are a redis-server of the test's own, stopped under
it and started again.

While Redis is down: catalog reads fall through to the database (and show a write made meanwhile), a checkout
commits and answers 201 (its tasks are counted unsent, not turned into an error after COMMIT), an Idempotency-Key
replays it, the throttles let requests through (fail open, counted), a login answers 503 SERVICE_UNAVAILABLE with
Retry-After (the lockout cannot be read: fail closed) and /api/health says degraded. Once Redis is back, all of it
recovers without a restart.
"""

import time
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import InventoryMovement, Variant
from orders.models import Order
from tests.envelopes import data, error
from tests.integration import faults, sqlite_shop
from tests.integration.test_sqlite_checkout import ADDRESS

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

OWNER = {"email": "owner@example.com", "password": "Owner-password-42"}  # tests/integration/sqlite_shop.py
TOKEN = "fault-metrics-token"
ANON_RATE = 20  # a minute, per client address
ANSWER_SECONDS = 30
DEGRADED_WITHIN_SECONDS = 10  # an answer while Redis is down, whatever it is, comes within this


class Client:
    """Requests from one client address (the server trusts one proxy: X-Forwarded-For names the client)."""

    def __init__(self, url: str, address: str | None = None, token: str | None = None):
        self.url = url
        self.session = requests.Session()
        self.session.headers["X-Forwarded-For"] = address or f"10.{uuid.uuid4().int % 200}.{uuid.uuid4().int % 250}.7"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.timings: list[float] = []

    def call(self, method: str, tail: str, **kwargs) -> requests.Response:
        started = time.monotonic()
        answer = self.session.request(method, f"{self.url}{tail}", timeout=ANSWER_SECONDS, **kwargs)
        self.timings.append(time.monotonic() - started)
        return answer


def _metric(url: str, name: str, **labels) -> float:
    text = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=ANSWER_SECONDS).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def _checkout(client: Client, store: str, seed: dict, variant: int, quantity: int, key: str):
    cart = data(client.call("POST", f"/api/v1/stores/{store}/carts", json={}))["id"]
    added = client.call("POST", f"/api/v1/stores/{store}/carts/{cart}/items",
                        json={"variant": variant, "quantity": quantity})
    assert added.status_code in (200, 201), added.text
    body = {"cart": cart, "email": "buyer@example.com", "shipping_address": ADDRESS,
            "shipping_method": seed["shipping_method"], "payment_method": "cod"}
    return cart, body, client.call("POST", f"/api/v1/stores/{store}/checkout", json=body,
                                   headers={"Idempotency-Key": key})


@pytest.fixture
def shop(transactional_db, own_redis, servers):
    faults.needs_postgres()
    seed = sqlite_shop.seed()  # committed: the server reads the test database
    environment = {
        **faults.os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": faults.database_url(), "REDIS_URL": own_redis.url(), "CELERY_BROKER_URL": own_redis.url(),
        "CELERY_EAGER": "0",  # tasks go to the broker (no worker takes them here)
        "CACHE_KEY_PREFIX": "fault", "NUM_PROXIES": "1", "METRICS_TOKEN": TOKEN,
        "THROTTLE_RATES": f"anon={ANON_RATE}/min",
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)  # one process: its own counts are the scrape
    return own_redis, servers.start(environment), seed


def test_redis_stopped_while_serving(shop, servers):
    redis_server, url, seed = shop
    store, plenty = seed["store"], seed["plenty"]
    anonymous = Client(url)
    owner = Client(url, token=data(Client(url).call("POST", "/api/v1/auth/login", json=OWNER))["access"])
    products = f"/api/v1/stores/{store}/products?limit=100"

    # given Redis up: health ok, catalog pages cached, the anonymous rate enforced
    assert data(anonymous.call("GET", "/api/health"))["status"] == "ok"
    listed = anonymous.call("GET", products)
    assert (listed.status_code, listed.headers.get("X-Cache")) == (200, "miss")
    assert anonymous.call("GET", products).headers.get("X-Cache") == "hit"
    before = {product["id"]: product for product in data(listed)}
    greedy = Client(url, address="10.250.0.1")
    assert [greedy.call("GET", products).status_code for _ in range(ANON_RATE + 1)][-1] == 429

    # when Redis stops
    redis_server.stop()
    down = Client(url)

    # then /api/health answers 200 degraded, naming the cache and the broker
    health = down.call("GET", "/api/health")
    assert health.status_code == 200, health.text
    assert data(health) == {"status": "degraded", "checks": {
        "database": "ok", "cache": "error", "broker": "error", "storage": "ok"}}

    # and catalog reads fall through to the database: the same products, no cache hit, a write made meanwhile shown
    fallen = down.call("GET", products)
    assert fallen.status_code == 200, fallen.text
    assert fallen.headers.get("X-Cache") is None
    assert {product["id"] for product in data(fallen)} == set(before)
    product = next(p for p in before.values() if p["variants"][0]["id"] == plenty)
    edited = owner.call("PATCH", f"/api/v1/stores/{store}/products/{product['id']}/variants/{plenty}",
                        json={"price": "12.50"})
    assert edited.status_code == 200, edited.text
    assert data(down.call("GET", f"/api/v1/stores/{store}/products/{product['id']}"))["price"] == "12.50"

    # and a checkout commits on PostgreSQL and answers 201: its tasks were not sent, counted, not an error
    key = uuid.uuid4().hex
    cart, body, placed = _checkout(down, store, seed, plenty, 3, key)
    assert placed.status_code == 201, placed.text
    checkout_seconds = down.timings[-1]
    order = data(placed)
    assert order["total"] == "41.50"  # 3 × 12.50 + 4.00 shipping: the price written while Redis was down
    replayed = down.call("POST", f"/api/v1/stores/{store}/checkout", json=body, headers={"Idempotency-Key": key})
    assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (201, "true")
    assert data(replayed)["number"] == order["number"]
    assert list(Order.objects.filter(store__slug=store).values_list("number", flat=True)) == [order["number"]]
    variant = Variant.objects.get(pk=plenty)
    assert (variant.stock_quantity, variant.reserved) == (1000, 3)
    assert list(InventoryMovement.objects.filter(variant=variant).values_list("reason", "reserved_delta")) == [
        ("reserve", 3)]
    assert _metric(url, "store_tasks_unsent_total", task="notifications.tasks.event_fanout_task") >= 1

    # and the throttles let a client past its rate (fail open), each pass counted
    other = Client(url, address="10.250.0.2")
    assert [other.call("GET", products).status_code for _ in range(ANON_RATE + 5)] == [200] * (ANON_RATE + 5)
    assert _metric(url, "store_throttle_cache_errors_total") >= 1

    # and a login is refused for now (the lockout cannot be read: fail closed), with the contract's envelope
    login = down.call("POST", "/api/v1/auth/login", json=OWNER)
    assert login.status_code == 503, login.text
    assert error(login)["code"] == "SERVICE_UNAVAILABLE" and int(login.headers["Retry-After"]) > 0
    slowest = max(down.timings + other.timings + owner.timings)
    assert slowest < DEGRADED_WITHIN_SECONDS, slowest

    # when Redis is back (empty: a restart without persistence)
    redis_server.start()

    # then everything recovers without restarting the server
    assert faults.wait_for(lambda: data(down.call("GET", "/api/health"))["status"] == "ok", timeout=20)
    assert Client(url).call("POST", "/api/v1/auth/login", json=OWNER).status_code == 200
    again = Client(url)
    assert again.call("GET", products).headers.get("X-Cache") == "miss"
    assert again.call("GET", products).headers.get("X-Cache") == "hit"
    _, _, second = _checkout(again, store, seed, plenty, 1, uuid.uuid4().hex)
    assert second.status_code == 201, second.text
    assert Variant.objects.get(pk=plenty).reserved == 4
    others = down.timings[1:] + other.timings + owner.timings
    print(f"\nRedis stopped: health {down.timings[0] * 1000:.0f} ms, checkout {checkout_seconds * 1000:.0f} ms, "
          f"slowest other answer {max(others) * 1000:.0f} ms, median {sorted(others)[len(others) // 2] * 1000:.0f} ms")


def test_redis_frozen_while_serving(shop):
    """A Redis that accepts connections and answers nothing (SIGSTOP: a hung host, a partition dropping packets)
    costs a request at most the client timeout (2 s) per Redis endpoint, and once it failed the calls fail at once
    for a few seconds (config.cache.BreakerRedis): answers slow down, none hangs, and most are quick."""
    redis_server, url, seed = shop
    store, plenty = seed["store"], seed["plenty"]
    owner = Client(url, token=data(Client(url).call("POST", "/api/v1/auth/login", json=OWNER))["access"])
    products = f"/api/v1/stores/{store}/products?limit=100"
    assert Client(url).call("GET", products).status_code == 200
    # when Redis freezes
    redis_server.freeze()
    frozen = Client(url)
    try:
        health = frozen.call("GET", "/api/health")
        listed = frozen.call("GET", products)
        _, _, placed = _checkout(frozen, store, seed, plenty, 1, uuid.uuid4().hex)
        login = frozen.call("POST", "/api/v1/auth/login", json=OWNER)
        orders = owner.call("GET", f"/api/v1/stores/{store}/orders")
    finally:
        redis_server.thaw()
    # then: the same answers as with Redis stopped
    assert (health.status_code, data(health)["status"]) == (200, "degraded")
    assert listed.status_code == 200 and placed.status_code == 201, placed.text
    assert login.status_code == 503 and orders.status_code == 200
    assert [order["number"] for order in data(orders)] == [data(placed)["number"]]
    # and within the timeouts: no answer waited long, most not at all
    timings = frozen.timings + owner.timings
    assert max(timings) < DEGRADED_WITHIN_SECONDS, timings
    assert sum(seconds < 1 for seconds in timings) >= len(timings) // 2, timings
    # and once it answers again, so does everything
    assert faults.wait_for(lambda: data(Client(url).call("GET", "/api/health"))["status"] == "ok", timeout=20)
    print(f"\nRedis frozen: health {frozen.timings[0] * 1000:.0f} ms, checkout {frozen.timings[4] * 1000:.0f} ms, "
          f"answers {', '.join(f'{seconds * 1000:.0f}' for seconds in timings)} ms")
