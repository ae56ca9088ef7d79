from django.contrib import admin

from teams.permissions import ADMIN_SITE_ROLES


class StoreAdminSite(admin.AdminSite):
    """The merchant dashboard ("PMS"): one branded site for every app's admin.

    Superusers and members with an owner, admin or staff role sign in; viewers
    and customers cannot (the API serves their read-only needs).
    """

    site_header = "Store Admin"
    site_title = "Store Admin"
    index_title = "Dashboard"

    def has_permission(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        return user.is_superuser or user.memberships.filter(role__in=ADMIN_SITE_ROLES).exists()


def admin_store_ids(request) -> list[int] | None:
    """The stores whose data this admin user may see; None means every store (superuser).

    Cached on the request: one query per admin page, however many widgets ask.
    """
    if request.user.is_superuser:
        return None
    if not hasattr(request, "_admin_store_ids"):
        request._admin_store_ids = list(
            request.user.memberships.filter(role__in=ADMIN_SITE_ROLES).values_list("store_id", flat=True)
        )
    return request._admin_store_ids


class StoreScopedAdmin(admin.ModelAdmin):
    """Base for every admin of merchant-owned rows: limits what a member sees to their stores.

    ``store_field`` is the lookup from the model to its store ("store", or
    "product__store" for a row that belongs to a store through its product).
    Changelists, change views, search, actions, foreign-key choices and
    autocompletes all go through ``get_queryset``/``formfield_for_foreignkey``.
    """

    store_field = "store"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        store_ids = admin_store_ids(request)
        if store_ids is None:
            return queryset
        return queryset.filter(**{f"{self.store_field}__in": store_ids})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        store_ids = admin_store_ids(request)
        if field is not None and store_ids is not None:
            field.queryset = scope_to_stores(field.queryset, store_ids)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        store_ids = admin_store_ids(request)
        if field is not None and store_ids is not None:
            field.queryset = scope_to_stores(field.queryset, store_ids)
        return field

    def has_module_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)


class StoreScopedInline(admin.TabularInline):
    """Inline rows of a store-scoped parent: the same foreign-key limits as the parent."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        store_ids = admin_store_ids(request)
        if field is not None and store_ids is not None:
            field.queryset = scope_to_stores(field.queryset, store_ids)
        return field

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)


def scope_to_stores(queryset, store_ids: list[int]):
    """Limits a queryset of Store, or of any model with a ``store`` foreign key, to ``store_ids``."""
    model = queryset.model
    if model._meta.label == "stores.Store":
        return queryset.filter(pk__in=store_ids)
    if any(field.name == "store" for field in model._meta.get_fields()):
        return queryset.filter(store_id__in=store_ids)
    return queryset
