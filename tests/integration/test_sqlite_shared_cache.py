"""Several server processes without Redis stay correct: two real gunicorn processes on one SQLite file share the
embedded default's database cache, so a product published through one is listed by the other within
CATALOG_CACHE_LOCAL_MS, and failed logins through either count towards one lock."""

import time
import uuid

import pytest
import requests
from django.conf import settings

from tests.envelopes import data, error
from tests.integration import stock_scenario
from tests.integration import test_sqlite_checkout as checkout

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif("sqlite" not in settings.DATABASES["default"]["ENGINE"],
                       reason="the embedded default (SQLite, no REDIS_URL)"),
]

OWNER = {"email": "owner@example.com", "password": "Owner-password-42"}  # tests/integration/sqlite_shop.py
ANSWER_SECONDS = checkout.ANSWER_SECONDS
shop = checkout.shop  # the fixture: two gunicorn processes on one migrated, seeded SQLite file
LOCAL_SECONDS = 0.25  # CATALOG_CACHE_LOCAL_MS's default, which the servers run with


def login(shop, index: int, **credentials) -> requests.Response:
    return requests.post(f"{shop.urls[index]}/api/v1/auth/login", json=credentials, timeout=ANSWER_SECONDS)


def public_names(shop, index: int) -> set[str]:
    answer = requests.get(shop.url(index, "products?limit=100"), timeout=ANSWER_SECONDS)
    assert answer.status_code == 200, answer.text
    return {product["name"] for product in data(answer)}


def test_a_product_published_through_one_server_is_listed_by_the_other(shop):
    # given a draft made through server 0, and server 1's anonymous list cached without it
    token = data(login(shop, 0, **OWNER))["access"]
    owner = {"Authorization": f"Bearer {token}"}
    name = f"Fresh {uuid.uuid4().hex[:6]}"
    created = requests.post(shop.url(0, "products"), headers=owner, timeout=ANSWER_SECONDS, json={
        "name": name, "variants": [{"sku": name.upper().replace(" ", "-"), "price": "3.00", "stock_quantity": 5}]})
    assert created.status_code == 201, created.text
    assert name not in public_names(shop, 1)
    assert name not in public_names(shop, 1)  # a hit now, from the cache
    # when it is published through server 0
    published = requests.post(shop.url(0, f"products/{data(created)['id']}/publish"), headers=owner,
                              timeout=ANSWER_SECONDS)
    assert published.status_code == 200, published.text
    # then server 1 lists it once its micro-cache's bound has passed (with a process-local cache it would keep
    # answering its cached page for CATALOG_CACHE_SECONDS)
    time.sleep(LOCAL_SECONDS + 0.1)
    assert name in public_names(shop, 1)
    assert name in public_names(shop, 0)


def test_failed_logins_through_both_servers_count_towards_one_lock(shop):
    # given an email with LOGIN_MAX_FAILURES (5) wrong passwords, alternately through each server
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    for attempt in range(settings.LOGIN_MAX_FAILURES):
        answer = login(shop, attempt % 2, email=email, password="wrong-password")
        assert answer.status_code == 401, answer.text
    # then both servers answer it locked (each saw only 2 or 3 failures itself)
    for index in (0, 1):
        locked = login(shop, index, email=email, password="wrong-password")
        assert locked.status_code == 429 and error(locked)["code"] == "ACCOUNT_LOCKED", locked.text
        assert int(locked.headers["Retry-After"]) > 0
    # and the owner, whose email is not locked, still logs in
    assert login(shop, 1, **OWNER).status_code == 200


def test_the_last_unit_bought_through_one_server_is_out_of_stock_on_the_other(shop):
    stock_scenario.the_last_unit_bought_through_one_server_is_out_of_stock_on_the_other(shop)
