"""Features follow the plan: export jobs, the custom email sender and the dashboard's analytics retention."""

import pytest
from django.core import mail
from django.test import Client

from plans.services import store_plan_set

from .conftest import refused

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


def test_export_jobs_need_the_feature_the_streamed_export_does_not(owner_api, base, store, on_plan, plan_factory):
    on_plan(store, export_jobs=False)
    response = owner_api.post(f"{base}/exports", {"type": "products", "format": "csv"}, format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["details"]["limit"], error["details"]["used"], error["details"]["allowed"]) == (
        "PLAN_LIMIT_REACHED",
        "export_jobs",
        None,
        False,
    )
    assert owner_api.get(f"{base}/exports/products").status_code == 200
    store_plan_set(store=store, plan=plan_factory(export_jobs=True))
    assert owner_api.post(f"{base}/exports", {"type": "products", "format": "csv"}, format="json").status_code == 202


def test_the_custom_email_sender_follows_the_plan(
    owner_api,
    base,
    store,
    on_plan,
    plan_factory,
    api,
    make_variant,
    cart_with,
    django_capture_on_commit_callbacks,
    settings,
):
    on_plan(store)  # no custom sender
    response = owner_api.patch(f"{base}", {"email_sender": "orders@alpha.example"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["details"]["limit"] == "custom_email_sender"
    store.refresh_from_db()
    assert store.email_sender == ""

    store_plan_set(store=store, plan=plan_factory(custom_email_sender=True))
    response = owner_api.patch(f"{base}", {"email_sender": "orders@alpha.example"}, format="json")
    assert response.status_code == 200 and response.json()["data"]["email_sender"] == "orders@alpha.example"

    def confirmation_sender() -> str:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                api.post(
                    f"{base}/checkout",
                    {
                        "cart": str(cart_with((make_variant(), 1)).pk),
                        "email": "buyer@example.com",
                        "shipping_address": ADDRESS,
                        "payment_method": "cod",
                    },
                    format="json",
                ).status_code
                == 201
            )
        return next(message for message in mail.outbox if message.to == ["buyer@example.com"]).from_email

    assert confirmation_sender() == "Alpha <orders@alpha.example>"
    # a downgrade: the platform's sender again, the address kept for an upgrade
    store_plan_set(store=store, plan=plan_factory())
    assert confirmation_sender() == settings.DEFAULT_FROM_EMAIL


def test_the_dashboard_reads_back_as_far_as_the_plan_keeps(owner_api, base, store, on_plan):
    on_plan(store, analytics_retention_days=30)
    assert owner_api.get(f"{base}/dashboard?period=30d").status_code == 200
    refused(owner_api.get(f"{base}/dashboard?period=90d"), "analytics_retention_days", 90, 30)
    # the admin's dashboard shows what the plan keeps and says why
    client = Client()
    client.force_login(store.owner)
    page = client.get(f"/admin/?store={store.slug}&period=90d")
    assert page.status_code == 200
    assert "keeps 30 days of analytics" in page.content.decode()
