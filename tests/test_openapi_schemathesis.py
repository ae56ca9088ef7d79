"""The OpenAPI document says what the API answers: schemathesis (4.x) draws requests for every operation of
/api/schema/ from the document itself (schema-valid ones and invalid ones), sends them to the app on a seeded
database (the demo stores) as an anonymous caller, the owner (a JWT) or an API key, as each operation's security
allows, and checks every answer: no 5xx, a documented status and content type, and a body that matches the
operation's response schema.

Each request runs in a savepoint rolled back after it, so every one starts from the same seeded data (a DELETE of
the store does not turn the rest into 404s), with the real ids of the seeded objects in its path. The number of
examples per operation is bounded (SCHEMATHESIS_EXAMPLES, 5 by default): about 700 requests, some 30 s of CPU on
SQLite and on PostgreSQL + Redis alike. SCHEMATHESIS_SUMMARY=1 prints the statuses each operation answered.

The app is Django's WSGI handler called in this thread, on the test's own connection: Django's request signals
would close that connection at the first request (close_old_connections sees a transaction where autocommit is
expected), so they are disconnected for the run, as Django's test client does.
"""

import os
from io import StringIO

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCHEMA_URL = "/api/schema/?format=json"


@pytest.fixture
def app():
    """Django's WSGI handler, its requests on this test's connection (see the module's docstring)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def throttles_off(monkeypatch):
    """One client sends every request: the throttles would answer 429 to many of them (a documented answer, but
    one that checks nothing else). DRF's throttles read their rates once, into SimpleRateThrottle.THROTTLE_RATES;
    a scope without a rate is not limited."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", dict.fromkeys(SimpleRateThrottle.THROTTLE_RATES))


def seeded() -> dict:
    """The demo data (seed_demo), the owner's JWT, a key with every scope, and the path values of real objects of
    the store ``alpha`` by parameter name (objects the seed has none of are made here)."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from analytics.models import Export
    from auditlog.models import AuditLog, SecurityKind
    from auditlog.security import record_security_event
    from catalog.models import Category, Product, Review
    from notifications.models import Notification, WebhookDelivery
    from notifications.services import webhook_endpoint_create
    from orders import services as orders_services
    from orders.models import Coupon, Order, ShippingMethod
    from payments.models import Payment, Refund
    from stores.models import Store
    from teams.models import Invitation, Membership
    from teams.permissions import ALL_PERMISSIONS
    from teams.services import api_key_create

    call_command("seed_demo", stdout=StringIO())
    store = Store.objects.get(slug="alpha")
    owner = store.owner
    api_key, key = api_key_create(store=store, name="schemathesis", scopes=list(ALL_PERMISSIONS))
    product = Product.objects.filter(store=store, status="published").order_by("pk").first()
    variant = product.variants.order_by("pk").first()
    cart = orders_services.cart_create(store=store, user=None)
    orders_services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=1)
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):  # an address literal: no DNS in tests
        endpoint = webhook_endpoint_create(store=store, url="http://127.0.0.1:9/in", events=["order.paid"])

    def first(queryset):
        found = queryset.order_by("pk").first()
        return found.pk if found is not None else None

    paths = {
        "store": store.slug,
        "product_id": product.pk,
        "number": Order.objects.filter(store=store).order_by("pk").first().number,
        "cart_id": str(cart.pk),
        "user_id": Membership.objects.filter(store=store).exclude(user=owner).first().user_id,
        "gateway": "bank_transfer",
        "delivery_id": first(WebhookDelivery.objects.filter(endpoint=endpoint)),
    }
    # {id} names another object on each path: by the path's last named segment
    ids = {
        "products": product.pk, "variants": variant.pk, "reviews": first(Review.objects.filter(product=product)),
        "categories": first(Category.objects.filter(store=store)), "coupons": first(Coupon.objects.filter(store=store)),
        "shipping-methods": first(ShippingMethod.objects.filter(store=store)), "api-keys": api_key.pk,
        "audit-logs": first(AuditLog.objects.filter(store=store)),
        "security-events": record_security_event(SecurityKind.PERMISSION_DENIED, store_id=store.pk,
                                                 details={"permission": "store.manage"}).pk,
        "exports": first(Export.objects.filter(store=store)),
        "invites": first(Invitation.objects.filter(store=store)), "payments": first(Payment.objects.filter(
            order__store=store)), "refunds": first(Refund.objects.filter(payment__order__store=store)),
        "webhooks": endpoint.pk, "carts": str(cart.pk), "items": first(cart.lines.all()),
        "notifications": first(Notification.objects.filter(user=owner)),
    }
    return {"paths": paths, "ids": ids, "jwt": str(RefreshToken.for_user(owner).access_token), "key": key}


def real_path_values(path: str, seed: dict) -> dict:
    values = {name: value for name, value in seed["paths"].items() if "{" + name + "}" in path and value is not None}
    if "{id}" in path:
        segments = path.split("/")
        owner_segment = segments[segments.index("{id}") - 1]
        if seed["ids"].get(owner_segment) is not None:
            values["id"] = seed["ids"][owner_segment]
    return values


def callers(operation, seed: dict) -> list[tuple[str, dict]]:
    """Who may call the operation, by its security requirement: none declared, anyone (the owner too)."""
    security = operation.definition.raw.get("security")
    jwt = ("owner", {"Authorization": f"Bearer {seed['jwt']}"})
    if security is None:
        return [("anonymous", {}), jwt]
    schemes = {name for requirement in security for name in requirement}
    return [jwt] + ([("api key", {"X-API-Key": seed["key"]})] if "ApiKeyAuth" in schemes else [])


def test_every_operation_answers_as_its_openapi_document_says(app, throttles_off, request):
    # this WSGI app hands GET /api/v1/stream to the ASGI server (307; 503 when no LIVE_STREAM_URL says where)
    request.getfixturevalue("settings").LIVE_STREAM_URL = "http://127.0.0.1:8001/api/v1/stream"
    seed = seeded()
    schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, app)
    failures: list[str] = []
    answers: list[tuple[str, str, int]] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        real = real_path_values(operation.path, seed)
        strategy = st.one_of(operation.as_strategy(path_parameters=real),
                             operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real))
        who = st.sampled_from(callers(operation, seed))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy, caller=who)
        def check(case, caller):
            name, headers = caller
            # the caller's credentials only: not a token or key drawn from the document's security schemes
            case.headers = {key: value for key, value in (case.headers or {}).items()
                            if key.lower() not in ("authorization", "x-api-key")}
            with transaction.atomic():
                try:
                    response = case.call(headers=headers)
                    answers.append((case.operation.label, name, response.status_code))
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (Exception, BaseExceptionGroup) as failure:
                    failure.add_note(f"Caller: {name}")
                    raise
                finally:
                    transaction.set_rollback(True)

        try:
            check()
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup; all reported at the end
            notes = "\n".join(getattr(failure, "__notes__", []))
            failures.append(f"{operation.label}:\n{failure}\n{notes}")
    assert operations > 100
    if os.environ.get("SCHEMATHESIS_SUMMARY"):
        import collections
        import json
        print(json.dumps(collections.Counter(status for _, _, status in answers)))
        for label in sorted({label for label, _, _ in answers}):
            print(label, sorted(collections.Counter((caller, status) for other, caller, status in answers
                                                    if other == label).items()))
    assert not failures, f"{len(failures)} of {operations} operations:\n\n" + "\n\n".join(failures)
    assert len({label for label, _, _ in answers}) == operations  # each one answered at least once
