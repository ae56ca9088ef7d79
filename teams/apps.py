from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TeamsConfig(AppConfig):
    name = "teams"
    default = True

    def ready(self) -> None:
        from plans.services import plan_usage_register

        from .models import ApiKey, Membership

        # what the plans' limits count (plans.services): members (the owners included) and active keys
        plan_usage_register("staff", lambda store: Membership.objects.filter(store=store).count())
        plan_usage_register(
            "api_keys", lambda store: ApiKey.objects.filter(store=store, revoked_at__isnull=True).count()
        )


class StoreAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the merchant dashboard (teams.admin_base.StoreAdminSite) as its site;
    settings.INSTALLED_APPS names it in place of "django.contrib.admin"."""

    default = False
    default_site = "teams.admin_base.StoreAdminSite"
