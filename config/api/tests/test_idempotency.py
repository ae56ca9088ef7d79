"""The Idempotency-Key decorator, through a tiny test-only view on a test urlconf."""

import pytest
from django.urls import re_path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.errors import ValidationFailed
from config.api.idempotency import idempotent
from config.api.models import IdempotencyKey

CALLS: list[dict] = []
FAIL_NEXT: list[str] = []  # "raise" or "503", consumed one per call


class ChargeView(APIView):
    permission_classes = [AllowAny]

    @idempotent
    def post(self, request):
        CALLS.append(dict(request.data))
        failure = FAIL_NEXT.pop(0) if FAIL_NEXT else None
        if failure == "raise":
            raise RuntimeError("gateway exploded")
        if failure == "503":
            return Response({"detail": "try later"}, status=503)
        if failure == "400":
            raise ValidationFailed("bad amount", amount=["Too small."])
        return Response({"charge": len(CALLS), "amount": request.data.get("amount")}, status=201)


urlpatterns = [re_path(r"^api/test/charges/?$", ChargeView.as_view())]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]
URL = "/api/test/charges"


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    FAIL_NEXT.clear()


def post(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, body, format="json", **headers)


def test_same_key_and_body_replays_the_first_answer_and_runs_once(api):
    # given
    first = post(api, {"amount": "10.00"}, key="k-1")
    # when
    second = post(api, {"amount": "10.00"}, key="k-1")
    # then
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert second.json()["data"] == first.json()["data"] == {"charge": 1, "amount": "10.00"}
    assert second.json()["success"] is True
    assert len(CALLS) == 1
    assert IdempotencyKey.objects.get().response_status == 201


def test_key_order_in_the_body_does_not_matter(api):
    post(api, {"amount": "10.00", "currency": "EGP"}, key="k-1")
    replay = post(api, {"currency": "EGP", "amount": "10.00"}, key="k-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert len(CALLS) == 1


def test_same_key_with_another_body_is_409(api):
    # given
    post(api, {"amount": "10.00"}, key="k-1")
    # when
    response = post(api, {"amount": "99.00"}, key="k-1")
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert len(CALLS) == 1


def test_without_a_key_every_request_runs(api):
    assert post(api, {"amount": "10.00"}).json()["data"]["charge"] == 1
    assert post(api, {"amount": "10.00"}).json()["data"]["charge"] == 2
    assert not IdempotencyKey.objects.exists()


def test_the_key_belongs_to_its_owner(api, user_factory, client_for):
    # given
    alice, bob = client_for(user_factory()), client_for(user_factory())
    post(alice, {"amount": "10.00"}, key="shared")
    # when
    response = post(bob, {"amount": "10.00"}, key="shared")
    # then
    assert "Idempotent-Replayed" not in response
    assert len(CALLS) == 2


@pytest.mark.parametrize("failure, status", [("raise", 500), ("503", 503)])
def test_a_failed_first_attempt_is_forgotten(api, failure, status):
    # given
    FAIL_NEXT.append(failure)
    first = post(api, {"amount": "10.00"}, key="k-1")
    assert first.status_code == status
    assert b"Traceback" not in first.content
    assert not IdempotencyKey.objects.exists()
    # when
    retry = post(api, {"amount": "10.00"}, key="k-1")
    # then
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert len(CALLS) == 2


def test_a_request_still_running_answers_409_conflict(api):
    # given: a first request with this key has claimed it and not finished
    IdempotencyKey.objects.create(key="k-1", owner="anon", method="POST", path=URL,
                                  request_hash=_hash({"amount": "10.00"}))
    # when
    response = post(api, {"amount": "10.00"}, key="k-1")
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert CALLS == []


def test_a_trailing_slash_is_the_same_path(api):
    post(api, {"amount": "10.00"}, key="k-1")
    replay = api.post(URL + "/", {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay["Idempotent-Replayed"] == "true"


def test_an_overlong_key_is_400(api):
    response = post(api, {"amount": "10.00"}, key="k" * 256)
    assert response.status_code == 400
    assert "idempotency_key" in response.json()["error"]["details"]
    assert CALLS == []


def _hash(body):
    from config.api.idempotency import _hash

    return _hash(body)


def test_a_refused_first_attempt_is_not_replayed(api):
    """A domain error is raised, not answered, so like any exception it leaves no key behind."""
    FAIL_NEXT.append("400")
    assert post(api, {"amount": "0.01"}, key="k-1").status_code == 400
    retry = post(api, {"amount": "0.01"}, key="k-1")
    assert retry.status_code == 201
    assert len(CALLS) == 2
