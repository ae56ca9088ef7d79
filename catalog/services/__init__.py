"""Catalog writes: every use case in one transaction, business rules here and nowhere else.

One module per thing a reader looks for: ``categories``, ``products`` (incl. the status transitions),
``variants``, ``images``, ``reviews``, ``slugs``, ``summary`` (a product's price and in_stock).
Callers import from ``catalog.services``; the names below are the public surface.
"""

from .categories import category_create, category_delete, category_descendants, category_update
from .images import product_image_add, product_image_delete, product_image_update
from .products import (
    EVENT_FOR_STATUS,
    PRODUCT_FIELDS,
    TRANSITIONS,
    product_archive,
    product_create,
    product_delete,
    product_publish,
    product_transition,
    product_unpublish,
    product_update,
)
from .reviews import review_create, review_delete, review_set_hidden
from .summary import product_summary_refresh
from .variants import VARIANT_FIELDS, product_variants_apply, variant_create, variant_delete, variant_update

__all__ = [
    "EVENT_FOR_STATUS", "PRODUCT_FIELDS", "TRANSITIONS", "VARIANT_FIELDS",
    "category_create", "category_delete", "category_descendants", "category_update",
    "product_archive", "product_create", "product_delete", "product_image_add", "product_image_delete",
    "product_image_update", "product_publish", "product_summary_refresh", "product_transition",
    "product_unpublish", "product_update", "product_variants_apply",
    "review_create", "review_delete", "review_set_hidden",
    "variant_create", "variant_delete", "variant_update",
]
