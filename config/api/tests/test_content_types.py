"""JSON in (API.md "Conventions"): a write refuses a form or multipart body with 415
UNSUPPORTED_MEDIA_TYPE in the envelope, before anything runs; only uploads take multipart.

Every write route is found by walking the URL conf (tests/isolation.py), so a new endpoint is
covered without touching this file; a representative set is then checked against real rows:
the refused body changes nothing, the same body as JSON does what it says.
"""

import pytest
from django.apps import apps
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import resolve
from rest_framework.views import APIView

from tests.factories import CategoryFactory, ProductFactory, image_upload
from tests.isolation import all_routes

pytestmark = pytest.mark.django_db

# (view, method) that take multipart: the uploads (API.md "multipart for uploads"). A gateway's
# webhook posting a form would be listed here too, with the parser it sets.
UPLOADS = {("ProductImageViewSet", "POST")}
# (view, method) that take a body of any type: a gateway's notification, whose signature is checked over the raw
# bytes in whatever type the gateway sends (payments/tests/test_webhooks.py checks a text/plain one), and Stripe
# Billing's events for the platform (billing/tests/test_webhooks.py).
ANY_BODY = {("PaymentWebhookView", "POST"), ("BillingWebhookView", "POST")}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

FORM = ("application/x-www-form-urlencoded", "name=x&email=a%40example.com&password=x")
MULTIPART = (MULTIPART_CONTENT, encode_multipart(BOUNDARY, {"name": "x", "email": "a@example.com"}))
JSON = ("application/json", '{"name": "x"}')

API_ROUTES = [route for route in all_routes()
              if route.regex.lstrip("^").startswith("api/") and isinstance(route.view_class, type)
              and issubclass(route.view_class, APIView)]
WRITES = [(route, method) for route in API_ROUTES for method in route.methods
          if method in WRITE_METHODS and (route.view_class.__name__, method) not in ANY_BODY]


@pytest.fixture(autouse=True)
def _no_throttling(monkeypatch):
    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.allow_request", lambda self, r, v: True)


def _send(client, method: str, url: str, body: tuple[str, str]):
    content_type, data = body
    return getattr(client, method.lower())(url, data=data, content_type=content_type)


def assert_415(response):
    assert response.status_code == 415, (response.status_code, response.content[:300])
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE", body
    assert "timestamp" in body and b"Traceback" not in response.content


def test_the_walk_finds_the_write_endpoints():
    found = {f"{method} {route}" for route, method in WRITES}
    for expected in ["POST api/v1/stores/?$", "POST api/v1/auth/login", "PATCH api/v1/auth/me",
                     "/categories/?$", "/products/?$", "/members/?$", "/webhooks/?$", "PUT api/v1/notifications/pref",
                     "POST api/v1/stores/(?P<store>[-\\w]+)/products/(?P<product_id>\\d+)/images/?$"]:
        assert any(expected in call for call in found), expected


@pytest.mark.parametrize("route, method", WRITES, ids=lambda value: str(value))
def test_every_write_refuses_a_body_it_does_not_parse(api, route, method):
    # given any URL of the route (refused before the view looks anything up)
    url = route.url({name: "1" for name in route.kwargs})
    assert resolve(url).func is route.pattern.callback, url
    upload = (route.view_class.__name__, method) in UPLOADS
    # when a body of a type the endpoint does not take is sent (JSON only, or multipart only)
    for body in [FORM, JSON] if upload else [FORM, MULTIPART]:
        # then it is 415 in the envelope
        assert_415(_send(api, method, url, body))


# --- against real rows -----------------------------------------------------------------------------
def _everything() -> dict:
    """Every row of every table: what a refused request must leave as it was."""
    return {model._meta.label: list(model._default_manager.order_by("pk").values())
            for model in apps.get_models() if not model._meta.proxy and model._meta.managed}


@pytest.fixture
def world(store, user_factory, settings, tmp_path):
    from notifications.models import WebhookEndpoint

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.MEDIA_ROOT = tmp_path / "media"
    product = ProductFactory(store=store)
    return {
        "store": store,
        "category": CategoryFactory(store=store),
        "product": product,
        "webhook": WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/in",
                                                  events=["order.paid"]),
        "newcomer": user_factory(email="newcomer@example.com"),
    }


def _image(world):
    from catalog.services import product_image_add

    return product_image_add(product=world["product"], upload=image_upload(), actor=world["store"].owner)


# (method, path from the world, the JSON body it takes, the status that JSON body gets)
CASES = {
    "stores create": ("POST", lambda w: "stores", {"name": "New", "currency": "USD"}, 201),
    "store update": ("PATCH", lambda w: f"stores/{w['store'].slug}", {"name": "Renamed"}, 200),
    "category create": ("POST", lambda w: f"stores/{w['store'].slug}/categories", {"name": "Lamps"}, 201),
    "category update": ("PATCH", lambda w: f"stores/{w['store'].slug}/categories/{w['category'].pk}",
                        {"name": "Lights"}, 200),
    "product create": ("POST", lambda w: f"stores/{w['store'].slug}/products", {"name": "Lamp"}, 201),
    "product update": ("PATCH", lambda w: f"stores/{w['store'].slug}/products/{w['product'].pk}",
                       {"name": "Renamed"}, 200),
    "product unpublish (no body)": ("POST", lambda w: f"stores/{w['store'].slug}/products/{w['product'].pk}/unpublish",
                                    {}, 200),
    "variant create": ("POST", lambda w: f"stores/{w['store'].slug}/products/{w['product'].pk}/variants",
                       {"sku": "NEW-1", "name": "New", "price": "5.00", "stock_quantity": 1}, 201),
    "image update": ("PATCH", lambda w: f"stores/{w['store'].slug}/products/{w['product'].pk}/images/"
                                        f"{_image(w).pk}", {"alt": "Side"}, 200),
    "webhook create": ("POST", lambda w: f"stores/{w['store'].slug}/webhooks",
                       {"url": "https://127.0.0.1/hook", "events": ["order.paid"]}, 201),
    "webhook update": ("PATCH", lambda w: f"stores/{w['store'].slug}/webhooks/{w['webhook'].pk}",
                       {"is_active": False}, 200),
    "member add": ("POST", lambda w: f"stores/{w['store'].slug}/members",
                   {"email": "newcomer@example.com", "role": "staff"}, 201),
    "api key create": ("POST", lambda w: f"stores/{w['store'].slug}/api-keys", {"name": "k", "scopes": []}, 201),
    "notification preferences": ("PUT", lambda w: "notifications/preferences",
                                 {"order.created": {"email": False}}, 200),
    "notifications read all (no body)": ("PUT", lambda w: "notifications/read-all", {}, 200),
    "auth me": ("PATCH", lambda w: "auth/me", {"name": "New name"}, 200),
}


@pytest.mark.parametrize("case", CASES)
def test_a_form_or_multipart_body_changes_nothing(case, world, client_for):
    method, path, json_body, json_status = CASES[case]
    client = client_for(world["store"].owner)
    url = f"/api/v1/{path(world)}"
    before = _everything()
    # when the body comes as a form, then as multipart
    for body in (FORM, MULTIPART):
        assert_415(_send(client, method, url, body))
    # then nothing changed
    assert _everything() == before
    # while the same request as JSON does what it says
    response = getattr(client, method.lower())(url, json_body, format="json")
    assert response.status_code == json_status, response.json()


@pytest.mark.parametrize("body", [FORM, MULTIPART])
def test_login_takes_json_only(body, api, user, password):
    before = _everything()
    assert_415(_send(api, "POST", "/api/v1/auth/login", body))
    assert _everything() == before
    response = api.post("/api/v1/auth/login", {"email": user.email, "password": password}, format="json")
    assert response.status_code == 200, response.json()


def test_an_image_upload_takes_multipart_and_nothing_else(world, client_for):
    from catalog.models import ProductImage

    client = client_for(world["store"].owner)
    url = f"/api/v1/stores/{world['store'].slug}/products/{world['product'].pk}/images"
    # a form or JSON body is refused, and stores nothing
    assert_415(_send(client, "POST", url, ("application/x-www-form-urlencoded", "alt=front")))
    assert_415(client.post(url, {"alt": "front"}, format="json"))
    assert not ProductImage.objects.exists()
    # multipart is the upload
    response = client.post(url, {"file": image_upload(), "alt": "front"}, format="multipart")
    assert response.status_code == 201, response.json()
    assert ProductImage.objects.get().alt == "front"
