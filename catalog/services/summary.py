"""A product's denormalized price and in_stock, derived from its variants."""

from collections.abc import Iterable

from django.db.models import Exists, Min, OuterRef, Subquery

from ..cache import catalog_cache_invalidate
from ..models import PURCHASABLE, Product, Variant


def product_summary_refresh(*, product_ids: Iterable[int], invalidate: bool = True) -> None:
    """Recomputes the denormalized ``price`` (lowest variant price) and ``in_stock`` in one UPDATE.

    Call it after any change to variants' prices or stock (orders' stock services too). ``invalidate=False``:
    the caller tells the cache itself (catalog.services.stock, through catalog_stock_changed: a stock change does
    not make the store's other pages stale).
    """
    ids = list(product_ids)
    if not ids:
        return
    variants = Variant.objects.filter(product=OuterRef("pk"))
    purchasable = variants.filter(PURCHASABLE)
    Product.objects.filter(pk__in=ids).update(
        price=Subquery(variants.order_by().values("product").annotate(low=Min("price")).values("low")[:1]),
        in_stock=Exists(purchasable),
    )
    if not invalidate:
        return
    for store_id in Product.objects.filter(pk__in=ids).values_list("store_id", flat=True).distinct():
        catalog_cache_invalidate(store_id)
