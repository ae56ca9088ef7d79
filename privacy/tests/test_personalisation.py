"""Consent to ``personalisation`` (docs/PRIVACY.md "Consent"): the platform personalises nothing itself (no recently
viewed, recommendations or per-person sorting; catalog answers are the same for everyone and cached per store), so
no server path has this question to ask. The purpose is recorded for storefronts that personalise in the browser:
they read the answer from GET /me/consents, and a withdrawal is in the very next answer."""

import pytest
from rest_framework.test import APIClient

from accounts.consents import PERSONALISATION, consent_granted, consents_set

pytestmark = pytest.mark.django_db


def test_a_storefront_reads_the_answer_and_a_withdrawal_counts_at_once(auth_api, user):
    auth_api.put("/api/v1/me/consents", {PERSONALISATION: True}, format="json")
    assert auth_api.get("/api/v1/me/consents").json()["data"][PERSONALISATION]["granted"] is True
    assert consent_granted(user=user, purpose=PERSONALISATION)
    auth_api.put("/api/v1/me/consents", {PERSONALISATION: False}, format="json")
    assert auth_api.get("/api/v1/me/consents").json()["data"][PERSONALISATION]["granted"] is False
    assert not consent_granted(user=user, purpose=PERSONALISATION)


def test_the_catalog_answers_everyone_alike_whatever_their_personalisation_consent(store, user_factory, make_variant):
    # given products, a shopper who consents to personalisation and one who refused
    variants = [make_variant(store=store, price=price) for price in ("5.00", "9.00", "7.00")]
    yes, no = user_factory(), user_factory()
    consents_set(user=yes, answers={PERSONALISATION: True})
    consents_set(user=no, answers={PERSONALISATION: False})
    clients = [APIClient()]
    for shopper in (yes, no):
        client = APIClient()
        client.force_authenticate(shopper)
        clients.append(client)
    # then the list, a sorted list and a product read the same for them and for an anonymous visitor
    for path in (f"/api/v1/stores/{store.slug}/products", f"/api/v1/stores/{store.slug}/products?sort=price",
                 f"/api/v1/stores/{store.slug}/products/{variants[0].product.pk}"):
        answers = [client.get(path) for client in clients]
        assert all(answer.status_code == 200 for answer in answers), [a.json() for a in answers]
        bodies = [{key: value for key, value in answer.json().items() if key != "timestamp"} for answer in answers]
        assert bodies[0]["data"] and all(body == bodies[0] for body in bodies)
