"""CPU per anonymous page-cache hit from a worker's memory (catalog.cache), a 20-product list page:
without stock changes, and with 10 of its products' stock changed since it was cached (their counts filled
from the stock map on every hit). Alternating rounds; process CPU time.

    .venv/bin/python -m bench.stock_hit [rounds]
"""
import os
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from rest_framework.settings import api_settings  # noqa: E402

from catalog import cache as c  # noqa: E402
from catalog import output  # noqa: E402
from config.api.renderers import EnvelopeJSONRenderer  # noqa: E402

settings.CATALOG_CACHE_LOCAL_MS = 250
api_settings.DEFAULT_THROTTLE_CLASSES = []
now = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)


class P:  # a product row
    def __init__(self, i):
        self.id, self.name, self.slug, self.description = i, f"Product {i}", f"product-{i}", "A fine thing. " * 20
        self.brand, self.status, self.featured, self.attributes = "Acme", "published", False, {"colour": "blue"}
        self.price, self.in_stock, self.published_at, self.created_at, self.updated_at = (
            Decimal("10.00"), True, now, now, now)
        self.category = None


class V:
    def __init__(self, i):
        self.id, self.product_id, self.sku, self.name, self.price, self.compare_at_price = (
            i, i, f"SKU-{i}", "M", Decimal("10.00"), None)
        self.options, self.stock_quantity, self.reserved, self.track_inventory, self.allow_backorder = (
            {"size": "M"}, 1_000_000, 0, True, False)
        self.position, self.created_at, self.updated_at = 0, now, now

    @property
    def purchasable(self):
        return True


recorder = {}
token = c._recording.set(recorder)
data = [output.product_dict(P(i), currency="USD", variants=[V(i)], images=[]) for i in range(1, 21)]
c._recording.reset(token)
raw = EnvelopeJSONRenderer().render({"success": True, "data": data, "timestamp": "2026-12-06T20:00:00Z"})
body, template = c._template(raw, recorder)
cut = body.rfind(c.TIMESTAMP_MARK)
state_plain = (1, 1, 1, {})
changed = {b"v%d" % i: (time.time(), (b"999990", b"10", b"999980", b"true", b'"2026-12-06T20:00:01Z"'))
           for i in range(1, 11)}
changed.update({b"p%d" % i: (time.time(), (None, None, None, b"true", None)) for i in range(1, 11)})
state_selling = (1, 1, 1, changed)
c._slug_ids["bench"] = 1
request = RequestFactory().get("/api/v1/stores/bench/products")
key = c._page_key(1, request)
c._local_pages[key] = ((1, 1, None), time.time(), body[:cut], (("Content-Type", "application/json"),), template)
view = c.catalog_cached_read(lambda request, **kwargs: None)


def per_hit(state, n=5000):
    c._local_generations[1] = (state, time.monotonic() + 3600)
    start = time.process_time()
    for _ in range(n):
        response = view(request, store="bench")
    assert response["X-Cache"] == "hit"
    return (time.process_time() - start) / n * 1e6


rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
plain, selling = [], []
for _ in range(rounds):
    plain.append(per_hit(state_plain))
    selling.append(per_hit(state_selling))
plain.sort(), selling.sort()
print(f"page {len(body)} bytes, {len(template[0])} stock slots; CPU per hit, median of {rounds} rounds: "
      f"no change {plain[rounds // 2]:.1f} us, 10 of 20 products changed {selling[rounds // 2]:.1f} us "
      f"({selling[rounds // 2] / plain[rounds // 2]:.2f}x)")
