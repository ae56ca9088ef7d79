"""Single-use credentials stay single-use when the same one arrives twice at once."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from rest_framework.test import APIClient

from accounts.tokens import uid_encode
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race_posts(path: str, body: dict, times: int = 4) -> list[int]:
    answers = race(*(lambda: APIClient().post(path, body, format="json") for _ in range(times)))
    return sorted(answer.status_code for answer in answers)


def test_one_refresh_token_refreshes_once(user, login):
    refresh = login("alice@example.com").json()["data"]["refresh"]
    assert race_posts("/api/v1/auth/refresh", {"refresh": refresh}) == [200, 401, 401, 401]


def test_one_reset_link_resets_once(user):
    body = {"uid": uid_encode(user.pk), "token": default_token_generator.make_token(user),
            "password": "Velvet-Thunder-2031"}
    assert race_posts("/api/v1/auth/password/reset/confirm", body) == [200, 400, 400, 400]
