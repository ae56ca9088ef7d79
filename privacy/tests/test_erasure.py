"""Deletion (API.md "Customers' data rights"): a customer deletes their account (POST /me/delete) and a store erases a
guest (POST /stores/{store}/customers/erase). The merchants' books stay whole; nobody else's data changes."""

import json
from decimal import Decimal

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.consents import consents_set
from accounts.models import Consent, User
from auditlog.models import AuditLog
from catalog.models import Review
from notifications.models import Notification
from orders.models import Cart, Order, OrderLine
from payments import services as payments
from payments.models import Payment
from privacy.models import Erasure
from teams.models import ApiKey, Membership
from teams.services import api_key_create

pytestmark = pytest.mark.django_db

DELETE = "/api/v1/me/delete"
ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "phone": "+218 91 000 0000", "country": "LY"}


@pytest.fixture
def bought(store, cart_with, make_variant, django_capture_on_commit_callbacks):
    """``bought(user, email, store=…)``: a paid order through checkout, its events fanned out (notifications)."""

    def buy(user, email, *, store=store, address=ADDRESS):
        cart = cart_with((make_variant(store=store, price="12.50"), 2), user=user, store=store)
        with django_capture_on_commit_callbacks(execute=True):
            order, payment = payments.checkout_complete(
                store=store, cart=cart, email=email, customer_name=f"Name of {email}", shipping_address=address,
                payment_method="cod", user=user, ip="203.0.113.7")
            payments.payment_mark_paid(payment=payment, actor=store.owner)
        return Order.objects.get(pk=order.pk)

    return buy


def books(order: Order) -> tuple:
    order.refresh_from_db()
    lines = list(OrderLine.objects.filter(order=order).values_list("sku", "quantity", "unit_price", "tax",
                                                                   "line_total"))
    return (order.number, order.status, order.payment_status, order.subtotal, order.discount, order.shipping,
            order.tax, order.total, order.currency, lines, list(order.payments.values_list("amount", "status")))


def login(email, password) -> dict:
    return APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json")


def mentions(text: str) -> list[str]:
    """Where ``text`` still appears, by table."""
    found = []
    for label, rows in [
        ("orders", Order.objects.values("email", "customer_name", "shipping_address", "billing_address")),
        ("payments", Payment.objects.values("email")),
        ("notifications", Notification.objects.values("title", "body", "data")),
        ("audit", AuditLog.objects.values("actor_label", "changes")),
        ("users", User.objects.values("email", "name")),
    ]:
        if text.lower() in json.dumps(list(rows), default=str).lower():
            found.append(label)
    return found


def test_a_customer_deletes_their_account_and_is_erased_everywhere(
        store, other_store, user, user_factory, password, bought, make_variant, cart_with,
        django_capture_on_commit_callbacks):
    # given alice's paid order (the owner was notified of it), review, consent, a cart in another store, and bob's
    alice = user
    hers = bought(alice, "alice@example.com")
    theirs = bought(user_factory(email="bob@example.com", name="Bob"), "bob@example.com",
                    address={"line1": "9 Other Rd", "city": "Benghazi"})
    guest = bought(None, "carol@example.com")
    Review.objects.create(store=store, product=make_variant().product, user=alice, rating=5, title="Great")
    consents_set(user=alice, answers={"marketing_email": True})
    cart_with((make_variant(store=other_store), 1), user=alice, store=other_store)
    assert Notification.objects.filter(user=store.owner, body__icontains="alice@example.com").exists()
    before, theirs_before, guest_before = books(hers), books(theirs), books(guest)
    tokens = login("alice@example.com", password).json()["data"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    mail.outbox.clear()
    # when she deletes her account with her password
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELETE, {"password": password}, format="json")
    # then
    assert response.status_code == 202, response.json()
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]  # told once, that it is done
    assert "deleted" in mail.outbox[0].subject
    assert response.json()["data"]["counts"]["orders"] == 1
    # the store's books are whole: same amounts, tax, lines and payments; the buyer is "deleted customer"
    assert books(hers) == before
    hers.refresh_from_db()
    assert (hers.email, hers.customer_name, hers.user_id) == ("", "deleted customer", None)
    assert hers.shipping_address == {"country": "LY"} and hers.billing_address == {"country": "LY"}
    payment = Payment.objects.get(order=hers)
    assert (payment.email, payment.ip) == ("", None)
    # nothing of her is left anywhere, and what was hers is gone
    assert mentions("alice@example.com") == []
    assert not Review.objects.filter(user=alice).exists() and not Consent.objects.filter(user=alice).exists()
    assert not Cart.objects.filter(user=alice).exists()
    # other customers are untouched: bob (an account) and carol (a guest), in their orders and the owner's notices
    assert books(theirs) == theirs_before and books(guest) == guest_before
    assert Order.objects.get(pk=theirs.pk).email == "bob@example.com"
    assert Order.objects.get(pk=theirs.pk).shipping_address == {"line1": "9 Other Rd", "city": "Benghazi"}
    assert Order.objects.get(pk=guest.pk).customer_name == "Name of carol@example.com"
    assert Notification.objects.filter(user=store.owner, body__icontains="bob@example.com").exists()
    # her credentials and tokens are dead; her email is free for a new sign-up
    assert client.get("/api/v1/auth/me").status_code == 401
    assert APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert login("alice@example.com", password).status_code == 401
    again = APIClient().post("/api/v1/auth/register", {"email": "alice@example.com", "password": "An0ther-Secret!",
                                                       "name": "Alice again"}, format="json")
    assert again.status_code == 201, again.json()
    # recorded without the erased data: the platform's record and the store's audit entry; she is told
    erasure = Erasure.objects.get()
    assert (erasure.kind, erasure.subject) == ("account", f"user:{alice.pk}")
    entry = AuditLog.objects.get(store=store, action="customer.erased")
    assert entry.object_id == str(alice.pk) and "alice" not in json.dumps(entry.changes)


def test_the_wrong_password_or_a_missing_code_changes_nothing(user, auth_api, password):
    response = auth_api.post(DELETE, {"password": "wrong-password"}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert auth_api.post(DELETE, {}, format="json").status_code == 400
    User.objects.filter(pk=user.pk).update(two_factor_enabled=True, totp_secret="JBSWY3DPEHPK3PXP")
    response = auth_api.post(DELETE, {"password": password}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "OTP_REQUIRED"
    user.refresh_from_db()
    assert user.is_active and user.email == "alice@example.com" and not Erasure.objects.exists()
    assert APIClient().post(DELETE, {"password": password}, format="json").status_code == 401


def test_the_last_owner_of_a_store_cannot_delete_their_account(store, client_for, password):
    response = client_for(store.owner).post(DELETE, {"password": password}, format="json")
    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert error["code"] == "CONFLICT" and error["details"]["stores"] == ["alpha"]
    assert "owner" in error["message"]
    store.owner.refresh_from_db()
    assert store.owner.is_active and not Erasure.objects.exists()


def test_an_owner_with_a_co_owner_leaves_and_the_store_passes_to_them(store, member_factory, client_for, password):
    co_owner = member_factory(store, "owner", email="co@example.com")
    first = store.owner
    key, _ = api_key_create(store=store, name="ERP", scopes=["orders.manage"], created_by=first, actor=first)
    response = client_for(first).post(DELETE, {"password": password}, format="json")
    assert response.status_code == 202, response.json()
    store.refresh_from_db()
    assert store.owner_id == co_owner.pk
    assert not Membership.objects.filter(user=first).exists()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    # the store's audit entries made by them name "deleted user", never their email
    assert mentions(first.email) == []


# --- A store erases a guest ---------------------------------------------------------------------------------------
def erase_url(store) -> str:
    return f"/api/v1/stores/{store.slug}/customers/erase"


def test_a_store_erases_a_guest_in_that_store_only(store, other_store, bought, member_factory, client_for):
    # given carol's guest orders in both stores, and a customer with an account using the same email in this one
    here = bought(None, "carol@example.com")
    there = bought(None, "carol@example.com", store=other_store)
    registered = bought(member_factory(other_store, "viewer", email="carol@example.com"), "carol@example.com")
    staff = member_factory(store, "staff", email="staff@example.com")
    before, there_before, registered_before = books(here), books(there), books(registered)
    # when the staff member (orders.manage) erases her
    response = client_for(staff).post(erase_url(store), {"email": "Carol@Example.com"}, format="json")
    # then this store's guest order is erased, its books whole
    assert response.status_code == 202, response.json()
    assert response.json()["data"]["counts"]["orders"] == 1
    assert books(here) == before
    here.refresh_from_db()
    assert (here.email, here.customer_name, here.shipping_address) == ("", "deleted customer", {"country": "LY"})
    assert not Notification.objects.filter(store=store, body__icontains="carol@example.com").exists()
    assert "carol@example.com" not in json.dumps(list(AuditLog.objects.filter(store=store).values(
        "actor_label", "changes")), default=str).lower()
    # the other store's order and notices, and the account's order, are untouched
    assert books(there) == there_before and Order.objects.get(pk=there.pk).email == "carol@example.com"
    assert Notification.objects.filter(store=other_store, body__icontains="carol@example.com").exists()
    assert books(registered) == registered_before
    assert Order.objects.get(pk=registered.pk).email == "carol@example.com"
    # audited without the email
    entry = AuditLog.objects.get(store=store, action="customer.erased")
    assert entry.actor_label == "staff@example.com" and "carol" not in json.dumps(entry.changes).lower()
    assert Erasure.objects.get().store == store
    # a second run finds nothing more to do
    again = client_for(staff).post(erase_url(store), {"email": "carol@example.com"}, format="json")
    assert again.status_code == 202 and again.json()["data"]["counts"]["orders"] == 0


def test_guest_erasure_needs_orders_manage_in_that_store(store, other_store, member_factory, client_for, api,
                                                         bought):
    bought(None, "carol@example.com")
    assert client_for(member_factory(store, "viewer")).post(erase_url(store), {"email": "carol@example.com"},
                                                            format="json").status_code == 403
    # another store's member, and a store's owner at another store's address: 404
    assert client_for(other_store.owner).post(erase_url(store), {"email": "carol@example.com"},
                                              format="json").status_code == 404
    assert api.post(erase_url(store), {"email": "carol@example.com"}, format="json").status_code == 401
    bad = client_for(store.owner).post(erase_url(store), {"email": "not an email"}, format="json")
    assert bad.status_code == 400 and "email" in bad.json()["error"]["details"]
    assert Order.objects.get().email == "carol@example.com" and not Erasure.objects.exists()


def test_a_merchants_totals_stay_whole_after_erasures(store, bought, user, user_factory, client_for, password):
    orders = [bought(user, "alice@example.com"), bought(None, "carol@example.com"),
              bought(user_factory(), "dave@example.com")]
    total = sum((order.total for order in orders), Decimal(0))
    client_for(user).post(DELETE, {"password": password}, format="json")
    client_for(store.owner).post(erase_url(store), {"email": "carol@example.com"}, format="json")
    assert sum(Order.objects.filter(store=store).values_list("total", flat=True)) == total
    assert Order.objects.filter(store=store, customer_name="deleted customer").count() == 2


def test_an_erased_account_leaves_no_trace_in_stripe_billing_events(user, user_factory):
    # given Stripe Billing's events as stored: an invoice that names her (her store's billing contact), and another's
    from billing.models import BillingEvent
    from privacy.services.erasure import account_erase

    user.name = "Alice Merchant"
    user.save(update_fields=["name"])
    invoice = {"id": "in_1", "object": "invoice", "customer": "cus_1", "customer_email": user.email.upper(),
               "customer_name": "Alice Merchant", "customer_address": {"line1": "1 Main St", "country": "LY"},
               "amount_due": 2900, "description": f"Pro plan for Alice Merchant <{user.email}>"}
    hers = BillingEvent.objects.create(event_id="evt_1", event_type="invoice.payment_failed", status="processed",
                                       payload={"id": "evt_1", "type": "invoice.payment_failed",
                                                "data": {"object": invoice}},
                                       error=f"no subscription for {user.email}")
    other = {"id": "evt_2", "data": {"object": {"customer_email": "bob@example.com", "customer_name": "Bob"}}}
    theirs = BillingEvent.objects.create(event_id="evt_2", event_type="invoice.paid", payload=other)

    # when her account is erased
    erasure = account_erase(user=user)

    # then her email, name and address are gone from the payload and the error; Stripe's ids and amounts stay
    hers.refresh_from_db()
    text = json.dumps(hers.payload).lower() + hers.error.lower()
    assert "alice" not in text and "main st" not in text, text
    obj = hers.payload["data"]["object"]
    assert (obj["id"], obj["customer"], obj["amount_due"], hers.status) == ("in_1", "cus_1", 2900, "processed")
    assert obj["customer_email"] == "[erased]" and obj["description"] == "Pro plan for [erased] <[erased]>"
    assert erasure.counts["billing_events"] == 1
    theirs.refresh_from_db()
    assert theirs.payload == other
