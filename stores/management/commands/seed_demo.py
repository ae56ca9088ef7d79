from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User

DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS = [
    # email, name, superuser
    ("admin@demo.store", "Platform Admin", True),
    ("owner@alpha.demo", "Alpha Owner", False),
]


class Command(BaseCommand):
    help = "Creates demo data; safe to run again (it only adds what is missing)."

    @transaction.atomic
    def handle(self, *args, **options):
        for email, name, superuser in DEMO_USERS:
            user, created = User.objects.get_or_create(
                email=email, defaults={"name": name, "is_staff": superuser, "is_superuser": superuser,
                                       "email_verified": True},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, _, superuser in DEMO_USERS:
            self.stdout.write(f"  {email}{'  (superuser)' if superuser else ''}")
