"""manage.py seed_maker_demo: print materials for the demo stores (maker.demo). seed_demo ends with it; safe to run
again (a store's existing materials are left as they are)."""

from django.core.management.base import BaseCommand

from stores.models import Store

from ...demo import DEMO_STORES, seed_materials


class Command(BaseCommand):
    help = "Adds print materials (PLA, PETG, Resin) to the demo stores for the maker services."

    def handle(self, *args, **options):
        for store in Store.objects.filter(slug__in=DEMO_STORES).order_by("id"):
            if added := seed_materials(store):
                self.stdout.write(f"{store.slug}: {added} print materials (README \"Maker services\").")
