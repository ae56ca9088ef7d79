from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Customers' data rights (docs/PRIVACY.md): consent, access (a ZIP of their data), erasure and retention. The top
    layer: it reads and erases across every app below it; the consent record itself lives in accounts."""

    name = "privacy"
