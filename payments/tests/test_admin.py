"""The payments admin: "Mark paid" through payment_mark_paid (from the payments list, the orders list and an order's
page), the store's payment methods through gateway_setting_update; all per store."""

import pytest

from auditlog.models import AuditLog
from orders.models import Order, OrderEvent
from payments import services
from payments.models import GatewaySetting, Payment

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"
PAYMENTS = "/admin/payments/payment/"
GATEWAYS = "/admin/payments/gatewaysetting/"


@pytest.fixture
def checkout(cart_with):
    """An order and its payment, checked out with ``method`` in ``store``."""

    def make(store, variant, *, method="bank_transfer", quantity=1) -> tuple[Order, Payment]:
        cart = cart_with((variant, quantity), store=store)
        return services.checkout_complete(store=store, cart=cart, email="buyer@example.com", customer_name="Buyer",
                                          shipping_address={"city": "Tripoli"}, payment_method=method)

    return make


def messages_of(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


@pytest.mark.parametrize("role", ["owner", "staff"])
def test_mark_paid_from_the_payments_list_goes_through_the_service_once(role, store, other_store, member_factory,
                                                                        make_variant, checkout, admin_login):
    # given a pending bank transfer here and one in another store
    order, payment = checkout(store, make_variant(stock=5))
    _, theirs = checkout(other_store, make_variant(store=other_store, stock=5))
    user = store.owner if role == "owner" else member_factory(store, "staff")
    client = admin_login(user)
    response = client.get(PAYMENTS)
    assert [row.pk for row in response.context["cl"].result_list] == [payment.pk]
    # when they mark it paid, twice
    response = client.post(PAYMENTS, {"action": "mark_paid", "_selected_action": [payment.pk]}, follow=True)
    assert "1 payment(s) marked paid." in messages_of(response)
    response = client.post(PAYMENTS, {"action": "mark_paid", "_selected_action": [payment.pk]}, follow=True)
    # then the payment and the order are paid once; the second try is a message
    assert "is paid, not pending" in messages_of(response)
    assert Payment.objects.get(pk=payment.pk).status == "paid"
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("processing", "paid")
    event = OrderEvent.objects.get(order=order, kind="paid")
    assert event.actor_user == user
    assert AuditLog.objects.filter(action="payment.paid").count() == 1
    assert AuditLog.objects.filter(action="order.paid").count() == 1
    # the other store's payment is untouched and not shown
    assert Payment.objects.get(pk=theirs.pk).status == "pending"
    assert "doesn’t exist" in messages_of(client.get(f"{PAYMENTS}{theirs.pk}/change/", follow=True))


def test_the_orders_page_shows_payments_and_marks_paid(store, other_store, make_variant, checkout, admin_login):
    # given a cash-on-delivery order (processing, payment pending)
    order, payment = checkout(store, make_variant(stock=5, price="12.5"), method="cod", quantity=2)
    client = admin_login(store.owner)
    # its page lists the payment and offers "Mark paid"
    response = client.get(f"{ORDERS}{order.pk}/change/")
    text = response.content.decode()
    assert response.context["order_payable"].pk == payment.pk
    assert "Mark paid" in text and "cash on delivery payment of 25.00 USD" in text
    # when the owner marks it paid there
    response = client.post(f"{ORDERS}{order.pk}/mark-paid/", follow=True)
    # then
    assert "1 order(s) marked paid." in messages_of(response)
    assert Payment.objects.get(pk=payment.pk).status == "paid"
    assert Order.objects.get(pk=order.pk).payment_status == "paid"
    assert client.get(f"{ORDERS}{order.pk}/change/").context["order_payable"] is None
    # and another store's order cannot be marked paid from here
    theirs, their_payment = checkout(other_store, make_variant(store=other_store, stock=5))
    assert client.post(f"{ORDERS}{theirs.pk}/mark-paid/").status_code == 404
    assert Payment.objects.get(pk=their_payment.pk).status == "pending"


def test_mark_paid_from_the_orders_list_reports_each_refusal(store, make_variant, checkout, admin_login):
    # given a pending bank transfer, and a cancelled one
    variant = make_variant(stock=10)
    payable, payment = checkout(store, variant)
    cancelled, _ = checkout(store, variant)
    client = admin_login(store.owner)
    client.post(ORDERS, {"action": "mark_cancelled", "_selected_action": [cancelled.pk]})
    # when both are marked paid
    response = client.post(ORDERS, {"action": "mark_paid", "_selected_action": [payable.pk, cancelled.pk]},
                           follow=True)
    # then the first is paid; the cancelled one (its payment cancelled with it) is refused with its number
    text = messages_of(response)
    assert "1 order(s) marked paid." in text
    assert f"{cancelled.number}: no pending cash-on-delivery or bank-transfer payment." in text
    assert Payment.objects.get(pk=payment.pk).status == "paid"
    assert Payment.objects.get(order=cancelled).status == "cancelled"
    assert Order.objects.get(pk=cancelled.pk).payment_status == "unpaid"


def test_payment_methods_are_set_through_the_service(store, admin_login):
    client = admin_login(store.owner)
    # a store turns bank transfer's instructions on from the admin
    response = client.post(f"{GATEWAYS}add/", {"store": store.pk, "gateway": "bank_transfer", "enabled": "on",
                                               "instructions": "  IBAN LY00 1234, quote your order number  "})
    assert response.status_code == 302
    setting = GatewaySetting.objects.get(store=store, gateway="bank_transfer")
    assert (setting.enabled, setting.instructions) == (True, "IBAN LY00 1234, quote your order number")
    # and switches cash on delivery off; instructions for it are refused (it has none)
    response = client.post(f"{GATEWAYS}add/", {"store": store.pk, "gateway": "cod", "instructions": "Pay me"})
    assert response.status_code == 200
    assert "no such setting" in " ".join(response.context["adminform"].form.errors["instructions"])
    assert client.post(f"{GATEWAYS}add/", {"store": store.pk, "gateway": "cod"}).status_code == 302
    assert services.gateways_offered(store=store) == ["bank_transfer"]
    # a second row for the same method is refused: change the first
    response = client.post(f"{GATEWAYS}add/", {"store": store.pk, "gateway": "cod", "enabled": "on"})
    assert "change that row" in " ".join(response.context["adminform"].form.errors["gateway"])
    # a change goes through the service too, audited once each
    cod = GatewaySetting.objects.get(store=store, gateway="cod")
    assert client.post(f"{GATEWAYS}{cod.pk}/change/", {"enabled": "on"}).status_code == 302
    assert services.gateways_offered(store=store) == ["cod", "bank_transfer"]
    assert AuditLog.objects.filter(action="payment_gateway.updated").count() == 3
    assert not AuditLog.objects.filter(action__startswith="admin.").exists()


def test_staff_see_payments_but_not_the_payment_methods_settings(store, member_factory, admin_login):
    client = admin_login(member_factory(store, "staff"))

    assert client.get(PAYMENTS).status_code == 200
    assert client.get(f"{GATEWAYS}add/").status_code == 403
