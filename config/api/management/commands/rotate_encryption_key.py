"""manage.py rotate_encryption_key: every stored secret re-encrypted with FIELD_ENCRYPTION_KEY."""

from django.core.management.base import BaseCommand, CommandError

from config.fields import encrypted_fields, field_rotate


class Command(BaseCommand):
    help = ("Re-encrypts every EncryptedTextField value of every model with FIELD_ENCRYPTION_KEY. Set the new key "
            "as FIELD_ENCRYPTION_KEY and the old one in FIELD_ENCRYPTION_OLD_KEYS on every process first; run this; "
            "then drop the old key. Row by row, safe against concurrent writes and safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-encrypted; write nothing.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows read per query (default 500).")

    def handle(self, *args, dry_run: bool = False, batch_size: int = 500, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        unreadable = 0
        for model, field in encrypted_fields():
            count = field_rotate(model, field, batch_size=batch_size, dry_run=dry_run)
            unreadable += count.unreadable
            verb = "to re-encrypt" if dry_run else "re-encrypted"
            self.stdout.write(f"{model._meta.label}.{field.name}: {count.rotated} {verb}, {count.current} already "
                              f"current, {count.unreadable} unreadable.")
        if unreadable:
            raise CommandError(f"{unreadable} value(s) open with no configured key: they were left as they are. Put "
                               "the key they were written with in FIELD_ENCRYPTION_OLD_KEYS and run this again.")
