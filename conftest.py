"""Shared fixtures: API clients, users, stores and members by role."""

import itertools
import os
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

# Fixtures shared by every app's tests that live in their own modules: the fake Kashier and Moamalat APIs,
# a real localstripe.
pytest_plugins = ["tests.fake_gateways", "tests.gateways"]


def pytest_configure(config):
    # CI sets REQUIRE_SERVICES=1: a missing PostgreSQL or Redis must fail the run,
    # never let the suite fall back to SQLite or local memory silently.
    if os.environ.get("REQUIRE_SERVICES") == "1":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError(f"REQUIRE_SERVICES=1 but the database is {engine}, not PostgreSQL")
        if not settings.REDIS_URL:
            raise pytest.UsageError("REQUIRE_SERVICES=1 but REDIS_URL is not set")
        import psycopg
        import redis

        db = settings.DATABASES["default"]
        try:
            psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres",
                            password=db["PASSWORD"] or None, connect_timeout=3).close()
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
        except Exception as exc:
            raise pytest.UsageError(f"REQUIRE_SERVICES=1 but a service is unreachable: {exc}") from exc


def on_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def pytest_collection_modifyitems(config, items):
    if on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://…)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def clear_cache() -> None:
    from auditlog.security import security_memo_forget
    from catalog import cache as catalog_cache
    from config.api import throttles
    from features.flags import flags_cache_forget
    from plans.services import plan_cache_forget

    security_memo_forget()
    catalog_cache.local_forget()
    plan_cache_forget()
    flags_cache_forget()
    throttles.leases_forget()
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # only this run's key prefix, not the whole Redis database
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def database_cache(settings, db):
    """The embedded default's cache (Django's database cache, no REDIS_URL) for this test, its table created as
    `migrate` creates it; the test's transaction rolls it back."""
    from config.api.apps import cache_table_create

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                  "LOCATION": "cache_entries"}}
    cache_table_create(using="default")
    return cache


@pytest.fixture
def served():
    """``served(request)`` publishes a hand-made request as the one being served (what RequestIDMiddleware
    does), until the test ends: audit entries then take its IP, user agent and request id."""
    from config.api.middleware import current_request_var

    tokens = []

    def serve(request):
        tokens.append(current_request_var.set(request))
        return request

    yield serve
    for token in reversed(tokens):
        current_request_var.reset(token)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def password() -> str:
    return "Correct-Horse-42"


@pytest.fixture
def user_factory(db, password):
    from accounts.models import User

    counter = {"n": 0}

    def make(**fields) -> User:
        counter["n"] += 1
        fields.setdefault("email", f"user{counter['n']}@example.com")
        fields.setdefault("name", f"User {counter['n']}")
        return User.objects.create_user(password=fields.pop("password", password), **fields)

    return make


@pytest.fixture
def user(user_factory):
    return user_factory(email="alice@example.com", name="Alice")


@pytest.fixture
def auth_api(user):
    """A client logged in as ``user``."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def store_factory(db, user_factory):
    from stores.models import Store
    from teams.models import Membership

    counter = {"n": 0}

    def make(owner=None, **fields) -> Store:
        counter["n"] += 1
        owner = owner or user_factory()
        fields.setdefault("name", f"Store {counter['n']}")
        fields.setdefault("slug", f"store-{counter['n']}")
        store = Store.objects.create(owner=owner, **fields)
        Membership.objects.create(user=owner, store=store, role="owner")
        return store

    return make


@pytest.fixture
def store(store_factory):
    return store_factory(name="Alpha", slug="alpha")


@pytest.fixture
def other_store(store_factory):
    return store_factory(name="Beta", slug="beta")


@pytest.fixture
def member_factory(user_factory):
    from teams.models import Membership

    def make(store, role: str, **user_fields):
        member = user_factory(**user_fields)
        Membership.objects.create(user=member, store=store, role=role)
        return member

    return make


@pytest.fixture
def admin_login():
    """A Django test client with a session for the given user, as the admin site sees them."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def client_for():
    """An API client authenticated as the given user."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def category_factory(db):
    from tests.factories import CategoryFactory

    return CategoryFactory


@pytest.fixture
def product_factory(db):
    from tests.factories import ProductFactory

    return ProductFactory


@pytest.fixture
def variant_factory(db):
    from tests.factories import VariantFactory

    return VariantFactory


@pytest.fixture
def base(store):
    """The store's API root."""
    return f"/api/v1/stores/{store.slug}"


@pytest.fixture
def owner_api(store, client_for):
    """An API client authenticated as the store's owner."""
    return client_for(store.owner)


_variant_serial = itertools.count(1)


@pytest.fixture
def make_variant(db, store):
    """A variant of a one-variant product (rows made directly, no events): ``price``, ``stock``, ``status`` of the
    product, stock flags."""
    from catalog.models import Product, Variant

    def make(*, store=store, price="10.00", stock=5, status="published", track_inventory=True,
             allow_backorder=False, name="", product_name="") -> Variant:
        n = next(_variant_serial)
        product = Product.objects.create(store=store, name=product_name or f"Thing {n}", slug=f"thing-{n}",
                                         status=status)
        return Variant.objects.create(store=store, product=product, sku=f"SKU-{n:05d}", name=name,
                                      price=Decimal(price), stock_quantity=stock, track_inventory=track_inventory,
                                      allow_backorder=allow_backorder)

    return make


@pytest.fixture
def cart_with(store):
    """A cart (anonymous unless ``user``) holding ``(variant, quantity)`` pairs, filled through the services."""
    from orders import services

    def make(*pairs, user=None, store=store):
        cart = services.cart_create(store=store, user=user)
        for variant, quantity in pairs:
            services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=quantity)
        return cart

    return make
