"""Each plan limit is checked by the service that creates the thing: the API answers 403 PLAN_LIMIT_REACHED with
the limit in ``details``, the admin shows the refusal on its form, the CSV importer refuses the rows past the limit;
nothing is created then. A downgrade keeps everything and refuses only new creations."""

import re

import pytest
from django.core import mail
from django.test import Client

from catalog.importer import ImportFailed, products_import
from catalog.models import Product
from notifications.models import WebhookEndpoint
from payments.models import GatewaySetting
from plans.services import plan_usage, store_plan_set
from teams.models import ApiKey, Invitation, Membership
from teams.services import api_key_create

from .conftest import refused

pytestmark = pytest.mark.django_db


def admin_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- products -------------------------------------------------------------------------------------------------
def test_products_api_refuses_past_the_limit_and_creates_nothing(owner_api, base, store, on_plan, product_factory):
    on_plan(store, products=2)
    product_factory(store=store)
    # the second fits
    assert owner_api.post(f"{base}/products", {"name": "Second"}, format="json").status_code == 201
    # the third does not
    response = owner_api.post(f"{base}/products", {"name": "Third"}, format="json")
    refused(response, "products", 2, 2)
    assert "upgrade" in response.json()["error"]["message"].lower()
    assert Product.objects.filter(store=store).count() == 2
    assert not Product.objects.filter(name="Third").exists()


def test_products_admin_refuses_on_the_form(store, on_plan, product_factory):
    on_plan(store, products=1)
    product_factory(store=store)
    data = {
        "store": store.pk,
        "name": "Admin Made",
        "slug": "admin-made",
        "brand": "",
        "description": "",
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
    }
    response = admin_for(store.owner).post("/admin/catalog/product/add/", data)
    assert response.status_code == 200  # the form again, with the refusal
    assert "plan allows 1 products" in response.content.decode()
    assert not Product.objects.filter(slug="admin-made").exists()


def test_the_importer_refuses_the_rows_past_the_limit_and_imports_nothing(store, on_plan, product_factory):
    on_plan(store, products=2)
    existing = product_factory(store=store, slug="kept")
    source = (
        "sku,product_slug,product_name,price\n"
        "A-1,,Alpha,1.00\nA-2,,Alpha,1.00\nB-1,,Beta,2.00\nC-1,,Gamma,3.00\n"
        f"K-1,{existing.slug},,4.00\n"
    ).encode()
    with pytest.raises(ImportFailed) as caught:
        products_import(store=store, source=source)
    # Alpha (rows 2 and 3, one product) fits; Beta is the third product, Gamma the fourth; a variant of an existing
    # product takes no product place
    assert [(error.row, error.field) for error in caught.value.errors] == [(4, "product_name"), (5, "product_name")]
    assert "plan allows 2 products" in caught.value.errors[0].message
    assert list(Product.objects.filter(store=store)) == [existing]


def test_the_importer_imports_what_fits(store, on_plan):
    on_plan(store, products=2)
    result = products_import(store=store, source=b"sku,product_name,price\nA-1,Alpha,1.00\nB-1,Beta,2.00\n")
    assert result.products_created == 2


# --- staff seats ------------------------------------------------------------------------------------------------
def test_members_api_refuses_past_the_seats(owner_api, base, store, on_plan, member_factory, user_factory):
    on_plan(store, staff=2)
    member_factory(store, "staff")  # the owner and one staff member: the two seats
    newcomer = user_factory(email="new@example.com")
    response = owner_api.post(f"{base}/members", {"email": newcomer.email, "role": "staff"}, format="json")
    refused(response, "staff", 2, 2)
    assert not Membership.objects.filter(user=newcomer).exists()


def test_an_invitation_is_refused_when_sent_and_when_accepted_past_the_seats(
    owner_api, base, store, on_plan, member_factory, user_factory, client_for, django_capture_on_commit_callbacks
):
    plan = on_plan(store, staff=2)
    # sent while a seat is free
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            owner_api.post(f"{base}/invites", {"email": "late@example.com", "role": "staff"}, format="json").status_code
            == 201
        )
    token = re.search(r"/invites/([-A-Za-z0-9_]+)", mail.outbox[-1].body).group(1)
    member_factory(store, "staff")  # the last seat taken meanwhile
    # sending another is refused
    refused(
        owner_api.post(f"{base}/invites", {"email": "other@example.com", "role": "staff"}, format="json"), "staff", 2, 2
    )
    # accepting the first is refused, and the invitation stays usable
    joiner = user_factory(email="late@example.com")
    refused(client_for(joiner).post(f"/api/v1/invites/{token}/accept"), "staff", 2, 2)
    assert not Membership.objects.filter(user=joiner).exists()
    assert Invitation.objects.get(email="late@example.com").status == "pending"
    # a bigger plan: accepted
    plan.staff = 3
    plan.save()
    store_plan_set(store=store, plan=plan)
    from plans.services import plan_cache_forget

    plan_cache_forget()
    assert client_for(joiner).post(f"/api/v1/invites/{token}/accept").status_code == 200


def test_members_admin_refuses_on_the_form(store, on_plan, user_factory):
    on_plan(store, staff=1)
    newcomer = user_factory(email="new@example.com")
    response = admin_for(store.owner).post(
        "/admin/teams/membership/add/", {"email": newcomer.email, "store": store.pk, "role": "staff"}
    )
    assert response.status_code == 200
    assert "plan allows 1 staff" in response.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()


# --- API keys ---------------------------------------------------------------------------------------------------
def test_api_keys_refused_past_the_limit_revoked_ones_not_counted(owner_api, base, store, on_plan):
    on_plan(store, api_keys=1)
    key, _ = api_key_create(store=store, name="ERP", scopes=["catalog.write"])
    response = owner_api.post(f"{base}/api-keys", {"name": "Another", "scopes": []}, format="json")
    refused(response, "api_keys", 1, 1)
    assert ApiKey.objects.filter(store=store).count() == 1
    # a revoked key frees its place
    assert owner_api.delete(f"{base}/api-keys/{key.pk}").status_code == 204
    assert owner_api.post(f"{base}/api-keys", {"name": "Another", "scopes": []}, format="json").status_code == 201


def test_api_keys_admin_refuses_on_the_form(store, on_plan):
    on_plan(store, api_keys=0)
    response = admin_for(store.owner).post("/admin/teams/apikey/add/", {"name": "K", "store": store.pk})
    assert response.status_code == 200
    assert "plan allows 0 api keys" in response.content.decode()
    assert not ApiKey.objects.exists()


# --- webhook endpoints ------------------------------------------------------------------------------------------
def test_webhooks_refused_past_the_limit(owner_api, base, store, on_plan):
    on_plan(store, webhooks=1)
    WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/a", events=["order.paid"])
    response = owner_api.post(
        f"{base}/webhooks", {"url": "https://hooks.example.com/b", "events": ["order.paid"]}, format="json"
    )
    refused(response, "webhooks", 1, 1)
    assert WebhookEndpoint.objects.filter(store=store).count() == 1


def test_webhooks_admin_refuses_on_the_form(store, on_plan, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # no DNS in the test: a loopback address
    on_plan(store, webhooks=0)
    response = admin_for(store.owner).post(
        "/admin/notifications/webhookendpoint/add/",
        {"store": store.pk, "url": "https://127.0.0.1/a", "events": ["order.paid"], "is_active": "on"},
    )
    assert response.status_code == 200
    assert "plan allows 0 webhooks" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


# --- card gateways ----------------------------------------------------------------------------------------------
def test_card_gateways_refused_past_the_limit_offline_ones_free(owner_api, base, store, on_plan):
    on_plan(store, card_gateways=1)
    assert owner_api.put(f"{base}/payment-gateways/stripe", {"enabled": True}, format="json").status_code == 200
    # a second card gateway is refused; cash on delivery costs nothing
    refused(owner_api.put(f"{base}/payment-gateways/kashier", {"enabled": True}, format="json"), "card_gateways", 1, 1)
    assert not GatewaySetting.objects.filter(store=store, gateway="kashier", enabled=True).exists()
    assert owner_api.put(f"{base}/payment-gateways/cod", {"enabled": True}, format="json").status_code == 200
    # changing the enabled one's settings is no new gateway
    assert owner_api.put(f"{base}/payment-gateways/stripe", {"enabled": True}, format="json").status_code == 200
    assert plan_usage(store, "card_gateways") == 1


def test_card_gateways_admin_refuses(store, on_plan, owner_api, base):
    on_plan(store, card_gateways=1)
    assert owner_api.put(f"{base}/payment-gateways/stripe", {"enabled": True}, format="json").status_code == 200
    response = admin_for(store.owner).post(
        "/admin/payments/gatewaysetting/add/?gateway=kashier",
        {"store": store.pk, "gateway": "kashier", "enabled": "on", "mode": "test", "signature_key": "api_key"},
    )
    assert response.status_code == 200
    assert "plan allows 1 card gateways" in response.content.decode()
    assert not GatewaySetting.objects.filter(store=store, gateway="kashier", enabled=True).exists()


# --- downgrade ------------------------------------------------------------------------------------------------
def test_a_downgrade_keeps_everything_and_refuses_only_new_creations(
    owner_api, base, store, plan_factory, product_factory, member_factory
):
    business = plan_factory()
    store_plan_set(store=store, plan=business)
    products = [product_factory(store=store) for _ in range(3)]
    member_factory(store, "staff")
    member_factory(store, "viewer")
    # when the store moves to a plan below what it has
    small = plan_factory(products=1, staff=1)
    store_plan_set(store=store, plan=small)
    # then nothing is gone: the products list and edit as before
    listed = owner_api.get(f"{base}/products").json()
    assert listed["pagination"]["total"] == 3
    assert owner_api.patch(f"{base}/products/{products[0].pk}", {"name": "Renamed"}, format="json").status_code == 200
    assert Membership.objects.filter(store=store).count() == 3
    # but nothing new is made
    refused(owner_api.post(f"{base}/products", {"name": "New"}, format="json"), "products", 3, 1)
    # deleting below the limit makes room again
    for product in products:
        assert owner_api.delete(f"{base}/products/{product.pk}").status_code == 204
    assert owner_api.post(f"{base}/products", {"name": "New"}, format="json").status_code == 201


def test_the_plan_change_is_audited(store, plan_factory):
    from auditlog.models import AuditLog

    pro = plan_factory(code="pro-x")
    store_plan_set(store=store, plan=pro, reason="because")
    store_plan_set(store=store, plan=pro)  # the same plan: nothing
    entry = AuditLog.objects.get(action="store.plan_changed")
    assert entry.changes == {"plan": [None, "pro-x"], "reason": "because"}


# --- the default plan -----------------------------------------------------------------------------------------
def test_the_migration_made_the_default_plans_and_stores_without_one_are_on_free(
    settings, store, owner_api, base, product_factory
):
    from plans.models import Plan

    assert list(
        Plan.objects.filter(code__in=["free", "pro", "business"])
        .order_by("position")
        .values_list("code", "products", "orders_per_month")
    ) == [("free", 25, 100), ("pro", 1000, 2000), ("business", None, None)]
    settings.PLAN_DEFAULT = "free"
    assert store.plan_id is None
    for _ in range(25):
        product_factory(store=store)
    refused(owner_api.post(f"{base}/products", {"name": "26th"}, format="json"), "products", 25, 25)
    # an empty default: no limits
    settings.PLAN_DEFAULT = ""
    assert owner_api.post(f"{base}/products", {"name": "26th"}, format="json").status_code == 201
