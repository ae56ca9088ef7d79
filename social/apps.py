from django.apps import AppConfig


class SocialConfig(AppConfig):
    """Social login (README "Social login"): Google, GitHub and any OpenID Connect provider through django-allauth,
    headless; a finished login becomes this API's JWT pair. Above accounts and the apps whose answers it shapes;
    only privacy (erasure, export) knows it."""

    name = "social"
