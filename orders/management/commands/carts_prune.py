from django.core.management.base import BaseCommand

from orders.services import carts_prune


class Command(BaseCommand):
    help = "Delete carts idle for longer than CART_IDLE_DAYS."

    def handle(self, *args, **options):
        self.stdout.write(f"{carts_prune()} idle cart(s) deleted.")
