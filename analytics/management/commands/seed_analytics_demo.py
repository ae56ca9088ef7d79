"""manage.py seed_analytics_demo: the demo stores' time zones and ~90 days of orders and storefront events, with
their rollups (analytics.demo). seed_demo ends with it; safe to run again (a store with history gets no more)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from stores.models import Store

from ...demo import DEMO_TIMEZONES, seed_demo_history


class Command(BaseCommand):
    help = "Adds ~90 days of orders and storefront events to the demo stores (alpha, beta) for the dashboard."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="How many days of history (default DEMO_HISTORY_DAYS, 90).")

    def handle(self, *args, days: int | None = None, **options):
        days = settings.DEMO_HISTORY_DAYS if days is None else days
        for store in Store.objects.filter(slug__in=DEMO_TIMEZONES).order_by("id"):
            started = time.monotonic()
            orders, events = seed_demo_history(store, days=days)
            if orders or events:
                self.stdout.write(f"{store.slug}: {orders} past orders and {events} storefront events over {days} "
                                  f"days, rolled up in {time.monotonic() - started:.1f} s.")
