from django.core.management.base import BaseCommand

from privacy.services import retention_enforce, retention_kinds


class Command(BaseCommand):
    help = "Remove what the retention settings say is kept no longer, per kind (docs/PRIVACY.md 'Retention')."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would be removed; change nothing.")
        parser.add_argument("--kind", dest="kinds", action="append", choices=[kind.name for kind in retention_kinds()],
                            help="Only this kind (repeatable); every kind by default.")

    def handle(self, *args, dry_run: bool = False, kinds: list[str] | None = None, **options):
        run = retention_enforce(dry_run=dry_run, kinds=kinds)
        verb = "would remove" if dry_run else "removed"
        for kind in retention_kinds():
            if kind.name not in run.results:
                continue
            kept = f"kept {kind.kept_for} {kind.unit}" if kind.kept_for else "kept for ever"
            self.stdout.write(f"{kind.name}: {verb} {run.results[kind.name]} ({kept})")
        self.stdout.write(f"{'Dry run: nothing changed' if dry_run else 'Done'}; "
                          f"{sum(run.results.values())} row(s) in all.")
