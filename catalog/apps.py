from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _counts_install(sender, using, **kwargs) -> None:
    """SQLite drops a table's triggers when a migration rebuilds the table: put the product counter's back."""
    from django.db import connections

    from . import counts

    connection = connections[using]
    if connection.vendor == "sqlite" and "catalog_productcount" in connection.introspection.table_names():
        counts.install(connection)


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from plans.services import plan_usage_register

        from . import store_contents
        from .cache import connect_signals
        from .models import Product

        connect_signals()
        store_contents.register()
        # what the plans' products limit counts: every product of the store, whatever its status
        plan_usage_register("products", lambda store: Product.objects.filter(store=store).count())
        post_migrate.connect(_counts_install, sender=self, dispatch_uid="catalog-counts-install")
