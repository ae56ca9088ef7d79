"""Catalog writes: every use case in one transaction, business rules here and nowhere else.

One module per thing a reader looks for: ``categories``, ``products`` (incl. the status transitions),
``variants``, ``images``, ``reviews``, ``slugs``, ``stock`` (the only writer of stock, with its ledger),
``summary`` (a product's price and in_stock).
Callers import from ``catalog.services``; the names below are the public surface. Each rule is a
``*_check`` function here that raises the DomainError the API answers with; the services call it,
and so do the admin forms and the CSV importer (docs/ARCHITECTURE.md "Rules").
"""

from .categories import (
    category_create,
    category_delete,
    category_descendants,
    category_parent_check,
    category_update,
)
from .images import product_image_add, product_image_delete, product_image_update
from .products import (
    EVENT_FOR_STATUS,
    PRODUCT_FIELDS,
    STATUS_PATHS,
    TRANSITIONS,
    product_archive,
    product_attributes_check,
    product_category_check,
    product_create,
    product_delete,
    product_publish,
    product_status_set,
    product_transition,
    product_unpublish,
    product_update,
)
from .reviews import review_create, review_delete, review_set_hidden, reviews_of_user_erase
from .slugs import slug_free_check, slug_generate
from .stock import (
    movements_actor_erase,
    stock_adjust,
    stock_low_notice,
    stock_opening_record,
    stock_opening_record_bulk,
    stock_release,
    stock_reserve,
    stock_return,
    stock_returnable,
    stock_sell,
    stock_set,
)
from .summary import product_summary_refresh
from .variants import (
    VARIANT_FIELDS,
    product_variants_apply,
    variant_create,
    variant_delete,
    variant_options_check,
    variant_prices_check,
    variant_sku_check,
    variant_stock_check,
    variant_update,
)

__all__ = [
    "EVENT_FOR_STATUS", "PRODUCT_FIELDS", "STATUS_PATHS", "TRANSITIONS", "VARIANT_FIELDS",
    "category_create", "category_delete", "category_descendants", "category_parent_check", "category_update",
    "product_archive", "product_attributes_check", "product_category_check", "product_create", "product_delete",
    "product_image_add", "product_image_delete", "product_image_update", "product_publish", "product_status_set",
    "product_summary_refresh", "product_transition", "product_unpublish", "product_update",
    "product_variants_apply",
    "movements_actor_erase", "review_create", "review_delete", "review_set_hidden", "reviews_of_user_erase",
    "slug_free_check", "slug_generate",
    "stock_adjust", "stock_low_notice", "stock_opening_record", "stock_opening_record_bulk", "stock_release",
    "stock_reserve", "stock_return", "stock_returnable", "stock_sell", "stock_set",
    "variant_create", "variant_delete", "variant_options_check", "variant_prices_check", "variant_sku_check",
    "variant_stock_check", "variant_update",
]
