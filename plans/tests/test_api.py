"""GET /api/v1/plans (public) and a store's subscription with billing off (the platform assigns plans)."""

import pytest

from plans.models import Plan

pytestmark = pytest.mark.django_db


def test_plans_are_public_cheapest_first(api):
    response = api.get("/api/v1/plans")
    assert response.status_code == 200
    plans = {plan["code"]: plan for plan in response.json()["data"]}
    assert list(plans)[:3] == ["free", "pro", "business"]
    assert plans["pro"]["price"] == "29.00" and plans["pro"]["currency"] == "USD"
    assert plans["pro"]["interval"] == "month"
    assert plans["free"]["limits"] == {
        "products": 25,
        "staff": 2,
        "api_keys": 1,
        "webhooks": 1,
        "card_gateways": 1,
        "orders_per_month": 100,
    }
    assert set(plans["business"]["limits"].values()) == {None}
    assert plans["pro"]["features"] == ["custom_email_sender", "export_jobs"] and plans["free"]["features"] == []
    Plan.objects.filter(code="business").update(is_public=False)
    assert "business" not in {plan["code"] for plan in api.get("/api/v1/plans").json()["data"]}


def test_the_subscription_shows_the_plan_and_usage_to_store_managers_only(
    client_for, store, other_store, member_factory, product_factory, on_plan
):
    on_plan(store, products=10, code="small", name="Small")
    product_factory(store=store)
    member_factory(store, "staff")
    answer = client_for(store.owner).get(f"/api/v1/stores/{store.slug}/subscription")
    assert answer.status_code == 200, answer.json()
    data = answer.json()["data"]
    assert (data["plan"]["code"], data["status"], data["billing"]) == ("small", "active", "off")
    assert data["usage"] == {
        "products": 1,
        "staff": 2,
        "api_keys": 0,
        "webhooks": 0,
        "card_gateways": 0,
        "orders_per_month": 0,
    }
    staff = member_factory(store, "staff")
    assert client_for(staff).get(f"/api/v1/stores/{store.slug}/subscription").status_code == 403
    assert client_for(other_store.owner).get(f"/api/v1/stores/{store.slug}/subscription").status_code == 404


def test_without_billing_only_the_platform_assigns_plans(client_for, store, user_factory):
    url = f"/api/v1/stores/{store.slug}/subscription"
    response = client_for(store.owner).post(url, {"plan": "pro"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "PERMISSION_DENIED"
    store.refresh_from_db()
    assert store.plan_id is None
    platform = user_factory(is_superuser=True, is_staff=True)
    assert client_for(platform).post(url, {"plan": "nope"}, format="json").status_code == 400
    response = client_for(platform).post(url, {"plan": "pro"}, format="json")
    assert response.status_code == 200 and response.json()["data"]["plan"]["code"] == "pro"
    store.refresh_from_db()
    assert store.plan.code == "pro"


def test_superusers_assign_plans_in_the_admin_merchants_cannot(store, user_factory, admin_login):
    from auditlog.models import AuditLog

    pro = Plan.objects.get(code="pro")
    page = admin_login(store.owner).get(f"/admin/stores/store/{store.pk}/change/").content.decode()
    assert 'name="plan"' not in page  # read-only for the merchant
    platform = user_factory(is_superuser=True, is_staff=True)
    client = admin_login(platform)
    form = {
        "name": store.name,
        "slug": store.slug,
        "description": "",
        "currency": store.currency,
        "contact_email": "",
        "tax_rate": "0",
        "low_stock_threshold": "5",
        "timezone": "UTC",
        "email_sender": "",
        "plan": pro.pk,
        "is_active": "on",
        "owner": store.owner_id,
    }
    response = client.post(f"/admin/stores/store/{store.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    store.refresh_from_db()
    assert store.plan == pro
    assert AuditLog.objects.filter(action="store.plan_changed", store=store).exists()
    # the plans themselves: superusers only
    assert client.get("/admin/plans/plan/").status_code == 200
    assert admin_login(store.owner).get("/admin/plans/plan/").status_code == 403
