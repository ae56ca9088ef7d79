from django.core.management.base import BaseCommand

from orders.services import orders_expire


class Command(BaseCommand):
    help = "Cancel pending unpaid orders whose stock reservation expired and release their stock."

    def handle(self, *args, **options):
        self.stdout.write(f"{orders_expire()} expired order(s) cancelled.")
