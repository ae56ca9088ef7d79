from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """The merchant's figures (dashboard, daily rollups), storefront events and exports: above payments, it reads
    every app below it and none of them knows it (docs/ARCHITECTURE.md "Layers")."""

    name = "analytics"
