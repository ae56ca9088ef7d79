"""The embedded default with several processes: an order placed through a WSGI gunicorn reaches a stream served by
a gunicorn of two uvicorn workers, both on one SQLite file (the LiveEvent table is the channel between them)."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

from live.tests.sse import Stream

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif("sqlite" not in settings.DATABASES["default"]["ENGINE"] or bool(settings.REDIS_URL),
                       reason="the embedded default (SQLite, no Redis); Redis is tested by test_stream"),
]

ROOT = Path(settings.BASE_DIR)
START_SECONDS = 60
ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


def _serve(environment: dict, log: Path, *arguments: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *arguments, "--bind", "127.0.0.1:0", "--graceful-timeout", "3",
         "--access-logfile", "/dev/null"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            try:
                requests.get(f"{found.group(1)}/api/health", timeout=START_SECONDS)
                return process, found.group(1)
            except requests.RequestException:
                pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start:\n" + log.read_text()[-3000:])


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live-processes")
    environment = {
        **os.environ, "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "REDIS_URL": "", "CELERY_EAGER": "1",
        "DJANGO_SETTINGS_MODULE": "tests.integration.sqlite_settings", "PYTHONUNBUFFERED": "1",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environment,
                   check=True, capture_output=True)
    seeded = subprocess.run([sys.executable, "-m", "tests.integration.sqlite_shop"], cwd=ROOT, env=environment,
                            check=True, capture_output=True, text=True)
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    started = []
    try:
        started.append(_serve(environment, folder / "wsgi.log", "config.wsgi:application", "--workers", "2"))
        started.append(_serve(environment, folder / "asgi.log", "config.asgi:application", "--workers", "2",
                              "--worker-class", "uvicorn_worker.UvicornWorker"))
        yield started[0][1], started[1][1], seed
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


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
