"""Does each catalog fast path still buy ≥ 20 %? (issue 17 item 6) In-process A/B, no HTTP, page cache off.

For each endpoint, requests through Django's test client with the fast path and with the plain code instead,
alternating in rounds (the machine is shared: alternation keeps drift out of the comparison), medians of the
rounds' wall and CPU milliseconds per request:

- "raw list/detail": catalog.views' PostgreSQL statements (output.list_page_rows: every list page but a text
  search, its total in the same execute; output.product_row) against the ORM path SQLite and text searches take
  (product_page over selectors.product_list; DRF's retrieve);
- "raw children": a page's variants and images by plain SQL (output.children_sql) against the ORM
  (output._children_orm), for the filtered list.

    python -m bench.fastpaths <store slug> <product id>   (DJANGO_SETTINGS_MODULE=bench.settings, PostgreSQL)
"""

import statistics
import sys
import time

import django

ROUNDS = 7
PER_ROUND = 40


def main() -> None:
    django.setup()
    from django.test import Client
    from django.test.utils import override_settings

    from catalog import output, views

    store, product = sys.argv[1], sys.argv[2]
    base = f"/api/v1/stores/{store}"
    raw_children = output.children_sql
    toggles = {
        "raw list/detail": (lambda on: setattr(views, "on_postgres", (lambda: True) if on else (lambda: False))),
        "raw children": (lambda on: setattr(output, "children_sql", raw_children if on else output._children_orm)),
    }
    filtered = f"{base}/products?category=clothing&price_min=10&price_max=50"
    cases = [
        ("raw list/detail", "list", f"{base}/products"),
        ("raw list/detail", "deep-page", f"{base}/products?page=500"),
        ("raw list/detail", "filtered", filtered),
        ("raw list/detail", "detail", f"{base}/products/{product}"),
        ("raw children", "filtered", filtered),
    ]
    client = Client()
    print(f"{'fast path':16} {'endpoint':10} {'fast ms':>8} {'plain ms':>9} {'fast cpu':>9} {'plain cpu':>10} "
          f"{'buys (wall)':>12} {'buys (cpu)':>11}")
    with override_settings(CATALOG_CACHE_SECONDS=0, CATALOG_COUNT_CACHE_SECONDS=0):
        for toggle, name, path in cases:
            costs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
            for _ in range(ROUNDS):
                for on in (True, False):
                    toggles[toggle](on)
                    for _ in range(5):
                        answer = client.get(path)
                    assert answer.status_code == 200, (path, answer.status_code)
                    wall, cpu = time.perf_counter(), time.process_time()
                    for _ in range(PER_ROUND):
                        client.get(path)
                    costs[on].append(((time.perf_counter() - wall) / PER_ROUND * 1000,
                                      (time.process_time() - cpu) / PER_ROUND * 1000))
            toggles[toggle](True)
            fast_wall, fast_cpu = (statistics.median(c[i] for c in costs[True]) for i in (0, 1))
            plain_wall, plain_cpu = (statistics.median(c[i] for c in costs[False]) for i in (0, 1))
            # "buys": requests per second the fast path adds over the plain code (≥ 20 %: keep it)
            print(f"{toggle:16} {name:10} {fast_wall:8.2f} {plain_wall:9.2f} {fast_cpu:9.2f} {plain_cpu:10.2f} "
                  f"{plain_wall / fast_wall - 1:12.0%} {plain_cpu / fast_cpu - 1:11.0%}")


if __name__ == "__main__":
    main()
