"""The embedded default with several processes: an order placed through a WSGI gunicorn reaches a stream served by
a gunicorn of two uvicorn workers, both on one SQLite file (the LiveEvent table is the channel between them)."""

import time
import uuid

import pytest
import requests
from django.conf import settings

from live.tests.sse import Stream
from tests.integration.servers import gunicorn_start, processes_stop, sqlite_shop_file

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif("sqlite" not in settings.DATABASES["default"]["ENGINE"] or bool(settings.REDIS_URL),
                       reason="the embedded default (SQLite, no Redis); Redis is tested by test_stream"),
]

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live-processes")
    environment, seed = sqlite_shop_file(folder)
    started = []
    try:
        started.append(gunicorn_start(environment, folder / "wsgi.log", "config.wsgi:application", "--workers", "2",
                                      "--graceful-timeout", "3"))
        started.append(gunicorn_start(environment, folder / "asgi.log", "config.asgi:application", "--workers", "2",
                                      "--worker-class", "uvicorn_worker.UvicornWorker", "--graceful-timeout", "3"))
        yield started[0][1], started[1][1], seed
    finally:
        processes_stop([process for process, _ in started])


def test_an_order_placed_through_the_wsgi_server_reaches_streams_of_the_asgi_workers(servers):
    wsgi, asgi, seed = servers
    store = f"{wsgi}/api/v1/stores/{seed['store']}"
    # the owner's ticket (from the WSGI server) and a guest's cart, each streamed by the ASGI server
    tokens = requests.post(f"{wsgi}/api/v1/auth/login", json={"email": "owner@example.com",
                                                              "password": "Owner-password-42"}, timeout=30)
    access = tokens.json()["data"]["access"]
    ticket = requests.post(f"{wsgi}/api/v1/stream/ticket", headers={"Authorization": f"Bearer {access}"},
                           timeout=30).json()["data"]["ticket"]
    cart = requests.post(f"{store}/carts", json={}, timeout=30).json()["data"]["id"]
    assert requests.post(f"{store}/carts/{cart}/items", json={"variant": seed["plenty"], "quantity": 1},
                         timeout=30).status_code in (200, 201)
    port = int(asgi.rsplit(":", 1)[1])
    member, guest = Stream(port, f"?ticket={ticket}"), Stream(port, f"?cart={cart}")
    try:
        assert (member.status, guest.status) == (200, 200)
        # when the guest checks out through the WSGI server
        placed = requests.post(f"{store}/checkout", headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=30,
                               json={"cart": cart, "email": "buyer@example.com", "shipping_address": ADDRESS,
                                     "shipping_method": seed["shipping_method"], "payment_method": "cod"})
        assert placed.status_code == 201, placed.text
        number = placed.json()["data"]["number"]
        # then both streams have it within the poll
        started = time.monotonic()
        assert member.event("order.created")["data"]["email"] == "buyer@example.com"
        shown = guest.event("order.created")["data"]
        assert shown["number"] == number and "email" not in shown
        assert time.monotonic() - started < 5
    finally:
        member.close()
        guest.close()
