"""The benchmark's reference views ("floors"); mounted only when BENCH_FLOORS=1.

- static_floor: a fixed JSON body of ``?bytes=`` bytes (the size of the product list
  page), no database: what Django + middleware + gunicorn cost on their own.
- query_floor: one SQL query for the same 20 products the list's first page shows,
  json.dumps'ed: the least any database-backed list could do. ``?page=N``: the same for page N
  (the page's ids from the index, then those rows: the least a deep page could do).
- filtered_floor: the same for the benchmark's filtered list (category ``clothing`` and its
  sub-tree, price 10 to 50), one statement, without its total.
- search_floor: catalog.search's statement for ``?q=`` (the page, its rows and the number of
  results), json.dumps'ed: the least a search answering the same could do in one statement.

The last three explain targets (bench/storefront.py); the targets themselves are against the first two.
"""

import json

from django.db import connection
from django.http import HttpResponse

_bodies: dict[int, bytes] = {}

COLUMNS = """p.id, p.name, p.slug, p.description, p.brand, p.category_id, p.status, p.featured, p.attributes,
       p.price, p.in_stock, p.published_at, p.created_at, p.updated_at"""
QUERY = f"""
SELECT {COLUMNS}
FROM catalog_product p
WHERE p.store_id = (SELECT id FROM stores_store WHERE slug = %s) AND p.status = 'published'
ORDER BY p.created_at DESC, p.id DESC
LIMIT 20
"""
DEEP_QUERY = f"""
SELECT {COLUMNS}
FROM catalog_product p
WHERE p.id IN (SELECT id FROM catalog_product
               WHERE store_id = (SELECT id FROM stores_store WHERE slug = %s) AND status = 'published'
               ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET %s)
ORDER BY p.created_at DESC, p.id DESC
"""
FILTERED_QUERY = f"""
SELECT {COLUMNS}
FROM catalog_product p
WHERE p.store_id = (SELECT id FROM stores_store WHERE slug = %s) AND p.status = 'published'
  AND p.category_id IN (SELECT id FROM catalog_category WHERE store_id = p.store_id AND path LIKE (
        SELECT path FROM catalog_category WHERE store_id = p.store_id AND slug = 'clothing') || '%%')
  AND p.price >= 10 AND p.price <= 50
ORDER BY p.created_at DESC, p.id DESC
LIMIT 20
"""


def static_floor(request):
    size = max(64, min(int(request.GET.get("bytes", "16000")), 5_000_000))
    body = _bodies.get(size)
    if body is None:
        head = b'{"success":true,"data":"'
        tail = b'","timestamp":"2026-01-01T00:00:00Z"}'
        body = _bodies[size] = head + b"x" * max(0, size - len(head) - len(tail)) + tail
    return HttpResponse(body, content_type="application/json")


def _answer(sql: str, params: list) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return HttpResponse(json.dumps({"success": True, "data": rows}, default=str), content_type="application/json")


def query_floor(request):
    store = request.GET.get("store", "bench")
    page = max(1, int(request.GET.get("page", "1")))
    if page == 1:
        return _answer(QUERY, [store])
    return _answer(DEEP_QUERY, [store, (page - 1) * 20])


def filtered_floor(request):
    return _answer(FILTERED_QUERY, [request.GET.get("store", "bench")])


_store_ids: dict[str, int] = {}


def search_floor(request):
    from catalog.search import search_statement
    from stores.models import Store

    slug = request.GET.get("store", "bench")
    if slug not in _store_ids:  # once per process: the floor is the search statement alone
        _store_ids[slug] = Store.objects.filter(slug=slug).values_list("pk", flat=True).get()
    sql, params = search_statement(request.GET.get("q", ""), store_id=_store_ids[slug], start=0, limit=20)
    return _answer(sql, params)
