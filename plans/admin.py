from django.conf import settings
from django.contrib import admin
from unfold.admin import ModelAdmin

from config.admin_mixins import SuperuserOnlyAdminMixin

from .models import Plan
from .services import plan_cache_forget


@admin.register(Plan)
class PlanAdmin(SuperuserOnlyAdminMixin, ModelAdmin):
    """The plans the platform sells: platform superusers only (merchants read them at GET /api/v1/plans and see
    their store's in the store's page). A plan stores are on cannot be deleted (Store.plan protects it), nor the
    default one (PLAN_DEFAULT); a lower limit deletes nothing (only new creations are refused)."""

    list_display = [
        "name",
        "code",
        "price",
        "currency",
        "interval",
        "products",
        "staff",
        "api_keys",
        "webhooks",
        "card_gateways",
        "orders_per_month",
        "is_public",
        "stripe_price_id",
    ]
    list_editable = ["is_public"]
    ordering = ["position", "price"]
    fieldsets = [
        (
            None,
            {"fields": ["code", "name", "price", "currency", "interval", "position", "is_public", "stripe_price_id"]},
        ),
        (
            "Limits (empty: unlimited)",
            {"fields": ["products", "staff", "api_keys", "webhooks", "card_gateways", "orders_per_month"]},
        ),
        ("Features", {"fields": ["custom_email_sender", "export_jobs", "analytics_retention_days"]}),
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.code == settings.PLAN_DEFAULT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        plan_cache_forget()  # this process at once; the others within plans.services.CACHE_SECONDS

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        plan_cache_forget()
