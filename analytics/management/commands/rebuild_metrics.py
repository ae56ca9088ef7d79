"""manage.py rebuild_metrics [--store SLUG] [--since YYYY-MM-DD]: rewrites the daily rollups from the orders and
events (analytics.services.metrics_rebuild); safe to run twice, and while the periodic job runs."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from stores.models import Store

from ...services import metrics_rebuild


class Command(BaseCommand):
    help = ("Rewrites the dashboard's daily rollups of a store (or every store) from its orders and events, from "
            "--since (default: its first order or event) to today. Safe to run twice.")

    def add_arguments(self, parser):
        parser.add_argument("--store", metavar="SLUG", help="Only this store (default: every store).")
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="From this day of the store (default: its first).")

    def handle(self, *args, store: str | None = None, since: str | None = None, **options):
        try:
            first = date.fromisoformat(since) if since else None
        except ValueError:
            raise CommandError(f"--since {since!r} is not a date (YYYY-MM-DD).") from None
        stores = Store.objects.order_by("id")
        if store:
            stores = stores.filter(slug=store)
            if not stores.exists():
                raise CommandError(f"No store {store!r}.")
        for each in stores:
            started = time.monotonic()
            written = metrics_rebuild(store=each, since=first)
            self.stdout.write(f"{each.slug}: {written} day(s) rewritten in {time.monotonic() - started:.1f} s.")
