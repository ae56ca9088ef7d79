from django.core.management.base import BaseCommand, CommandError

from config.api.errors import DomainError
from stores.models import Store
from teams.models import ApiKey
from teams.services import api_key_create

NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length


class Command(BaseCommand):
    help = "Creates an API key for a store and prints it once (it is stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="The store's slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", default="", help="Comma-separated permission names, e.g. catalog.write")

    def handle(self, *args, store: str, name: str, scopes: str, **options):
        found = Store.objects.filter(slug=store).first()
        if found is None:
            raise CommandError(f"No store with slug {store!r}.")
        name = name.strip()
        if not name or len(name) > NAME_MAX_LENGTH or "\x00" in name:  # what the API's ApiKeyInput refuses
            raise CommandError(f"--name must be 1 to {NAME_MAX_LENGTH} characters (no NUL).")
        names = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        try:
            api_key, key = api_key_create(store=found, name=name, scopes=names)
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.details}") from None
        self.stderr.write(f"Created {api_key.prefix} for {found.slug} with scopes {api_key.scopes or '[]'}. "
                          "The key is shown only now:")
        self.stdout.write(key)
