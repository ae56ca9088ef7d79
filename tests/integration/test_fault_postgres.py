"""PostgreSQL connections dropped under load (README "When a service fails"): a real server process (gunicorn, a
few threads) on the test database, whose backends alone (found by their application_name) are terminated with
pg_terminate_backend while buyers check out; the test's own connection and everyone else's are left alone.

A request whose connection dies answers 503 SERVICE_UNAVAILABLE with Retry-After in the contract's envelope, never
a 500; its transaction is rolled back whole (one transaction per use case: the Idempotency-Key, the order, its
lines, payment, stock and movements commit together or not at all), so a retry with the same key makes the order
once.
"""

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db.models import Sum

from catalog.models import InventoryMovement, Variant
from config.api.models import IdempotencyKey
from orders.models import Order, OrderLine
from payments.models import Payment
from tests.envelopes import data, error
from tests.integration import faults, sqlite_shop
from tests.integration.test_sqlite_checkout import ADDRESS

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ANSWER_SECONDS = 30
BLOCKED = 3  # checkouts caught mid-transaction (the server runs 4 threads)
LOAD_SECONDS = 4
BUYERS = 4


@pytest.fixture
def shop(transactional_db, own_redis, servers):
    faults.needs_postgres()
    seed = sqlite_shop.seed()  # committed: the server reads the test database
    name = faults.app_name()
    environment = {
        **faults.os.environ, "PYTHONUNBUFFERED": "1", "PGAPPNAME": name,
        # the test settings with throttles off (every buyer is 127.0.0.1); the cache and broker on Redis
        "DJANGO_SETTINGS_MODULE": "tests.integration.sqlite_settings",
        "DATABASE_URL": faults.database_url(), "REDIS_URL": own_redis.url(), "CELERY_BROKER_URL": own_redis.url(),
        "CELERY_EAGER": "0",  # tasks go to the broker after COMMIT (no worker takes them here)
    }
    admin = faults.pg_connect()
    try:
        yield servers.start(environment), seed, name, admin
    finally:
        admin.close()


class Buyer:
    def __init__(self, url: str, seed: dict):
        self.url, self.seed = url, seed
        self.session = requests.Session()
        self.answers: list[requests.Response] = []

    def call(self, method: str, tail: str, **kwargs) -> requests.Response:
        answer = self.session.request(method, f"{self.url}/api/v1/stores/{self.seed['store']}/{tail}",
                                      timeout=ANSWER_SECONDS, **kwargs)
        self.answers.append(answer)
        return answer

    def until_served(self, method: str, tail: str, *, tries: int = 30, **kwargs) -> requests.Response:
        """Again while the answer is 503 (as a client honouring Retry-After would, without the wait)."""
        for _ in range(tries):
            answer = self.call(method, tail, **kwargs)
            if answer.status_code != 503:
                return answer
            time.sleep(0.05)
        return answer

    def cart(self, variant: int, quantity: int) -> str:
        cart = data(self.until_served("POST", "carts", json={}))["id"]
        added = self.until_served("POST", f"carts/{cart}/items", json={"variant": variant, "quantity": quantity})
        assert added.status_code in (200, 201), added.text
        return cart

    def checkout(self, cart: str, key: str, *, retry: bool = False, tries: int = 30) -> requests.Response:
        body = {"cart": cart, "email": "buyer@example.com", "shipping_address": ADDRESS,
                "shipping_method": self.seed["shipping_method"], "payment_method": "cod"}
        if retry:
            return self.until_served("POST", "checkout", json=body, headers={"Idempotency-Key": key}, tries=tries)
        return self.call("POST", "checkout", json=body, headers={"Idempotency-Key": key})


def _assert_unavailable(answer: requests.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert error(answer)["code"] == "SERVICE_UNAVAILABLE"
    assert int(answer.headers["Retry-After"]) > 0


def _assert_consistent(store: str) -> None:
    """Every order whole: its lines, its payment, its reservations; the variants' reserved counts are the orders'."""
    orders = Order.objects.filter(store__slug=store)
    for order in orders:
        lines = OrderLine.objects.filter(order=order).aggregate(units=Sum("quantity"))["units"]
        assert lines and lines > 0, order.number
        assert Payment.objects.filter(order=order).count() == 1, order.number
        reserved = InventoryMovement.objects.filter(order=order).aggregate(units=Sum("reserved_delta"))["units"]
        assert reserved == lines, order.number
    for variant in Variant.objects.filter(store__slug=store):
        moved = InventoryMovement.objects.filter(variant=variant).aggregate(units=Sum("reserved_delta"))["units"]
        ordered = OrderLine.objects.filter(variant=variant).aggregate(units=Sum("quantity"))["units"]
        assert variant.reserved == (moved or 0) == (ordered or 0), variant.sku
    assert not IdempotencyKey.objects.filter(response_status__isnull=True).exists()


def test_checkouts_whose_connection_is_terminated_answer_503_and_write_nothing(shop):
    url, seed, name, admin = shop
    buyer = Buyer(url, seed)
    carts = [buyer.cart(seed["plenty"], 2) for _ in range(BLOCKED)]
    keys = [uuid.uuid4().hex for _ in carts]
    # given: the variant's row locked by the test, so checkouts stop mid-transaction (the key claimed, the order
    # written or on its way) waiting for it
    locker = faults.pg_connect()
    locker.autocommit = False
    locker.execute(f"SELECT id FROM {Variant._meta.db_table} WHERE id = %s FOR UPDATE", [seed["plenty"]])
    with ThreadPoolExecutor(BLOCKED) as pool:
        futures = [pool.submit(Buyer(url, seed).checkout, cart, key) for cart, key in zip(carts, keys, strict=True)]
        waiting = faults.wait_for(
            lambda: (found := faults.pg_backends(admin, name, waiting_on_lock=True)) and len(found) == BLOCKED
            and found, timeout=20)
        assert waiting, "the checkouts did not reach the locked row"
        # when: their connections are terminated, then the lock released
        assert faults.pg_terminate(admin, waiting) == BLOCKED
        locker.rollback()
        answers = [future.result() for future in futures]
    locker.close()
    # then: each answered 503 with Retry-After, and nothing of theirs was written
    for answer in answers:
        _assert_unavailable(answer)
    assert not Order.objects.filter(store__slug=seed["store"]).exists()
    assert not IdempotencyKey.objects.exists()
    assert Variant.objects.get(pk=seed["plenty"]).reserved == 0
    assert not InventoryMovement.objects.exists()
    # and the retries with the same keys make each order once
    numbers = [data(buyer.checkout(cart, key, retry=True))["number"] for cart, key in zip(carts, keys, strict=True)]
    replays = [buyer.checkout(cart, key) for cart, key in zip(carts, keys, strict=True)]
    assert [data(answer)["number"] for answer in replays] == numbers
    assert Order.objects.filter(store__slug=seed["store"]).count() == BLOCKED
    assert Variant.objects.get(pk=seed["plenty"]).reserved == 2 * BLOCKED
    _assert_consistent(seed["store"])


def test_connections_terminated_at_random_under_load_answer_503_never_500(shop):
    url, seed, name, admin = shop
    stop = threading.Event()
    terminated = []

    def terminate() -> None:  # one of the server's backends in the middle of something, every 50-250 ms
        chance = random.Random(7)
        while not stop.wait(chance.uniform(0.05, 0.25)):
            busy = faults.pg_backends(admin, name, busy=True)
            if busy and faults.pg_terminate(admin, [chance.choice(busy)]):
                terminated.append(busy)

    def shop_for(buyer: Buyer) -> list[tuple[str, str, requests.Response]]:
        placed = []
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline:
            buyer.call("GET", "products?limit=20")
            cart = buyer.cart(seed["plenty"], 1)
            key = uuid.uuid4().hex
            placed.append((cart, key, buyer.checkout(cart, key, retry=True, tries=3)))
        return placed

    buyers = [Buyer(url, seed) for _ in range(BUYERS)]
    killer = threading.Thread(target=terminate, daemon=True)
    killer.start()
    try:
        with ThreadPoolExecutor(BUYERS) as pool:
            placed = [item for result in pool.map(shop_for, buyers) for item in result]
    finally:
        stop.set()
        killer.join(timeout=10)
    answers = [answer for buyer in buyers for answer in buyer.answers]
    statuses = sorted({answer.status_code for answer in answers})
    # then: no answer but a success or a 503 with Retry-After; some were 503 (the fault did happen)
    assert set(statuses) <= {200, 201, 503}, statuses
    unavailable = [answer for answer in answers if answer.status_code == 503]
    for answer in unavailable:
        _assert_unavailable(answer)
    assert terminated and unavailable, (len(terminated), statuses)
    # and every checkout, retried with its key once the fault is over, made exactly one order; every order is whole
    buyer = Buyer(url, seed)
    final = [answer if answer.status_code == 201 else buyer.checkout(cart, key, retry=True)
             for cart, key, answer in placed]
    assert [answer.status_code for answer in final] == [201] * len(placed)
    numbers = [data(answer)["number"] for answer in final]
    assert len(set(numbers)) == len(numbers)
    assert sorted(Order.objects.filter(store__slug=seed["store"]).values_list("number", flat=True)) == sorted(numbers)
    _assert_consistent(seed["store"])
    print(f"\n{len(answers)} answers under load, {len(unavailable)} of them 503, {len(terminated)} backends "
          f"terminated, {len(numbers)} orders")


def test_postgres_unreachable_answers_503_with_retry_after(own_redis, servers):
    """PostgreSQL down altogether (a server whose database address refuses connections): /api/health and every API
    request that needs the database answer 503 SERVICE_UNAVAILABLE in the envelope, never a 500."""
    environment = {
        **faults.os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "tests.integration.sqlite_settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{faults.free_port()}/store", "CELERY_EAGER": "0",
        "REDIS_URL": own_redis.url(), "CELERY_BROKER_URL": own_redis.url(),
    }
    url = servers.start(environment)
    health = requests.get(f"{url}/api/health", timeout=ANSWER_SECONDS)
    assert health.status_code == 503 and error(health)["code"] == "SERVICE_UNAVAILABLE"
    assert error(health)["details"]["database"] == "error"
    for method, tail, body in [("GET", "/api/v1/stores/race/products", None), ("GET", "/api/v1/stores/race", None),
                               ("POST", "/api/v1/auth/login", {"email": "a@example.com", "password": "x"}),
                               ("POST", "/api/v1/stores/race/carts", {})]:
        answer = requests.request(method, f"{url}{tail}", json=body, timeout=ANSWER_SECONDS)
        assert answer.status_code == 503, (tail, answer.status_code, answer.text[:300])
        _assert_unavailable(answer)
