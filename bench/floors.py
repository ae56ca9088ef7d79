"""The benchmark's two reference views ("floors"); mounted only when BENCH_FLOORS=1.

- static_floor: a fixed JSON body of ``?bytes=`` bytes (the size of the product list
  page), no database: what Django + middleware + gunicorn cost on their own.
- query_floor: one SQL query for the same 20 products the list's first page shows,
  json.dumps'ed: the least any database-backed list could do.
"""

import json

from django.db import connection
from django.http import HttpResponse

_bodies: dict[int, bytes] = {}

QUERY = """
SELECT p.id, p.name, p.slug, p.description, p.brand, p.category_id, p.status, p.featured, p.attributes,
       p.price, p.in_stock, p.published_at, p.created_at, p.updated_at
FROM catalog_product p
WHERE p.store_id = (SELECT id FROM stores_store WHERE slug = %s) AND p.status = 'published'
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


def query_floor(request):
    with connection.cursor() as cursor:
        cursor.execute(QUERY, [request.GET.get("store", "bench")])
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return HttpResponse(json.dumps({"success": True, "data": rows}, default=str), content_type="application/json")
