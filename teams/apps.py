from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TeamsConfig(AppConfig):
    name = "teams"
    default = True


class StoreAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the merchant dashboard (teams.admin_base.StoreAdminSite) as its site;
    settings.INSTALLED_APPS names it in place of "django.contrib.admin"."""

    default = False
    default_site = "teams.admin_base.StoreAdminSite"
