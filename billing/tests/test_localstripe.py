"""Subscriptions through the official SDK against a real localstripe (tests/gateways.py): the customer, the
subscription with the plan's price, a plan change, a move to Free (cancelled at the period's end), the invoices.

What localstripe does not have, and so is not covered here: Price objects (it has the Plans a recurring price
answers as; the subscription is sent ``items[0][plan]``), the customer portal (POST /v1/billing_portal/sessions:
the test checks it is answered 402 PAYMENT_ERROR, not a 500), ``customer.subscription.updated`` events (it sends
created and deleted: the webhook tests sign their events themselves)."""

import uuid

import pytest
import stripe

from billing.models import Subscription
from billing.services import billing_client, subscription_change
from config.api.errors import DomainError
from plans.models import Plan
from stores.models import Store
from tests.races import race

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing(settings, stripe_api):
    settings.BILLING_STRIPE_SECRET_KEY = "sk_test_platform_billing"
    stripe.max_network_retries = 0
    run = uuid.uuid4().hex[:8]
    client = billing_client()
    for code, amount in (("pro", 2900), ("business", 9900)):
        price = f"price_{code}_{run}"
        client.v1.plans.create(
            params={
                "id": price,
                "amount": amount,
                "currency": "usd",
                "interval": "month",
                "product": {"name": f"{code} {run}"},
            }
        )
        Plan.objects.filter(code=code).update(stripe_price_id=price)
    return stripe_api


def test_a_store_subscribes_changes_plan_and_lists_its_invoices(billing, client_for, store):
    owner = client_for(store.owner)
    url = f"/api/v1/stores/{store.slug}/subscription"

    response = owner.post(url, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["plan"]["code"], data["status"], data["billing"]) == ("pro", "active", "stripe")
    assert data["current_period_end"]
    subscription = Subscription.objects.get(store=store)
    assert subscription.stripe_customer_id.startswith("cus_") and subscription.stripe_subscription_id.startswith("sub_")
    store.refresh_from_db()
    assert store.plan.code == "pro"
    # Stripe's own record of it
    remote = billing_client().v1.subscriptions.retrieve(subscription.stripe_subscription_id).to_dict()
    assert remote["metadata"]["store_id"] == str(store.pk) and remote["status"] == "active"

    invoices = owner.get(f"{url}/invoices")
    assert invoices.status_code == 200, invoices.json()
    first = invoices.json()["data"][0]
    assert (first["status"], first["amount_paid"], first["currency"]) == ("paid", "29.00", "USD")

    # an upgrade changes the one subscription's price
    response = owner.post(url, {"plan": "business"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["plan"]["code"] == "business"
    assert Subscription.objects.get(store=store).stripe_subscription_id == subscription.stripe_subscription_id

    # Free: cancelled at the end of the period paid for; the paid plan stays until then
    response = owner.post(url, {"plan": "free"}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["plan"]["code"], data["cancel_at_period_end"]) == ("business", True)


def test_a_declined_card_is_a_402_and_changes_no_plan(billing, client_for, store):
    response = client_for(store.owner).post(
        f"/api/v1/stores/{store.slug}/subscription",
        {"plan": "pro", "payment_method": "pm_card_chargeCustomerFail"},
        format="json",
    )
    assert response.status_code in (200, 402), response.json()
    store.refresh_from_db()
    assert store.plan_id is None  # never the paid plan without a payment


def test_the_portal_link_is_a_clear_error_where_stripe_has_none(billing, client_for, store):
    owner = client_for(store.owner)
    url = f"/api/v1/stores/{store.slug}/subscription"
    # before any subscription: nothing to manage
    assert owner.post(f"{url}/portal", {}, format="json").status_code == 400
    assert owner.post(url, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json").status_code == 200
    # localstripe has no billing portal: the SDK's error is answered 402 PAYMENT_ERROR, never a 500
    response = owner.post(f"{url}/portal", {}, format="json")
    assert response.status_code == 402, response.json()
    assert response.json()["error"]["code"] == "PAYMENT_ERROR"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_subscribes_make_one_customer_and_one_subscription(billing, store_factory):
    # given: a paid plan with its price at Stripe (made here: a transactional test may have flushed the seeded plans)
    run = uuid.uuid4().hex[:8]
    client = billing_client()
    client.v1.plans.create(
        params={"id": f"price_race_{run}", "amount": 1900, "currency": "usd", "interval": "month",
                "product": {"name": f"race {run}"}}
    )
    plan, _ = Plan.objects.update_or_create(
        code=f"race-{run}", defaults={"name": "Race", "price": "19", "stripe_price_id": f"price_race_{run}"}
    )
    store = store_factory(name=f"Race {run}", slug=f"race-{run}")

    # when: two requests subscribe the store at once (each thread on its own connection)
    def subscribe():
        return subscription_change(store=Store.objects.get(pk=store.pk), plan_code=plan.code,
                                   payment_method="pm_card_visa")

    results = race(subscribe, subscribe)

    # then: one went through; the other either found it done or was refused 409 (a change under way), never a 500
    assert results.count(None) >= 1, results
    for result in results:
        assert result is None or (isinstance(result, DomainError) and result.status_code == 409), results
    # Stripe has one customer for the store, and it one subscription, the ones the row names
    customers = [c for c in client.v1.customers.list(params={"limit": 100}).data
                 if (c.to_dict().get("metadata") or {}).get("store") == store.slug]
    assert len(customers) == 1, [c.id for c in customers]
    subscriptions = client.v1.subscriptions.list(params={"customer": customers[0].id, "limit": 100}).data
    assert len(subscriptions) == 1, [s.id for s in subscriptions]
    row = Subscription.objects.get(store=store)
    assert (row.stripe_customer_id, row.stripe_subscription_id, row.status, row.plan_id) == (
        customers[0].id, subscriptions[0].id, "active", plan.pk)
    store.refresh_from_db()
    assert store.plan_id == plan.pk
