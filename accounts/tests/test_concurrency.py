"""Single-use credentials stay single-use when the same one arrives twice at once."""

import threading

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from rest_framework.test import APIClient

from accounts.tokens import uid_encode

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(path: str, body: dict, times: int = 4) -> list[int]:
    barrier = threading.Barrier(times)
    statuses: list[int] = []

    def one() -> None:
        try:
            barrier.wait()
            statuses.append(APIClient().post(path, body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_one_refresh_token_refreshes_once(user, login):
    refresh = login("alice@example.com").json()["data"]["refresh"]
    assert race("/api/v1/auth/refresh", {"refresh": refresh}) == [200, 401, 401, 401]


def test_one_reset_link_resets_once(user):
    body = {"uid": uid_encode(user.pk), "token": default_token_generator.make_token(user),
            "password": "Velvet-Thunder-2031"}
    assert race("/api/v1/auth/password/reset/confirm", body) == [200, 400, 400, 400]
