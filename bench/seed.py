"""bench/run.sh: one store with N published products (catalog.demo.seed_bulk), then VACUUM ANALYZE.

Prints the seeding time and, on the last line, JSON with what the load driver needs.
"""

import json
import os
import sys
import time

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from django.db import connection

    from accounts.models import User
    from catalog.demo import seed_bulk
    from catalog.models import Product
    from stores.models import Store
    from teams.models import Membership

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    owner = User.objects.create_user(email="bench@example.com", password="Bench-password-42", name="Bench")
    store = Store.objects.create(owner=owner, name="Bench", slug="bench", currency="USD")
    Membership.objects.create(user=owner, store=store, role="owner")
    started = time.perf_counter()
    seed_bulk(store, count)
    seeded = time.perf_counter() - started
    print(f"seeded {count} products (with variants and search vectors) in {seeded:.1f} s", file=sys.stderr)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    middle = Product.objects.filter(store=store).order_by("id").values_list("id", flat=True)[count // 2]
    print(json.dumps({"store": store.slug, "product": middle, "seconds": round(seeded, 1)}))


if __name__ == "__main__":
    main()
