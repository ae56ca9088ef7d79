from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from . import store_contents
        from .cache import connect_signals

        connect_signals()
        store_contents.register()
