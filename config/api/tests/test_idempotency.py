"""The Idempotency-Key decorator, through a tiny test-only view on a test urlconf.

The view's work is a service writing a row (an auth Group, a model every install has) and
registering an on_commit callback, so the tests can see what was committed and what ran after.
"""

import datetime as dt
import functools
import time

import pytest
from django.contrib.auth.models import Group
from django.db import OperationalError, connection, transaction
from django.urls import re_path
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config.api.errors import ValidationFailed
from config.api.idempotency import KEY_LIFETIME, idempotent
from config.api.models import IdempotencyKey
from config.api.renderers import EnvelopeJSONRenderer, ok
from tests.races import race

CALLS: list[dict] = []  # every run of the view, committed or not
COMMITTED: list[str] = []  # on_commit callbacks of the work that ran
FAIL_NEXT: list[str] = []  # "raise", "503", "400" or "slow", consumed one per call


@transaction.atomic
def charge_record(*, amount) -> Group:
    """The protected work: one row, and a side effect once it is committed."""
    charge = Group.objects.create(name=f"charge-{len(CALLS)}-{amount}")
    transaction.on_commit(lambda: COMMITTED.append(charge.name))
    return charge


class ChargeView(APIView):
    permission_classes = [AllowAny]

    @idempotent
    def post(self, request):
        CALLS.append(dict(request.data))
        failure = FAIL_NEXT.pop(0) if FAIL_NEXT else None
        if failure == "400":
            raise ValidationFailed("bad amount", amount=["Too small."])
        charge_record(amount=request.data.get("amount"))
        if failure == "raise":
            raise RuntimeError("gateway exploded")
        if failure == "503":
            return Response({"detail": "try later"}, status=503)
        if failure == "slow":
            time.sleep(0.5)  # the duplicates arrive while this one holds the key
        if failure == "dated":
            at = dt.datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
            return ok({"charge": len(CALLS), "at": at}, message="Charged.", status=201)
        return Response({"charge": len(CALLS), "amount": request.data.get("amount")}, status=201)


urlpatterns = [re_path(r"^api/test/charges/?$", ChargeView.as_view())]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]
URL = "/api/test/charges"


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    COMMITTED.clear()
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


def test_a_replay_says_exactly_what_the_first_answer_said(api):
    # given: an answer with a datetime to the microsecond and a message
    FAIL_NEXT.append("dated")
    first = post(api, {"amount": "10.00"}, key="k-1")
    # when
    second = post(api, {"amount": "10.00"}, key="k-1")
    # then
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["data"] == {"charge": 1, "at": "2026-05-01T12:00:00.123456Z"}
    assert {k: v for k, v in second.json().items() if k != "timestamp"} == {
        k: v for k, v in first.json().items() if k != "timestamp"}
    assert second.json()["message"] == "Charged."


def test_key_order_in_the_body_does_not_matter(api):
    post(api, {"amount": "10.00", "currency": "EGP"}, key="k-1")
    replay = post(api, {"currency": "EGP", "amount": "10.00"}, key="k-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert len(CALLS) == 1


def test_same_key_with_another_body_is_409_and_nothing_runs(api):
    # given
    post(api, {"amount": "10.00"}, key="k-1")
    # when
    response = post(api, {"amount": "99.00"}, key="k-1")
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert len(CALLS) == 1
    assert list(Group.objects.values_list("name", flat=True)) == ["charge-1-10.00"]
    assert IdempotencyKey.objects.get().response_status == 201


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure, status", [("raise", 500), ("503", 503)])
def test_a_failure_inside_the_work_commits_nothing_and_the_retry_runs_it_once(api, failure, status):
    # given: the service wrote its row, then the view raised or answered 5xx
    FAIL_NEXT.append(failure)
    first = post(api, {"amount": "10.00"}, key="k-1")
    assert first.status_code == status
    assert b"Traceback" not in first.content
    assert not Group.objects.exists() and not IdempotencyKey.objects.exists()
    assert COMMITTED == []
    # when
    retry = post(api, {"amount": "10.00"}, key="k-1")
    # then
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert len(CALLS) == 2
    assert Group.objects.count() == 1
    assert COMMITTED == ["charge-2-10.00"]
    assert IdempotencyKey.objects.get().response_status == 201


@pytest.mark.django_db(transaction=True)
def test_a_failure_storing_the_answer_undoes_the_work_and_the_retry_runs_it_once(api):
    # given: the service has written (and, on its own, would have committed), then the database
    # fails while the answer is stored; two separate commits left the work done and the key stuck
    failures = ["once"]

    def update_or_fail(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and IdempotencyKey._meta.db_table in sql and failures:
            failures.pop()
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(update_or_fail):
        first = post(api, {"amount": "10.00"}, key="k-1")
    assert not failures  # the answer's UPDATE failed
    assert first.status_code == 503
    assert not Group.objects.exists() and not IdempotencyKey.objects.exists()
    # when
    retry = post(api, {"amount": "10.00"}, key="k-1")
    # then
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert Group.objects.count() == 1
    assert COMMITTED == ["charge-2-10.00"]


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_commit_and_answer_is_replayed_on_retry_and_the_work_ran_once(api, monkeypatch):
    # given: the work and its answer are committed, then the answer is lost on its way out
    render = EnvelopeJSONRenderer.render
    crashes = ["once"]

    def render_or_crash(self, *args, **kwargs):
        if crashes:
            crashes.pop()
            raise RuntimeError("worker killed before the answer was sent")
        return render(self, *args, **kwargs)

    monkeypatch.setattr(EnvelopeJSONRenderer, "render", render_or_crash)
    api.raise_request_exception = False
    lost = post(api, {"amount": "10.00"}, key="k-1")
    assert lost.status_code == 500
    # when
    retry = post(api, {"amount": "10.00"}, key="k-1")
    # then
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["data"] == {"charge": 1, "amount": "10.00"}
    assert len(CALLS) == 1
    assert list(Group.objects.values_list("name", flat=True)) == ["charge-1-10.00"]
    assert COMMITTED == ["charge-1-10.00"]  # the work's on_commit ran after the outer commit, once


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_five_concurrent_requests_with_one_key_run_the_work_once_and_get_one_answer():
    # given: the first to claim the key is slow, the others arrive meanwhile
    FAIL_NEXT.append("slow")

    def send(index):
        time.sleep(0.05 * index)  # the first is in the work when the others claim the key
        return post(APIClient(), {"amount": "10.00"}, key="k-1")

    # when
    answers = race(*(functools.partial(send, index) for index in range(5)))
    # then
    assert [answer.status_code for answer in answers] == [201] * 5
    assert [answer.json()["data"] for answer in answers] == [{"charge": 1, "amount": "10.00"}] * 5
    assert sum(answer.get("Idempotent-Replayed") == "true" for answer in answers) == 4
    assert len(CALLS) == 1
    assert Group.objects.count() == 1
    assert COMMITTED == ["charge-1-10.00"]


def test_a_key_committed_without_an_answer_answers_409_conflict(api):
    # given: a claimed key with no answer, as the former two-step code could leave behind
    IdempotencyKey.objects.create(key="k-1", owner="anon", method="POST", path=URL,
                                  request_hash=_hash({"amount": "10.00"}))
    # when
    response = post(api, {"amount": "10.00"}, key="k-1")
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert CALLS == []


def test_an_expired_key_is_claimed_afresh_and_the_work_runs_again(api):
    # given: the key's first answer is older than a key lives
    first = post(api, {"amount": "10.00"}, key="k-1")
    IdempotencyKey.objects.update(created_at=timezone.now() - KEY_LIFETIME - dt.timedelta(minutes=1))
    # when: the same key, with another body
    again = post(api, {"amount": "20.00"}, key="k-1")
    # then: no conflict and no replay; the work ran again and its answer is the one kept
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.json()["data"] == {"charge": 2, "amount": "20.00"}
    assert len(CALLS) == 2
    replay = post(api, {"amount": "20.00"}, key="k-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["data"] == again.json()["data"]
    assert IdempotencyKey.objects.count() == 1


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
    assert Group.objects.count() == 1
