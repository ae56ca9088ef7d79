from django.contrib import admin

from config.admin import StoreScopedAdmin
from teams.models import Membership
from teams.permissions import OWNER, STORE_MANAGE

from .models import Store
from .services import store_public_pages_invalidate


@admin.register(Store)
class StoreAdmin(StoreScopedAdmin):
    """Members see their stores; store.manage edits the settings. Only platform superusers add or
    delete stores here (merchants create theirs through POST /api/v1/stores and deactivate them)."""

    store_field = "pk"
    required_permission = STORE_MANAGE
    list_display = ["name", "slug", "currency", "is_active", "created_at"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "slug", "contact_email"]
    raw_id_fields = ["owner"]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ["created_at", "updated_at"]
        # The slug is in every URL and the owner field records the creator: neither moves here.
        return ["slug", "owner", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        store_public_pages_invalidate(store=obj)
        if not change:
            Membership.objects.get_or_create(store=obj, user=obj.owner, defaults={"role": OWNER})
