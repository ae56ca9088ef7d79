"""A change of the store's subscription claims its row while it talks to Stripe: a second one meanwhile is 409
CONFLICT (the race itself, against localstripe on PostgreSQL, is in test_localstripe.py); a stale claim is taken."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def billing_on(settings):
    settings.BILLING_STRIPE_SECRET_KEY = "sk_test_platform"


def test_a_change_while_another_is_under_way_is_409_and_a_stale_claim_is_taken(client_for, store):
    owner = client_for(store.owner)
    url = f"/api/v1/stores/{store.slug}/subscription"
    Subscription.objects.create(store=store, change_claimed_until=timezone.now() + timedelta(seconds=60))

    refused = owner.post(url, {"plan": "free"}, format="json")

    assert refused.status_code == 409, refused.json()
    assert refused.json()["error"]["code"] == "CONFLICT"
    # the claim of a change that died mid-way lapses: the next change goes through and leaves the row unclaimed
    Subscription.objects.filter(store=store).update(change_claimed_until=timezone.now() - timedelta(seconds=1))
    response = owner.post(url, {"plan": "free"}, format="json")
    assert response.status_code == 200, response.json()
    assert Subscription.objects.get(store=store).change_claimed_until is None
