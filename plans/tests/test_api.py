"""GET /api/v1/plans (public); superusers assign plans in the admin."""

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
