"""What a stock change looks like from another server process (catalog.cache "stock"), played against two real
servers: the embedded default (tests/integration/test_sqlite_shared_cache.py: SQLite and the database cache both
share) and PostgreSQL + Redis (tests/integration/test_pg_stock_cache.py).

The bound: once the checkout that took the last unit has answered (its stock map is written after its COMMIT,
before the answer), the other server shows the product out of stock within CATALOG_CACHE_LOCAL_MS (250 ms by
default), from its cached pages."""

import time
import uuid

import requests

from tests.envelopes import data

OWNER = {"email": "owner@example.com", "password": "Owner-password-42"}  # tests/integration/sqlite_shop.py
ANSWER_SECONDS = 60
LOCAL_SECONDS = 0.25  # CATALOG_CACHE_LOCAL_MS's default, which the servers run with
MARGIN_SECONDS = 0.1


def _owner(shop) -> dict:
    answer = requests.post(f"{shop.urls[0]}/api/v1/auth/login", json=OWNER, timeout=ANSWER_SECONDS)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {data(answer)['access']}"}


def _product(shop, owner: dict, name: str, stock: int) -> dict:
    created = requests.post(shop.url(0, "products"), headers=owner, timeout=ANSWER_SECONDS, json={
        "name": name, "status": "draft",
        "variants": [{"sku": name.upper().replace(" ", "-"), "price": "3.00", "stock_quantity": stock}]})
    assert created.status_code == 201, created.text
    published = requests.post(shop.url(0, f"products/{data(created)['id']}/publish"), headers=owner,
                              timeout=ANSWER_SECONDS)
    assert published.status_code == 200, published.text
    return data(published)


def _get(shop, index: int, tail: str) -> requests.Response:
    answer = requests.get(shop.url(index, tail), timeout=ANSWER_SECONDS)
    assert answer.status_code == 200, answer.text
    return answer


def the_last_unit_bought_through_one_server_is_out_of_stock_on_the_other(shop) -> None:
    owner = _owner(shop)
    tag = uuid.uuid4().hex[:6]
    last = _product(shop, owner, f"Last {tag}", 1)
    other = _product(shop, owner, f"Other {tag}", 5)
    pages = ["products?limit=100", f"products/{last['id']}", f"products/{other['id']}", f"search?q=Other+{tag}"]
    # given server 1's anonymous pages cached after the writes (its micro-cache's bound passed)
    time.sleep(LOCAL_SECONDS + MARGIN_SECONDS)
    for page in pages:
        _get(shop, 1, page)
    assert all(_get(shop, 1, page).headers["X-Cache"] == "hit" for page in pages)
    assert data(_get(shop, 1, f"products/{last['id']}"))["in_stock"] is True
    # when a buyer takes the last unit through server 0
    cart = shop.cart(0, (last["variants"][0]["id"], 1))
    bought = shop.checkout(0, cart, email=f"last-{tag}@example.com")
    assert bought.status_code == 201, bought.text
    # then once the bound has passed, server 1 shows it out of stock, from its cached pages (no page was made stale)
    time.sleep(LOCAL_SECONDS + MARGIN_SECONDS)
    answers = {page: _get(shop, 1, page) for page in pages}
    assert {page: answer.headers["X-Cache"] for page, answer in answers.items()} == dict.fromkeys(pages, "hit")
    detail = data(answers[f"products/{last['id']}"])
    assert detail["in_stock"] is False
    assert {key: detail["variants"][0][key] for key in ("stock_quantity", "reserved", "available", "in_stock")} == {
        "stock_quantity": 1, "reserved": 1, "available": 0, "in_stock": False}
    listed = {product["id"]: product for product in data(answers["products?limit=100"])}
    assert listed[last["id"]]["in_stock"] is False and listed[other["id"]]["in_stock"] is True
    # and server 0, which sold it, shows it at once
    assert data(_get(shop, 0, f"products/{last['id']}"))["in_stock"] is False
    # and the in-stock list of server 1 leaves it out
    in_stock = {product["id"] for product in data(_get(shop, 1, "products?in_stock=true&limit=100"))}
    assert other["id"] in in_stock and last["id"] not in in_stock
    # and a price edit through server 0 shows there at once, on server 1 within the bound
    variant = other["variants"][0]["id"]
    edited = requests.patch(shop.url(0, f"products/{other['id']}/variants/{variant}"), headers=owner,
                            json={"price": "7.50"}, timeout=ANSWER_SECONDS)
    assert edited.status_code == 200, edited.text
    assert data(_get(shop, 0, f"products/{other['id']}"))["price"] == "7.50"
    time.sleep(LOCAL_SECONDS + MARGIN_SECONDS)
    assert data(_get(shop, 1, f"products/{other['id']}"))["price"] == "7.50"
