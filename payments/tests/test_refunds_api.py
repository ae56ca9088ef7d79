"""POST payments/{id}/refunds (payments.refund, Idempotency-Key), GET payments/{id}/refunds and GET refunds[/{id}]
(members): the contract's answers and envelopes."""

import json
from decimal import Decimal

import pytest

from catalog.models import InventoryMovement
from notifications.models import WebhookDelivery, WebhookEndpoint
from payments.models import Refund
from tests.envelopes import error

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert error(response)["code"] == code


def url(store, payment, suffix="") -> str:
    return f"/api/v1/stores/{store.slug}/payments/{payment.pk}/refunds{suffix}"


def test_a_refund_gives_money_back_and_says_so(store, paid, client_for, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/r", events=["order.refunded"],
                                   secret="s" * 32)
    order, payment = paid("bank_transfer")
    owner = client_for(store.owner)
    # when 5.00 goes back, then the rest with restock (a processing order: its reservation goes back)
    first = owner.post(url(store, payment), {"amount": "5.00", "reason": "Late"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        rest = owner.post(url(store, payment), {"amount": "15.00", "restock": True}, format="json")
    # then
    assert first.status_code == 201, first.json()
    body = first.json()
    refund = Refund.objects.get(amount=Decimal("5.00"))
    assert body["data"] == {
        "id": refund.pk, "payment": payment.pk, "order": order.pk, "order_number": order.number,
        "gateway": "bank_transfer", "amount": "5.00", "currency": "USD", "reason": "Late", "restock": False,
        "status": "succeeded", "reference": "", "failure_reason": "",
        "created_at": body["data"]["created_at"], "updated_at": body["data"]["updated_at"]}
    assert body["message"] == "Recorded as paid out by the merchant: give 5.00 USD back to the buyer."
    assert rest.status_code == 201, rest.json()
    assert rest.json()["data"]["restock"] is True
    # the payment and the order answer the new state
    shown = owner.get(f"/api/v1/stores/{store.slug}/payments/{payment.pk}").json()["data"]
    assert (shown["status"], shown["refunded_amount"]) == ("refunded", "20.00")
    shown = owner.get(f"/api/v1/stores/{store.slug}/orders/{order.number}").json()["data"]
    assert (shown["status"], shown["payment_status"]) == ("refunded", "refunded")
    assert InventoryMovement.objects.filter(order=order, reason="release").count() == 1
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.payload["type"] == "order.refunded"
    assert (delivery.payload["data"]["refund_id"], delivery.payload["data"]["amount"]) == (
        rest.json()["data"]["id"], "15.00")
    # the payment's refunds, newest first
    listed = owner.get(url(store, payment))
    assert listed.json()["pagination"]["total"] == 2
    assert [row["amount"] for row in listed.json()["data"]] == ["15.00", "5.00"]


def test_more_than_remains_is_400_and_changes_nothing(store, paid, client_for):
    _, payment = paid("cod")
    owner = client_for(store.owner)
    owner.post(url(store, payment), {"amount": "15.00"}, format="json")

    response = owner.post(url(store, payment), {"amount": "5.01"}, format="json")

    assert_error(response, 400, "VALIDATION_ERROR")
    assert response.json()["error"]["details"] == {"amount": ["At most 5.00 USD remains to refund."]}
    payment.refresh_from_db()
    assert (payment.refunded_amount, Refund.objects.count()) == (Decimal("15.00"), 1)


@pytest.mark.parametrize("body, field", [
    ({"amount": "1.001"}, "amount"), ({"amount": "abc"}, "amount"), ({}, "amount"), ({"amount": "0"}, "amount"),
    ({"amount": "1.00", "reason": "x" * 256}, "reason"), ({"amount": "1.00", "restock": "maybe"}, "restock"),
])
def test_bad_input_is_400_on_its_field(store, paid, client_for, body, field):
    _, payment = paid("cod")

    response = client_for(store.owner).post(url(store, payment), body, format="json")

    assert_error(response, 400, "VALIDATION_ERROR")
    assert field in response.json()["error"]["details"]
    assert not Refund.objects.exists()


def test_restock_with_nothing_to_put_back_is_400(store, paid, client_for):
    _, payment = paid("cod")

    response = client_for(store.owner).post(url(store, payment), {"amount": "1.00", "restock": True}, format="json")

    assert_error(response, 400, "VALIDATION_ERROR")
    assert "restock" in response.json()["error"]["details"]
    payment.refresh_from_db()
    assert payment.refunded_amount == 0


def test_an_unpaid_payment_is_409(store, make_variant, cart_with, client_for):
    from payments import services

    _, payment = services.checkout_complete(store=store, cart=cart_with((make_variant(), 1)), email="b@example.com",
                                            shipping_address={"city": "Tripoli"}, payment_method="bank_transfer")

    response = client_for(store.owner).post(url(store, payment), {"amount": "1.00"}, format="json")

    assert_error(response, 409, "CONFLICT")


def test_a_declined_refund_is_402_and_listed_as_failed(store, paid, testpay, client_for):
    _, payment = paid("testpay")
    owner = client_for(store.owner)

    response = owner.post(url(store, payment), {"amount": "5.00", "reason": "decline please"}, format="json")

    assert_error(response, 402, "PAYMENT_ERROR")
    refund = Refund.objects.get()
    assert response.json()["error"]["details"] == {"refund": refund.pk, "reason": "Declined by the test gateway."}
    assert owner.get(url(store, payment)).json()["data"][0]["status"] == "failed"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("paid", Decimal("0.00"))
    # a card refund that goes through has the gateway's reference and no merchant message
    done = owner.post(url(store, payment), {"amount": "5.00"}, format="json")
    assert done.status_code == 201
    assert done.json()["data"]["reference"] == f"tr_{done.json()['data']['id']}"
    assert "message" not in done.json() or not done.json()["message"]


# --- who may ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role, status", [("admin", 201), ("staff", 403), ("viewer", 403)])
def test_refunding_needs_payments_refund(store, paid, member_factory, client_for, role, status):
    _, payment = paid("cod")

    response = client_for(member_factory(store, role)).post(url(store, payment), {"amount": "1.00"}, format="json")

    assert response.status_code == status, response.json()
    assert Refund.objects.count() == (1 if status == 201 else 0)


def test_members_read_refunds_and_strangers_get_nothing(api, store, paid, member_factory, user_factory, client_for):
    _, payment = paid("cod")
    client_for(store.owner).post(url(store, payment), {"amount": "1.00"}, format="json")
    viewer = client_for(member_factory(store, "viewer"))

    assert viewer.get(url(store, payment)).json()["pagination"]["total"] == 1
    assert api.get(url(store, payment)).status_code == 401
    assert api.post(url(store, payment), {"amount": "1.00"}, format="json").status_code == 401
    stranger = client_for(user_factory())
    assert stranger.get(url(store, payment)).status_code == 404
    assert stranger.post(url(store, payment), {"amount": "1.00"}, format="json").status_code == 404
    assert Refund.objects.count() == 1


def test_another_stores_payment_and_refunds_are_not_found(store, other_store, paid, client_for):
    _, theirs = paid("cod", at=other_store)
    client_for(other_store.owner).post(url(other_store, theirs), {"amount": "1.00"}, format="json")
    owner = client_for(store.owner)

    assert owner.post(url(store, theirs), {"amount": "1.00"}, format="json").status_code == 404
    assert owner.get(url(store, theirs)).status_code == 404
    assert owner.get(f"/api/v1/stores/{store.slug}/refunds/{Refund.objects.get().pk}").status_code == 404
    assert owner.get(f"/api/v1/stores/{store.slug}/refunds").json()["pagination"]["total"] == 0
    theirs.refresh_from_db()
    assert theirs.refunded_amount == Decimal("1.00")


def test_the_stores_refunds_list_filters(store, paid, testpay, client_for):
    _, card = paid("testpay")
    _, cash = paid("cod")
    owner = client_for(store.owner)
    owner.post(url(store, card), {"amount": "1.00", "reason": "decline"}, format="json")
    owner.post(url(store, card), {"amount": "2.00"}, format="json")
    owner.post(url(store, cash), {"amount": "3.00"}, format="json")
    base = f"/api/v1/stores/{store.slug}/refunds"

    assert [row["amount"] for row in owner.get(base).json()["data"]] == ["3.00", "2.00", "1.00"]
    assert [row["amount"] for row in owner.get(base, {"status": "failed"}).json()["data"]] == ["1.00"]
    assert [row["amount"] for row in owner.get(base, {"payment": card.pk}).json()["data"]] == ["2.00", "1.00"]
    assert_error(owner.get(base, {"status": "nope"}), 400, "VALIDATION_ERROR")
    one = owner.get(f"{base}/{Refund.objects.get(amount=3).pk}")
    assert (one.status_code, one.json()["data"]["gateway"]) == (200, "cod")


# --- Idempotency-Key -------------------------------------------------------------------------------------------
def test_a_retry_with_the_same_key_replays_the_answer(store, paid, testpay, client_for):
    _, payment = paid("testpay")
    owner = client_for(store.owner)
    body = {"amount": "5.00", "reason": "Broken"}

    first = owner.post(url(store, payment), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = owner.post(url(store, payment), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    other = owner.post(url(store, payment), {"amount": "6.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    fresh = owner.post(url(store, payment), body, format="json", HTTP_IDEMPOTENCY_KEY="k2")

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert json.loads(again.content)["data"] == first.json()["data"]
    assert_error(other, 409, "IDEMPOTENCY_CONFLICT")
    assert fresh.status_code == 201 and fresh.json()["data"]["id"] != first.json()["data"]["id"]
    assert len(testpay.calls) == 2
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("10.00")


def test_a_declined_refund_is_replayed_declined_and_a_refused_one_runs_again(store, paid, testpay, client_for):
    _, payment = paid("testpay")
    owner = client_for(store.owner)

    declined = owner.post(url(store, payment), {"amount": "5.00", "reason": "decline"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="d")
    replayed = owner.post(url(store, payment), {"amount": "5.00", "reason": "decline"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="d")
    assert declined.status_code == replayed.status_code == 402
    assert json.loads(replayed.content) == json.loads(declined.content) | {"timestamp": replayed.json()["timestamp"]}
    assert len(testpay.calls) == 1
    # a 400 (nothing was done) is not kept: the same key runs again once it fits
    too_much = owner.post(url(store, payment), {"amount": "25.00"}, format="json", HTTP_IDEMPOTENCY_KEY="e")
    assert too_much.status_code == 400
    assert Refund.objects.count() == 1


def test_a_key_whose_refund_ended_without_an_answer_is_never_run_again(store, paid, testpay, client_for):
    # given a refund whose gateway call ended in an error that does not say whether money moved
    _, payment = paid("testpay")
    owner = client_for(store.owner)
    owner.raise_request_exception = False
    crashed = owner.post(url(store, payment), {"amount": "5.00", "reason": "crash"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="c")
    assert crashed.status_code == 500
    # when the client retries with its key: the refund is not sent again
    retry = owner.post(url(store, payment), {"amount": "5.00", "reason": "crash"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="c")
    assert_error(retry, 409, "CONFLICT")
    assert len(testpay.calls) == 1
    assert Refund.objects.get().status == "pending"


def test_the_schema_describes_refunds(api, db):
    schema = json.loads(api.get("/api/schema/", HTTP_ACCEPT="application/json").content)
    refunds = schema["paths"]["/api/v1/stores/{store}/payments/{id}/refunds"]
    assert {"get", "post"} <= set(refunds)
    assert any(parameter["name"] == "Idempotency-Key" for parameter in refunds["post"]["parameters"])
    assert "/api/v1/stores/{store}/refunds" in schema["paths"]
    assert "/api/v1/stores/{store}/refunds/{id}" in schema["paths"]
