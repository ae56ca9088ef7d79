"""Hand-written shaping of the hot catalog reads (product list, detail, search).

DRF's ModelSerializer builds its fields by introspecting the model on every
instance and then runs a Field object per value; for a page of products with
nested variants and images that was most of a request's CPU time. These
functions produce exactly what ProductOutput / VariantOutput /
ProductImageOutput declare (same keys, same order, same formats: money as the
currency's decimal string, datetimes as DRF's ISO 8601 with "Z"), and the
serializers delegate to them. catalog/tests/test_query_counts.py checks them
against DRF's generic rendering.
"""

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from config.money import money_str

from .cache import stock_recording, stock_slots_product, stock_slots_variant
from .models import variant_purchasable

try:
    from psycopg import ClientCursor
except ImportError:  # no psycopg 3: SQLite or psycopg2, the single statements are used
    ClientCursor = ()


def iso(value: datetime | None, zone=None) -> str | None:
    """DRF's DateTimeField output: ISO 8601 in the current time zone, UTC as "Z"."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(zone or timezone.get_current_timezone())
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def money(value: Decimal | None, currency: str) -> str | None:
    return None if value is None else money_str(Decimal(value), currency)


def variant_dict(variant, currency: str, zone=None) -> dict[str, Any]:
    out = {
        "id": variant.id,
        "sku": variant.sku,
        "name": variant.name,
        "price": money(variant.price, currency),
        "compare_at_price": money(variant.compare_at_price, currency),
        "currency": currency,
        "options": variant.options,
        "stock_quantity": variant.stock_quantity,
        "reserved": variant.reserved,
        "available": variant.stock_quantity - variant.reserved,
        "in_stock": variant.purchasable,
        "track_inventory": variant.track_inventory,
        "allow_backorder": variant.allow_backorder,
        "position": variant.position,
        "created_at": iso(variant.created_at, zone),
        "updated_at": iso(variant.updated_at, zone),
    }
    recorder = stock_recording()
    if recorder is not None:  # a cached read: the stock fields become slots filled on every hit (catalog.cache)
        stock_slots_variant(out, recorder)
    return out


def image_dict(image, request, zone=None) -> dict[str, Any]:
    url = image.image.url
    if url and url.startswith("/") and request is not None:
        url = request.build_absolute_uri(url)
    return {
        "id": image.id,
        "url": url,
        "alt": image.alt,
        "position": image.position,
        "width": image.width,
        "height": image.height,
        "created_at": iso(image.created_at, zone),
    }


def category_dict(category) -> dict[str, Any] | None:
    if category is None:
        return None
    return {"id": category.id, "name": category.name, "slug": category.slug, "parent": category.parent_id}


def product_dict(product, *, currency: str, request=None, variants=None, images=None, zone=None) -> dict[str, Any]:
    """ProductOutput's shape; ``variants`` and ``images`` default to the product's own (loaded or lazy)."""
    zone = zone or timezone.get_current_timezone()
    variants = product.variants.all() if variants is None else variants
    images = product.images.all() if images is None else images
    out = {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "brand": product.brand,
        "category": category_dict(product.category),
        "status": product.status,
        "featured": product.featured,
        "attributes": product.attributes,
        "price": money(product.price, currency),
        "currency": currency,
        "in_stock": product.in_stock,
        "variants": [variant_dict(variant, currency, zone) for variant in variants],
        "images": [image_dict(image, request, zone) for image in images],
        "published_at": iso(product.published_at, zone),
        "created_at": iso(product.created_at, zone),
        "updated_at": iso(product.updated_at, zone),
    }
    recorder = stock_recording()
    if recorder is not None:
        stock_slots_product(out, recorder)
    return out


def products_dicts(products, *, currency: str, request=None, children=None) -> list[dict[str, Any]]:
    """A page of products: their variants and images in one query each (not Django's prefetch
    machinery, which cost more than the two queries themselves), unless already prefetched or
    read with the page (``children``: variants and images by product id)."""
    products = list(products)
    if not products:
        return []
    if children is None and all("variants" in getattr(p, "_prefetched_objects_cache", {}) for p in products):
        return [product_dict(p, currency=currency, request=request) for p in products]
    if children is None:
        loader = children_sql if connection.vendor == "postgresql" else _children_orm
        children = loader([product.id for product in products])
    variants, images = children
    zone = timezone.get_current_timezone()
    return [product_dict(p, currency=currency, request=request, variants=variants.get(p.id, ()),
                         images=images.get(p.id, ()), zone=zone) for p in products]


def _children_orm(ids: list[int]) -> tuple[dict[int, list], dict[int, list]]:
    from .models import ProductImage, Variant

    variants: dict[int, list] = {}
    for variant in Variant.objects.filter(product_id__in=ids).order_by("position", "id"):
        variants.setdefault(variant.product_id, []).append(variant)
    images: dict[int, list] = {}
    for image in ProductImage.objects.filter(product_id__in=ids).order_by("position", "id"):
        images.setdefault(image.product_id, []).append(image)
    return variants, images


class _VariantRow:
    """The Variant attributes variant_dict reads, straight from a row (no model instance)."""

    __slots__ = ("id", "product_id", "sku", "name", "price", "compare_at_price", "options", "stock_quantity",
                 "reserved", "track_inventory", "allow_backorder", "position", "created_at", "updated_at")

    def __init__(self, row) -> None:
        (self.id, self.product_id, self.sku, self.name, self.price, self.compare_at_price, options,
         self.stock_quantity, self.reserved, self.track_inventory, self.allow_backorder, self.position,
         self.created_at, self.updated_at) = row
        self.options = json.loads(options) if isinstance(options, str | bytes) else options

    @property
    def purchasable(self) -> bool:
        return variant_purchasable(self)


class _ImageRow:
    __slots__ = ("id", "product_id", "image", "alt", "position", "width", "height", "created_at")

    def __init__(self, row, field) -> None:
        for name, value in zip(self.__slots__, row, strict=True):
            setattr(self, name, value)
        self.image = FieldFile(None, field, self.image)


VARIANTS_SQL = (f"SELECT {', '.join(_VariantRow.__slots__)} FROM catalog_variant "
                "WHERE product_id = ANY(%s) ORDER BY position, id")
IMAGES_SQL = (f"SELECT {', '.join(_ImageRow.__slots__)} FROM catalog_productimage "
              "WHERE product_id = ANY(%s) ORDER BY position, id")


def children_sql(ids: list[int]) -> tuple[dict[int, list], dict[int, list]]:
    """PostgreSQL: the same two queries without the ORM's per-query compilation and model instances
    (about a fifth of a cold list page's CPU), sent as one statement pair with client-side binding
    (Django's default with psycopg 3), which saves a round through the cursor machinery. The filtered list
    costs 29 % more CPU with _children_orm (bench/fastpaths.py, docs/PERFORMANCE.md)."""
    with connection.cursor() as cursor:
        if isinstance(cursor.cursor, ClientCursor):
            cursor.execute(f"{VARIANTS_SQL}; {IMAGES_SQL}", [ids, ids])
            variant_rows = cursor.fetchall()
            cursor.nextset()
        else:
            cursor.execute(VARIANTS_SQL, [ids])
            variant_rows = cursor.fetchall()
            cursor.execute(IMAGES_SQL, [ids])
        return _children_from_rows(variant_rows, cursor.fetchall())


def _children_from_rows(variant_rows, image_rows) -> tuple[dict[int, list], dict[int, list]]:
    from .models import ProductImage

    field = ProductImage._meta.get_field("image")
    variants: dict[int, list] = {}
    images: dict[int, list] = {}
    for row in variant_rows:
        variant = _VariantRow(row)
        variants.setdefault(variant.product_id, []).append(variant)
    for row in image_rows:
        image = _ImageRow(row, field)
        images.setdefault(image.product_id, []).append(image)
    return variants, images


def _with_children(cursor, sql: str, params: list, ids_sql: str, ids_params: list):
    """Run a product statement; with client-side binding, the children's two statements go in the
    same execute (``ids_sql`` selects the products' ids again), saving a round through the cursor
    machinery. Returns the product rows and the children, or None for the children otherwise."""
    if not isinstance(cursor.cursor, ClientCursor):
        cursor.execute(sql, params)
        return cursor.fetchall(), None
    variants_sql = VARIANTS_SQL.replace("= ANY(%s)", f"IN ({ids_sql})")
    images_sql = IMAGES_SQL.replace("= ANY(%s)", f"IN ({ids_sql})")
    cursor.execute(f"{sql}; {variants_sql}; {images_sql}", [*params, *ids_params, *ids_params])
    rows = cursor.fetchall()
    cursor.nextset()
    variant_rows = cursor.fetchall()
    cursor.nextset()
    return rows, _children_from_rows(variant_rows, cursor.fetchall())


# --- list pages as rows ----------------------------------------------------------------
class _CategoryRow:
    __slots__ = ("id", "name", "slug", "parent_id")

    def __init__(self, id, name, slug, parent_id) -> None:  # noqa: A002
        self.id, self.name, self.slug, self.parent_id = id, name, slug, parent_id


class _ProductRow:
    """The Product attributes product_dict reads (``category`` as a _CategoryRow), from one row."""

    __slots__ = ("id", "name", "slug", "description", "brand", "status", "featured", "attributes", "price",
                 "in_stock", "published_at", "created_at", "updated_at", "category")

    def __init__(self, row) -> None:
        (self.id, self.name, self.slug, self.description, self.brand, self.status, self.featured, self.attributes,
         self.price, self.in_stock, self.published_at, self.created_at, self.updated_at,
         category_id, category_name, category_slug, category_parent) = row
        if isinstance(self.attributes, str | bytes):
            self.attributes = json.loads(self.attributes)
        self.category = (None if category_id is None
                         else _CategoryRow(category_id, category_name, category_slug, category_parent))


PRODUCT_ROW_FIELDS = (*_ProductRow.__slots__[:-1], "category__id", "category__name", "category__slug",
                      "category__parent_id")


def product_rows_of(rows) -> list[_ProductRow]:
    """Rows of PRODUCT_SELECT_COLUMNS as the objects product_dict reads."""
    return [_ProductRow(row) for row in rows]


def product_rows(queryset, start: int, limit: int) -> list[_ProductRow]:
    """A page of a product queryset (any filters and ordering) as rows: the columns product_dict
    needs and the category's, without 20 product and 20 category model instances. Past the first page, a
    deferred join in one statement: the page's ids first (an index on the filters and the order answers that
    without reading the rows it skips), then those rows in the same order; not for ranked search (its order
    is an annotation)."""
    if start and not queryset.query.annotations:
        ordering = queryset.query.order_by
        ids = queryset.order_by(*ordering).values("pk")[start : start + limit]
        return [_ProductRow(row) for row in queryset.model.objects.filter(pk__in=ids).order_by(*ordering)
                .values_list(*PRODUCT_ROW_FIELDS)]
    return [_ProductRow(row) for row in queryset.values_list(*PRODUCT_ROW_FIELDS)[start : start + limit]]


# a _ProductRow's columns, of catalog_product p and catalog_category c (search.search_statement too)
PRODUCT_SELECT_COLUMNS = (f"{', '.join('p.' + name for name in _ProductRow.__slots__[:-1])}, "
                          "c.id, c.name, c.slug, c.parent_id")
_PRODUCT_SELECT = (
    f"SELECT {PRODUCT_SELECT_COLUMNS} FROM catalog_product p LEFT JOIN catalog_category c ON c.id = p.category_id "
)
_PUBLISHED = " AND p.status = 'published'"
# selectors.SORTS and PRICE_ORDER as SQL (catalog/tests/test_list_sql.py compares the answers)
LIST_ORDER = {
    "-created": "p.created_at DESC, p.id DESC",
    "created": "p.created_at ASC, p.id ASC",
    "price": "p.price ASC NULLS LAST, p.id ASC",
    "-price": "p.price DESC NULLS LAST, p.id DESC",
    "name": "p.name ASC, p.id ASC",
    "-name": "p.name DESC, p.id DESC",
}
# selectors.product_list's filters but q, as conditions on catalog_product p: (ProductFilters field, SQL)
LIST_CONDITIONS = (
    ("status", "p.status = %s"),
    ("price_min", "p.price >= %s"),
    ("price_max", "p.price <= %s"),
    ("brand", "UPPER(p.brand::text) = UPPER(%s)"),  # the ORM's iexact
    ("in_stock", "p.in_stock = %s"),
    ("featured", "p.featured = %s"),
)
# the category and its sub-tree (selectors.category_subtree: paths are base-36 digits and dots, no LIKE wildcards);
# an unknown slug matches nothing, as the ORM's none()
LIST_CATEGORY = ("p.category_id IN (SELECT s.id FROM catalog_category s WHERE s.store_id = %s AND s.path LIKE "
                 "(SELECT t.path FROM catalog_category t WHERE t.store_id = %s AND t.slug = %s) || '%%')")
STATUS_COLUMNS = ("draft", "published", "archived")  # catalog_productcount's, named as ProductStatus's values


def list_filtered(filters) -> bool:
    """Whether the list's total needs a COUNT: a filter other than ``status`` (and ``sort``) is set."""
    return bool(filters.q or filters.category or filters.brand) or any(
        value is not None for value in (filters.price_min, filters.price_max, filters.in_stock, filters.featured))


def list_page_rows(store_id: int, *, published_only: bool, filters, start: int, limit: int, count: bool):
    """PostgreSQL: a page of the product list (selectors.product_list with ``filters``, any but ``q``) as plain
    SQL in one execute: no queryset to build and compile per request. Past the first page, and on any page of a
    filtered list, the page's ids come first (a deferred join, as product_rows: an index answers them without
    reading the rows it skips or sorts), then those 20 rows. The variants and images come in the same execute
    (the page's ids again: cheap where an index gives them in order, the unfiltered first page), else by the
    next. The total comes along: the store's counter row for an unfiltered list (list_filtered), COUNT(*) for a
    filtered one when ``count`` (else None: the caller's count cache). Returns (rows, children, total).
    Measured: bench/fastpaths.py, docs/PERFORMANCE.md ("The storefront while the store sells")."""
    where, params = ["p.store_id = %s"], [store_id]
    if published_only:
        where.append("p.status = 'published'")
    for name, condition in LIST_CONDITIONS:
        value = getattr(filters, name)
        if value is not None and value != "":
            where.append(condition)
            params.append(value)
    if filters.category:
        where.append(LIST_CATEGORY)
        params += [store_id, store_id, filters.category]
    filtered = list_filtered(filters)
    where_sql, order = " AND ".join(where), LIST_ORDER.get(filters.sort, LIST_ORDER["-created"])
    ids = f"SELECT p.id FROM catalog_product p WHERE {where_sql} ORDER BY {order} LIMIT %s"
    if start or filtered:
        statements = [(f"{_PRODUCT_SELECT}WHERE p.id IN ({ids} OFFSET %s) ORDER BY {order}", [*params, limit, start])]
    else:
        statements = [(f"{_PRODUCT_SELECT}WHERE {where_sql} ORDER BY {order} LIMIT %s", [*params, limit])]
    if filtered and count:
        statements.append((f"SELECT count(*) FROM catalog_product p WHERE {where_sql}", params))
    elif not filtered:
        statuses = [filters.status] if filters.status else list(STATUS_COLUMNS)
        if published_only:
            statuses = [name for name in statuses if name == "published"]
        total = " + ".join(statuses) if statuses else "0"
        statements.append((f"SELECT COALESCE((SELECT {total} FROM catalog_productcount WHERE store_id = %s), 0)",
                           [store_id]))
    with_children = not (start or filtered)
    if with_children:
        for sql in (VARIANTS_SQL, IMAGES_SQL):
            statements.append((sql.replace("= ANY(%s)", f"IN ({ids})"), [*params, limit]))
    with connection.cursor() as cursor:
        results = _results(cursor, statements)
    rows = [_ProductRow(row) for row in results[0]]
    total = results[1][0][0] if count or not filtered else None
    children = _children_from_rows(results[-2], results[-1]) if with_children else None
    return rows, children, total


def _results(cursor, statements: list[tuple[str, list]]) -> list[list]:
    """Each statement's rows: all in one execute with client-side binding (Django's default with psycopg 3),
    one execute each otherwise."""
    if not isinstance(cursor.cursor, ClientCursor):
        results = []
        for sql, params in statements:
            cursor.execute(sql, params)
            results.append(cursor.fetchall())
        return results
    cursor.execute("; ".join(sql for sql, _ in statements), [value for _, params in statements for value in params])
    results = [cursor.fetchall()]
    while cursor.nextset():
        results.append(cursor.fetchall())
    return results


PRODUCT_ROW_SQL = _PRODUCT_SELECT + "WHERE p.id = %s AND p.store_id = %s{status}"


def product_row(product_id: int, store_id: int, *, published_only: bool):
    """PostgreSQL: one product of the store (selectors.product_visible) as a row, for the detail,
    with its variants and images in the same execute: 90 % less CPU in-process than DRF's retrieve
    (bench/fastpaths.py, docs/PERFORMANCE.md). Returns (row or None, children or None)."""
    sql = PRODUCT_ROW_SQL.format(status=_PUBLISHED if published_only else "")
    with connection.cursor() as cursor:
        rows, children = _with_children(cursor, sql, [product_id, store_id], "%s", [product_id])
    return (_ProductRow(rows[0]) if rows else None), children
