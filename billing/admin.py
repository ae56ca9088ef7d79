from django.contrib import admin
from unfold.admin import ModelAdmin

from config.admin_mixins import SuperuserOnlyAdminMixin
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin
from teams.permissions import STORE_MANAGE

from .models import BillingEvent, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """Stores' Stripe subscriptions, as Stripe last said (written by billing.services only). Owners and admins
    (store.manage) see their store's; the plan itself is assigned on the store's page by platform superusers."""

    view_permission = STORE_MANAGE
    write_permission = STORE_MANAGE
    list_display = [
        "store",
        "plan",
        "status",
        "current_period_end",
        "cancel_at_period_end",
        "past_due_since",
        "updated_at",
    ]
    list_filter = ["status", "plan"]
    search_fields = ["store__name", "store__slug", "stripe_customer_id", "stripe_subscription_id"]
    list_select_related = ["store", "plan"]


@admin.register(BillingEvent)
class BillingEventAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdminMixin, ModelAdmin):
    """Stripe's billing events as received (platform superusers only)."""

    list_display = ["event_type", "event_id", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id"]
