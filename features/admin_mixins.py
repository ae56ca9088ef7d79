"""What the admin of a feature's rows does while the feature is off: put ``FeatureAdminMixin`` before the admin's
base class and name the flag in ``feature``. The rows of stores that switched it off are left out of the lists,
forms and foreign-key choices; with the platform's switch off the page leaves the menu too."""

from .flags import is_enabled, stores_enabled_q


class FeatureAdminMixin:
    feature: str  # a flag of features.registry (the admin's own ``store_field`` leads to the store)

    def has_module_permission(self, request) -> bool:
        return is_enabled(self.feature) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_enabled(self.feature) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return is_enabled(self.feature) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_enabled(self.feature) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_enabled(self.feature) and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        store_field = getattr(self, "store_field", "store")
        return super().get_queryset(request).filter(stores_enabled_q(self.feature, store_field))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name == "store" and getattr(self, "store_field", "store") == "store":
            field.queryset = field.queryset.filter(stores_enabled_q(self.feature, "pk"))
        return field
