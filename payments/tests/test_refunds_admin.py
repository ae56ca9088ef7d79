"""Refunds in the merchant dashboard: a payment's "Refund" form and the payments list's "Refund what remains" through
payment_refund (payments.refund in the payment's store), and the refunds list, read-only, per store."""

from decimal import Decimal

import pytest

from auditlog.models import AuditLog
from payments.models import Payment, Refund

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/payments/payment/"
REFUNDS = "/admin/payments/refund/"


def messages_of(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_a_payments_refund_form_refunds_through_the_service(store, paid, admin_login):
    order, payment = paid("bank_transfer")
    client = admin_login(store.owner)
    # the payment's page offers the refund; the form starts from what remains
    page = client.get(f"{PAYMENTS}{payment.pk}/change/")
    assert b'id="payment-refund"' in page.content
    form = client.get(f"{PAYMENTS}{payment.pk}/refund/")
    assert form.status_code == 200
    assert form.context["form"].initial["amount"] == Decimal("20.00")
    assert b"recorded as paid out by you" in form.content
    # when 7.50 is refunded from it
    response = client.post(f"{PAYMENTS}{payment.pk}/refund/", {"amount": "7.50", "reason": "Late"}, follow=True)
    # then
    assert "7.50 USD refunded." in messages_of(response)
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.status) == (Decimal("7.50"), "Late", "succeeded")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("7.50"))
    assert AuditLog.objects.get(action="refund.succeeded").actor_user == store.owner
    assert b"Late" in client.get(f"{PAYMENTS}{payment.pk}/change/").content  # the refunds inline


@pytest.mark.parametrize("values, field, message", [
    ({"amount": "20.01"}, "amount", "At most 20.00 USD remains to refund."),
    ({"amount": "1.005"}, "amount", "Too many decimal places for USD."),
    ({"amount": "5.00", "restock": "on"}, "restock", "Its units are still reserved"),
])
def test_a_refused_refund_is_shown_on_the_form_and_changes_nothing(store, paid, admin_login, values, field, message):
    _, payment = paid("cod")

    response = admin_login(store.owner).post(f"{PAYMENTS}{payment.pk}/refund/", values)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Refund.objects.exists()


def test_a_declined_refund_says_so(store, paid, testpay, admin_login):
    _, payment = paid("testpay")

    response = admin_login(store.owner).post(f"{PAYMENTS}{payment.pk}/refund/",
                                             {"amount": "5.00", "reason": "decline"}, follow=True)

    assert "The refund failed: Declined by the test gateway." in messages_of(response)
    assert Refund.objects.get().status == "failed"
    payment.refresh_from_db()
    assert payment.refunded_amount == 0


def test_refund_what_remains_refunds_each_selected_payment_once(store, other_store, paid, admin_login):
    # given two payments here, one partly refunded, and one in another store
    _, first = paid("cod")
    _, second = paid("bank_transfer")
    _, theirs = paid("cod", at=other_store)
    client = admin_login(store.owner)
    client.post(f"{PAYMENTS}{first.pk}/refund/", {"amount": "5.00"})
    # when what remains of all three is refunded, twice
    selected = [first.pk, second.pk, theirs.pk]
    response = client.post(PAYMENTS, {"action": "refund_rest", "_selected_action": selected}, follow=True)
    again = client.post(PAYMENTS, {"action": "refund_rest", "_selected_action": selected}, follow=True)
    # then this store's two are refunded in full, once; the other store's is untouched
    text = messages_of(response)
    assert "15.00 USD refunded." in text and "20.00 USD refunded." in text
    assert messages_of(again).count("nothing remains to refund") == 2
    assert [(p.status, p.refunded_amount) for p in Payment.objects.filter(pk__in=[first.pk, second.pk])
            .order_by("pk")] == [("refunded", Decimal("20.00")), ("refunded", Decimal("20.00"))]
    assert Refund.objects.filter(payment=first).count() == 2 and Refund.objects.filter(payment=second).count() == 1
    theirs.refresh_from_db()
    assert (theirs.status, theirs.refunded_amount) == ("paid", Decimal("0.00"))


def test_staff_without_payments_refund_cannot_refund(store, paid, member_factory, admin_login):
    _, payment = paid("cod")
    client = admin_login(member_factory(store, "staff"))

    page = client.get(f"{PAYMENTS}{payment.pk}/change/")
    changelist = client.get(PAYMENTS)
    form = client.get(f"{PAYMENTS}{payment.pk}/refund/")
    posted = client.post(f"{PAYMENTS}{payment.pk}/refund/", {"amount": "1.00"})
    action = client.post(PAYMENTS, {"action": "refund_rest", "_selected_action": [payment.pk]})

    assert page.status_code == 200 and b'id="payment-refund"' not in page.content
    assert "refund_rest" not in dict(changelist.context["action_form"].fields["action"].choices)
    assert (form.status_code, posted.status_code) == (403, 403)
    assert action.status_code in (200, 302)
    assert not Refund.objects.exists()


def test_another_stores_payment_has_no_refund_form(store, other_store, paid, admin_login):
    _, theirs = paid("cod", at=other_store)

    response = admin_login(store.owner).post(f"{PAYMENTS}{theirs.pk}/refund/", {"amount": "1.00"})

    assert response.status_code == 404
    assert not Refund.objects.exists()


def test_the_refunds_list_is_read_only_and_per_store(store, other_store, paid, admin_login):
    from payments import services

    _, mine = paid("cod")
    _, theirs = paid("cod", at=other_store)
    refund = services.payment_refund(payment=mine, amount="3.00", reason="Mine")
    services.payment_refund(payment=theirs, amount="4.00", reason="Theirs")
    client = admin_login(store.owner)

    listed = client.get(REFUNDS)
    one = client.get(f"{REFUNDS}{refund.pk}/change/")

    assert [row.pk for row in listed.context["cl"].result_list] == [refund.pk]
    assert one.status_code == 200 and b"Mine" in one.content
    assert client.get(f"{REFUNDS}add/").status_code == 403
    assert client.post(f"{REFUNDS}{refund.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Refund.objects.count() == 2


@pytest.mark.parametrize("currency, shown", [("USD", "20.00"), ("LYD", "20.000")])
def test_the_refund_form_shows_what_remains_with_the_currency_places(store_factory, paid, admin_login, currency,
                                                                      shown):
    store = store_factory(currency=currency)
    _, payment = paid("cod", at=store)
    form = admin_login(store.owner).get(f"{PAYMENTS}{payment.pk}/refund/").content.decode()
    assert f'name="amount" value="{shown}"' in form
