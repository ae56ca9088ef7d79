"""Admin pieces every layer may use (the store-scoped ones are in teams.admin_base)."""


def is_platform_superuser(request) -> bool:
    return request.user.is_active and request.user.is_superuser


class SuperuserOnlyAdminMixin:
    """For an admin of platform-wide rows (plans, billing events, the security log, social-login providers): only an
    active superuser sees the module or may view, add, change or delete. Put it before the admin base class (and
    after ReadOnlyAdminMixin where rows are read-only)."""

    def has_module_permission(self, request) -> bool:
        return is_platform_superuser(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_platform_superuser(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return is_platform_superuser(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_platform_superuser(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_platform_superuser(request)
