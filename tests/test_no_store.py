"""Answers that carry a token or a secret are never stored by a browser or a proxy: Cache-Control no-store."""

import pytest

from orders import services as orders_services
from payments.models import Payment
from payments.tests.card import card_gateway  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}


def no_store(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


def register(api, **_):
    return api.post("/api/v1/auth/register", {"email": "new@example.com", "password": "Str0ng-pass-phrase",
                                              "name": "New"}, format="json"), 201


def login(api, user, password, **_):
    return api.post("/api/v1/auth/login", {"email": user.email, "password": password}, format="json"), 200


def refresh(api, user, password, **_):
    tokens = api.post("/api/v1/auth/login", {"email": user.email, "password": password}, format="json").json()
    return api.post("/api/v1/auth/refresh", {"refresh": tokens["data"]["refresh"]}, format="json"), 200


def social_code_exchange(api, user, **_):
    from social.services import login_code_issue

    return api.post("/api/v1/auth/social/exchange", {"code": login_code_issue(user=user)}, format="json"), 200


def totp_setup(client_for, user, **_):
    return client_for(user).post("/api/v1/auth/2fa/setup"), 200


def api_key_create(client_for, store, **_):
    return client_for(store.owner).post(f"/api/v1/stores/{store.slug}/api-keys",
                                        {"name": "ERP", "scopes": ["catalog.write"]}, format="json"), 201


def webhook_endpoint_create(client_for, store, settings, **_):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # an address literal: no DNS in tests
    return client_for(store.owner).post(f"/api/v1/stores/{store.slug}/webhooks",
                                        {"url": "http://127.0.0.1:9/in", "events": ["order.paid"]},
                                        format="json"), 201


def checkout_body(store, make_variant) -> dict:
    cart = orders_services.cart_create(store=store, user=None)
    orders_services.cart_item_add(cart=cart, variant_id=make_variant(price="10.00", stock=5).pk, quantity=1)
    return {"cart": str(cart.pk), "email": "buyer@example.com", "customer_name": "Buyer",
            "shipping_address": ADDRESS, "payment_method": "testcard"}


def checkout(api, store, make_variant, **_):
    return api.post(f"/api/v1/stores/{store.slug}/checkout", checkout_body(store, make_variant), format="json",
                    HTTP_IDEMPOTENCY_KEY="no-store-1"), 201


def payment_create(api, store, make_variant, **kwargs):
    order_id = checkout(api, store, make_variant)[0].json()["data"]["id"]
    Payment.objects.filter(order_id=order_id).update(status="failed")
    return api.post(f"/api/v1/stores/{store.slug}/payments",
                    {"order": order_id, "gateway": "testcard", "email": "buyer@example.com"}, format="json"), 201


def upload_sign(api, store, **_):
    return api.post(f"/api/v1/stores/{store.slug}/uploads/sign", {"filename": "part.stl", "size": 684},
                    format="json"), 201


def stream_ticket(client_for, user, **_):
    return client_for(user).post("/api/v1/stream/ticket", {}, format="json"), 201


@pytest.mark.parametrize("call", [register, login, refresh, social_code_exchange, totp_setup, api_key_create,
                                  webhook_endpoint_create, checkout, payment_create, stream_ticket, upload_sign])
def test_answers_carrying_a_secret_are_not_stored(call, api, client_for, user, password, store, make_variant,
                                                  settings, card_gateway):  # noqa: F811
    response, status = call(api=api, client_for=client_for, user=user, password=password, store=store,
                            make_variant=make_variant, settings=settings)
    assert response.status_code == status, response.json()
    assert no_store(response), response.get("Cache-Control")


def test_a_replayed_checkout_is_not_stored_either(api, store, make_variant, card_gateway):  # noqa: F811
    body = checkout_body(store, make_variant)
    url = f"/api/v1/stores/{store.slug}/checkout"
    api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="no-store-2")
    replay = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="no-store-2")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert no_store(replay)


def test_a_plain_read_is_not_marked(api, store):
    assert not no_store(api.get(f"/api/v1/stores/{store.slug}/products"))
