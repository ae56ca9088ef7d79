"""Payments of a store (members), mark-paid (orders.manage) and the offline gateways' settings (store.manage)."""

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from config.api.errors import ValidationFailed
from orders.models import Order, OrderEvent
from orders.services import order_cancel
from payments import services
from payments.models import GatewaySetting, Payment

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}


@pytest.fixture
def checkout(store, make_variant, cart_with):
    """An order placed through checkout_complete with ``method``; answers (order, payment)."""

    def make(method="bank_transfer", *, at=store):
        variant = make_variant(store=at, price="10.00", stock=10)
        cart = cart_with((variant, 1), store=at)
        return services.checkout_complete(store=at, cart=cart, email="buyer@example.com", shipping_address=ADDRESS,
                                          payment_method=method)

    return make


def url(store, suffix="") -> str:
    return f"/api/v1/stores/{store.slug}/payments{suffix}"


# --- reading ---------------------------------------------------------------------
def test_members_list_and_read_the_stores_payments(store, member_factory, client_for, checkout):
    order, payment = checkout("bank_transfer")
    checkout("cod")
    viewer = client_for(member_factory(store, "viewer"))

    listed = viewer.get(url(store))
    cod_only = viewer.get(url(store), {"gateway": "cod"})
    one = viewer.get(url(store, f"/{payment.pk}"))

    assert listed.status_code == 200 and listed.json()["pagination"]["total"] == 2
    assert [row["gateway"] for row in cod_only.json()["data"]] == ["cod"]
    assert one.status_code == 200
    assert one.json()["data"] == {
        "id": payment.pk, "order": order.pk, "order_number": order.number, "gateway": "bank_transfer",
        "status": "pending", "amount": "10.00", "refunded_amount": "0.00", "currency": "USD", "instructions": "",
        "created_at": one.json()["data"]["created_at"], "paid_at": None}


def test_payments_are_for_members_only(api, store, user_factory, client_for, checkout):
    _, payment = checkout()

    assert api.get(url(store)).status_code == 401
    assert client_for(user_factory()).get(url(store)).status_code == 404
    assert client_for(user_factory()).get(url(store, f"/{payment.pk}")).status_code == 404


def test_another_stores_payment_is_not_found(store, other_store, client_for, checkout):
    _, theirs = checkout(at=other_store)

    owner = client_for(store.owner)

    assert owner.get(url(store, f"/{theirs.pk}")).status_code == 404
    assert owner.post(url(store, f"/{theirs.pk}/mark-paid")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending"


# --- mark-paid -------------------------------------------------------------------
def test_mark_paid_makes_the_payment_and_the_order_paid_once(store, member_factory, client_for, checkout,
                                                            django_capture_on_commit_callbacks):
    # given a bank transfer waiting for the money
    order, payment = checkout("bank_transfer")
    staff = client_for(member_factory(store, "staff"))
    # when staff confirm it arrived, twice
    with django_capture_on_commit_callbacks(execute=True):
        first = staff.post(url(store, f"/{payment.pk}/mark-paid"))
    second = staff.post(url(store, f"/{payment.pk}/mark-paid"))
    # then the first wins, the second is a conflict and changes nothing
    assert first.status_code == 200, first.json()
    assert first.json()["data"]["status"] == "paid" and first.json()["data"]["paid_at"]
    assert second.status_code == 409 and second.json()["error"]["code"] == "CONFLICT"
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("processing", "paid")
    assert Payment.objects.filter(order=order).count() == 1
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert AuditLog.objects.filter(action="payment.paid").count() == 1


def test_cash_on_delivery_is_marked_paid_and_stays_processing(store, client_for, checkout):
    order, payment = checkout("cod")

    response = client_for(store.owner).post(url(store, f"/{payment.pk}/mark-paid"))

    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("processing", "paid")


def test_mark_paid_on_a_cancelled_order_is_409_and_the_payment_stays_cancelled(store, client_for, checkout):
    order, payment = checkout("bank_transfer")
    order_cancel(order=order, actor=None)

    response = client_for(store.owner).post(url(store, f"/{payment.pk}/mark-paid"))

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"status": "cancelled"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.paid_at) == ("cancelled", None)
    assert (order.status, order.payment_status) == ("cancelled", "unpaid")


def test_a_gateway_that_confirms_its_own_payments_cannot_be_marked_paid(store, checkout):
    order, _ = checkout("cod")
    card = Payment.objects.create(store=store, order=order, gateway="stripe", amount=order.total, currency="USD")

    with pytest.raises(ValidationFailed):
        services.payment_mark_paid(payment=card)

    card.refresh_from_db()
    assert card.status == "pending"


@pytest.mark.parametrize("role, status", [("viewer", 403), (None, 401)])
def test_mark_paid_needs_orders_manage(api, store, member_factory, client_for, checkout, role, status):
    order, payment = checkout()
    client = client_for(member_factory(store, role)) if role else api

    response = client.post(url(store, f"/{payment.pk}/mark-paid"))

    assert response.status_code == status
    payment.refresh_from_db()
    assert payment.status == "pending"


# --- gateway settings ------------------------------------------------------------
def gateway_url(store, name) -> str:
    return f"/api/v1/stores/{store.slug}/payment-gateways/{name}"


def test_both_offline_gateways_are_on_until_the_store_changes_them(store, client_for):
    owner = client_for(store.owner)

    cod = owner.get(gateway_url(store, "cod"))
    bank = owner.get(gateway_url(store, "bank_transfer"))

    assert cod.json()["data"] == {"gateway": "cod", "label": "Cash on delivery", "enabled": True, "configured": True,
                                 "updated_at": None}
    assert bank.json()["data"]["enabled"] is True and bank.json()["data"]["instructions"] == ""
    assert not GatewaySetting.objects.exists()


def test_put_sets_a_gateway_and_checkout_follows(api, store, client_for, make_variant, cart_with):
    owner = client_for(store.owner)

    off = owner.put(gateway_url(store, "cod"), {"enabled": False}, format="json")
    bank = owner.put(gateway_url(store, "bank_transfer"), {"instructions": "  IBAN LY00 1234  "}, format="json")
    cart = cart_with((make_variant(), 1))
    refused = api.post(f"/api/v1/stores/{store.slug}/checkout",
                       {"cart": str(cart.pk), "email": "b@example.com", "shipping_address": ADDRESS,
                        "payment_method": "cod"}, format="json")
    placed = api.post(f"/api/v1/stores/{store.slug}/checkout",
                      {"cart": str(cart.pk), "email": "b@example.com", "shipping_address": ADDRESS,
                       "payment_method": "bank_transfer"}, format="json")

    assert off.status_code == 200 and off.json()["data"]["enabled"] is False
    assert bank.json()["data"] == {"gateway": "bank_transfer", "label": "Bank transfer", "enabled": True,
                                   "instructions": "IBAN LY00 1234", "configured": True,
                                   "updated_at": bank.json()["data"]["updated_at"]}
    assert owner.get(gateway_url(store, "cod")).json()["data"]["enabled"] is False
    assert refused.status_code == 400
    assert placed.status_code == 201 and placed.json()["data"]["payment"]["instructions"] == "IBAN LY00 1234"
    assert AuditLog.objects.filter(action="payment_gateway.updated").count() == 2


@pytest.mark.parametrize("name, data", [("cod", {"instructions": "x"}), ("cod", {"enabled": "maybe"}),
                                        ("bank_transfer", {"colour": "red"})])
def test_a_setting_the_gateway_does_not_have_is_400(store, client_for, name, data):
    response = client_for(store.owner).put(gateway_url(store, name), data, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(data)
    assert not GatewaySetting.objects.exists()


def test_other_gateway_names_are_not_found(store, client_for):
    owner = client_for(store.owner)

    assert owner.get(gateway_url(store, "paypal")).status_code == 404
    assert owner.put(gateway_url(store, "paypal"), {"enabled": True}, format="json").status_code == 404


@pytest.mark.parametrize("role, status", [("staff", 403), ("viewer", 403), (None, 401)])
def test_gateway_settings_need_store_manage(api, store, member_factory, client_for, role, status):
    client = client_for(member_factory(store, role)) if role else api

    assert client.get(gateway_url(store, "bank_transfer")).status_code == status
    assert client.put(gateway_url(store, "cod"), {"enabled": False}, format="json").status_code == status
    assert not GatewaySetting.objects.exists()


def test_another_stores_gateway_settings_are_not_found(store, other_store, client_for):
    owner = client_for(store.owner)

    assert owner.get(gateway_url(other_store, "cod")).status_code == 404
    assert owner.put(gateway_url(other_store, "cod"), {"enabled": False}, format="json").status_code == 404
    assert not GatewaySetting.objects.exists()


def test_paid_at_is_set_when_marked_paid(store, checkout):
    _, payment = checkout()
    before = timezone.now()

    paid = services.payment_mark_paid(payment=payment)

    assert paid.paid_at >= before and Order.objects.get().payment_status == "paid"


def test_an_orders_payment_summary_is_its_latest_payment(store, checkout):
    from payments.selectors import order_payments_read

    bank_order, first = checkout("bank_transfer")
    cod_order, cod = checkout("cod")
    retry = Payment.objects.create(store=store, order=bank_order, gateway="bank_transfer", amount=bank_order.total,
                                   currency="USD", instructions="new details")

    summaries = order_payments_read([bank_order.pk, cod_order.pk, 0])

    assert summaries == {
        bank_order.pk: {"id": retry.pk, "gateway": "bank_transfer", "status": "pending", "amount": "10.00",
                        "instructions": "new details"},
        cod_order.pk: {"id": cod.pk, "gateway": "cod", "status": "pending", "amount": "10.00"},
    }
    assert first.pk != retry.pk
