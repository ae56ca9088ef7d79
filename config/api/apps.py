from django.apps import AppConfig
from django.db.models.signals import post_migrate


def cache_table_create(using: str = "default", **kwargs) -> None:
    """The database cache's table (settings.CACHES without REDIS_URL), created by every `migrate`: no extra step,
    and a deployment that drops Redis later gets it on its next migrate. Does nothing when it exists."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class ApiConfig(AppConfig):
    name = "config.api"
    label = "api"
    verbose_name = "API infrastructure"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the deployment checks

        post_migrate.connect(cache_table_create, sender=self, dispatch_uid="api.cache_table_create")
