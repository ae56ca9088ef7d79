from django.core.management.base import BaseCommand, CommandError

from catalog.importer import COLUMNS, ImportFailed, products_import
from config.api.errors import DomainError
from stores.models import Store


class Command(BaseCommand):
    help = (
        "Creates or updates products and variants (by sku) from a CSV file. Every row is checked first; "
        f"one bad row imports nothing. Columns: {', '.join(COLUMNS)} (see catalog/importer.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("store", help="The store's slug.")
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header row first); - reads standard input.")

    def handle(self, *args, store: str, file: str, **options):
        target = Store.objects.filter(slug=store).first()
        if target is None:
            raise CommandError(f"No store with slug {store!r}.")
        try:
            if file == "-":
                import sys

                content = sys.stdin.buffer.read()
            else:
                with open(file, "rb") as handle:
                    content = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            result = products_import(store=target, source=content)
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(f"  {error}")
            raise CommandError(f"{len(exc.errors)} error(s); nothing was imported.") from None
        except DomainError as exc:  # a rule the services refused while writing: the transaction rolled back
            raise CommandError(f"{exc.message} Nothing was imported.") from None
        self.stdout.write(self.style.SUCCESS(str(result)))
