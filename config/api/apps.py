from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "config.api"
    label = "api"
    verbose_name = "API infrastructure"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the deployment checks
