"""The checkout races of orders/tests/test_concurrency.py, on SQLite, through two real server processes.

Two gunicorn processes (a few threads each) serve one SQLite file, configured as the app configures it (WAL,
BEGIN IMMEDIATE, a busy timeout). Buyers fill their carts first, then check out all at once, half of them
against each server. No answer may be a 500 ("database is locked" would be a 503 at worst) and nothing may be
lost: the rows in the file are exactly what the 201 answers say.
"""

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest
import requests
from django.conf import settings

from catalog.models import InventoryMovement, Variant
from orders.models import Coupon, CouponUse, Order
from tests.envelopes import data, error
from tests.integration.servers import gunicorn_start, processes_stop, sqlite_shop_file
from tests.races import race

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif("sqlite" not in settings.DATABASES["default"]["ENGINE"],
                       reason="SQLite-specific; the PostgreSQL races are in orders/tests/test_concurrency.py"),
]

SERVERS = 2
THREADS = 4  # per server process: more writers at once than processes
ANSWER_SECONDS = 60
ADDRESS = {"name": "Buyer", "line1": "1 Main St", "city": "Tripoli", "country": "LY"}


class Shop:
    """The servers, the seeded ids and the SQLite file they share."""

    def __init__(self, path: Path, urls: list[str], seed: dict):
        self.path, self.urls, self.seed = path, urls, seed
        self.store = seed["store"]

    def url(self, index: int, tail: str) -> str:
        return f"{self.urls[index % len(self.urls)]}/api/v1/stores/{self.store}/{tail}"

    def cart(self, index: int, *items: tuple[int, int], coupon: str | None = None) -> str:
        """A cart filled through the API (the server ``index`` picks), its id."""
        session = requests.Session()
        answer = session.post(self.url(index, "carts"), json={}, timeout=ANSWER_SECONDS)
        assert answer.status_code == 201, answer.text
        cart = data(answer)["id"]
        for variant, quantity in items:
            added = session.post(self.url(index, f"carts/{cart}/items"),
                                 json={"variant": variant, "quantity": quantity}, timeout=ANSWER_SECONDS)
            assert added.status_code in (200, 201), added.text
        if coupon:
            applied = session.post(self.url(index, f"carts/{cart}/coupon"), json={"code": coupon},
                                   timeout=ANSWER_SECONDS)
            assert applied.status_code in (200, 201), applied.text
        return cart

    def checkout(self, index: int, cart: str, *, email: str, key: str | None = None) -> requests.Response:
        return requests.post(
            self.url(index, "checkout"), timeout=ANSWER_SECONDS,
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
            json={"cart": cart, "email": email, "shipping_address": ADDRESS,
                  "shipping_method": self.seed["shipping_method"], "payment_method": "cod"},
        )

    def rows(self, sql: str, *params) -> list[tuple]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            return db.execute(sql, params).fetchall()

    def one(self, sql: str, *params):
        return self.rows(sql, *params)[0][0]


def statuses(answers) -> list:
    return [answer.status_code if isinstance(answer, requests.Response) else repr(answer) for answer in answers]


def serve(environment: dict, log: Path) -> tuple:
    return gunicorn_start(environment, log, "config.wsgi:application", "--workers", "1", "--worker-class", "gthread",
                          "--threads", str(THREADS), "--log-level", "info", "--graceful-timeout", "5")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A migrated, seeded SQLite file and two server processes on it."""
    folder = tmp_path_factory.mktemp("sqlite-checkout")
    environment, seed = sqlite_shop_file(folder)
    servers = []
    try:
        for index in range(SERVERS):
            servers.append(serve(environment, folder / f"server{index}.log"))
        yield Shop(folder / "db.sqlite3", [url for _, url in servers], seed)
    finally:
        processes_stop([process for process, _ in servers])


def table(model) -> str:
    return model._meta.db_table


def test_thirty_buyers_racing_for_the_last_five_units_make_five_orders(shop):
    # given 30 carts holding one of the last 5 units each, and one unit of a plentiful variant
    scarce, plenty = shop.seed["scarce"], shop.seed["plenty"]
    carts = [shop.cart(index, (plenty, 1), (scarce, 1)) for index in range(30)]
    # when all check out at once, half through each server
    answers = race(*(lambda index=index, cart=cart: shop.checkout(index, cart, email=f"buyer{index}@example.com")
                     for index, cart in enumerate(carts)))
    # then: five orders, the others refused as out of stock (or told to retry), never a 500
    codes = statuses(answers)
    assert set(codes) <= {201, 409, 503}, codes
    assert codes.count(201) == 5, codes
    refused = [error(answer)["code"] for answer in answers if answer.status_code == 409]
    assert set(refused) <= {"OUT_OF_STOCK"}, refused
    # and the file holds exactly what the answers said
    numbers = {data(answer)["number"] for answer in answers if answer.status_code == 201}
    assert {row[0] for row in shop.rows(f"SELECT number FROM {table(Order)}")} == numbers
    stock = shop.rows(f"SELECT id, stock_quantity, reserved FROM {table(Variant)} WHERE id IN (?, ?) ORDER BY id",
                      scarce, plenty)
    assert dict((pk, (on_hand, held)) for pk, on_hand, held in stock) == {scarce: (5, 5), plenty: (1000, 5)}
    reserve = (f"SELECT COUNT(*), SUM(reserved_delta) FROM {table(InventoryMovement)} "
               f"WHERE variant_id = ? AND reason = ?")
    assert shop.rows(reserve, scarce, "reserve") == [(5, 5)]
    assert shop.rows(reserve, plenty, "reserve") == [(5, 5)]


def test_a_coupon_limited_to_three_uses_raced_by_ten_buyers_is_used_three_times(shop):
    # given 10 carts with the coupon THREE (3 uses) applied
    variant = shop.seed["couponed"]
    carts = [shop.cart(index, (variant, 1), coupon="three") for index in range(10)]
    # when all check out at once
    answers = race(*(lambda index=index, cart=cart: shop.checkout(index, cart, email=f"coupon{index}@example.com")
                     for index, cart in enumerate(carts)))
    # then three orders carry it; the others are told it is used up
    codes = statuses(answers)
    assert set(codes) <= {201, 400, 503}, codes
    assert codes.count(201) == 3, codes
    assert all("coupon" in error(answer)["details"] for answer in answers if answer.status_code == 400)
    assert shop.one(f"SELECT used_count FROM {table(Coupon)} WHERE code = ?", "THREE") == 3
    assert shop.one(f"SELECT COUNT(*) FROM {table(CouponUse)}") == 3
    assert shop.one(f"SELECT COUNT(*) FROM {table(Order)} WHERE coupon_code = ?", "THREE") == 3
    assert shop.one(f"SELECT reserved FROM {table(Variant)} WHERE id = ?", variant) == 3


def test_one_idempotency_key_sent_five_times_at_once_makes_one_order(shop):
    # given one cart
    cart = shop.cart(0, (shop.seed["once"], 2))
    key = uuid.uuid4().hex
    # when the same request, with the same key, reaches both servers five times at once
    answers = race(*(lambda index=index: shop.checkout(index, cart, email="once@example.com", key=key)
                     for index in range(5)))
    # then one order: the first answer, replayed to the others (a 409 "still being processed" or a 503 at worst)
    codes = statuses(answers)
    assert set(codes) <= {201, 409, 503} and 201 in codes, codes
    numbers = {data(answer)["number"] for answer in answers if answer.status_code == 201}
    assert len(numbers) == 1, numbers
    assert shop.rows(f"SELECT number FROM {table(Order)} WHERE email = ?", "once@example.com") == [(numbers.pop(),)]
    assert shop.one(f"SELECT reserved FROM {table(Variant)} WHERE id = ?", shop.seed["once"]) == 2
