"""Catalog reads. Every list runs a fixed number of queries whatever its page size."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Avg, Count, F, Min, Q, QuerySet
from django.db.models.functions import Lower, Round

from config.money import currency_places
from stores.models import Store

from . import search
from .models import Category, InventoryMovement, Product, ProductCount, ProductStatus, Review, Variant

SORTS = {
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}
# products without variants (no price) sort last either way
PRICE_ORDER = {
    "price": (F("price").asc(nulls_last=True), "id"),
    "-price": (F("price").desc(nulls_last=True), "-id"),
}


@dataclass(frozen=True)
class ProductFilters:
    q: str = ""
    category: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    brand: str = ""
    in_stock: bool | None = None
    status: str = ""
    featured: bool | None = None
    sort: str = ""


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- categories ----------------------------------------------------------------
def category_list(*, store: Store) -> QuerySet[Category]:
    return Category.objects.filter(store=store).order_by("path")


def category_subtree(*, category: Category) -> QuerySet[Category]:
    """The category and everything under it, in one indexed query on the materialized path."""
    return Category.objects.filter(store_id=category.store_id, path__startswith=category.path)


def category_tree(*, store: Store) -> list[dict]:
    """The whole tree as nested dicts (``children``), from one query."""
    nodes: dict[int, dict] = {}
    roots: list[dict] = []
    rows = category_list(store=store).values("id", "name", "slug", "description", "parent_id", "position", "depth")
    for row in rows:
        parent = row.pop("parent_id")
        nodes[row["id"]] = {**row, "parent": parent, "children": []}
    for node in nodes.values():
        parent = nodes.get(node["parent"])
        (parent["children"] if parent else roots).append(node)

    def order(items: list[dict]) -> list[dict]:
        items.sort(key=lambda item: (item["position"], item["name"].lower(), item["id"]))
        for item in items:
            order(item["children"])
        return items

    return order(roots)


# --- prices --------------------------------------------------------------------
def store_prices_fit(*, store: Store, currency: str) -> bool:
    """Whether every variant price of the store can be written in ``currency`` without rounding
    (a store moving from LYD's three places to USD's two must not turn 19.995 into "20.00")."""
    places = currency_places(currency)
    finer = (Q(price__isnull=False) & ~Q(price=Round("price", places))
             | Q(compare_at_price__isnull=False) & ~Q(compare_at_price=Round("compare_at_price", places)))
    return not Variant.objects.filter(finer, store=store).exists()


# --- products ------------------------------------------------------------------
def product_visible(*, store: Store, is_member: bool) -> QuerySet[Product]:
    """Members see every status; everyone else only published products (of active stores: the view checks)."""
    queryset = Product.objects.filter(store=store)
    return queryset if is_member else queryset.filter(status=ProductStatus.PUBLISHED)


def product_total(*, store: Store, is_member: bool, status: str = "") -> int:
    """The number of products the unfiltered list holds (product_list with no filter but ``status``), exact and
    O(1): the store's counter row, kept by triggers in the transaction of every change (catalog.counts)."""
    statuses = [status] if status else list(ProductStatus.values)
    if not is_member:
        statuses = [name for name in statuses if name == ProductStatus.PUBLISHED]
    if not statuses:
        return 0
    row = ProductCount.objects.filter(store=store).values_list(*statuses).first()
    return sum(row) if row else 0


def product_with_relations(queryset: QuerySet[Product]) -> QuerySet[Product]:
    """What the product serializers read, in a fixed number of queries: 1 + variants + images.

    Variants and images are not prefetched here: ProductOutput loads them, for a whole page
    in one query each (catalog.output.products_dicts), for one product lazily.
    """
    # the vector is for WHERE clauses only (a few KB per row to fetch and decode otherwise);
    # the store is the view's own, so joining it again per row is waste
    return queryset.defer("search_vector").select_related("category")


def product_list(*, store: Store, is_member: bool, filters: ProductFilters) -> QuerySet[Product]:
    queryset = product_visible(store=store, is_member=is_member)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.category:
        path = Category.objects.filter(store=store, slug=filters.category).values_list("path", flat=True).first()
        if path is None:
            return queryset.none()
        queryset = queryset.filter(
            category_id__in=Category.objects.filter(store=store, path__startswith=path).values("pk"))
    if filters.price_min is not None:
        queryset = queryset.filter(price__gte=filters.price_min)
    if filters.price_max is not None:
        queryset = queryset.filter(price__lte=filters.price_max)
    if filters.brand:
        queryset = queryset.filter(brand__iexact=filters.brand)
    if filters.in_stock is not None:
        queryset = queryset.filter(in_stock=filters.in_stock)
    if filters.featured is not None:
        queryset = queryset.filter(featured=filters.featured)
    sort = filters.sort or ("relevance" if filters.q else "-created")
    if filters.q:
        queryset = product_text_match(queryset, filters.q, rank=sort == "relevance")
    if sort == "relevance":
        ordering = ("-rank", "-created_at", "-id") if filters.q else SORTS["-created"]
    else:
        ordering = SORTS.get(sort, SORTS["-created"])
    if sort in PRICE_ORDER:
        return product_with_relations(queryset.order_by(*PRICE_ORDER[sort]))
    return product_with_relations(queryset.order_by(*ordering))


def product_text_match(queryset: QuerySet[Product], q: str, *, rank: bool) -> QuerySet[Product]:
    """Full-text match, the same as /search (catalog.search: PostgreSQL ranked, SQLite LIKE)."""
    return search.text_match(queryset, q, rank=rank)


def product_search(*, store: Store, is_member: bool, q: str) -> QuerySet[Product]:
    """Ranked full-text search over published products (members too: search is the public view)."""
    return product_with_relations(search.product_search(store=store, q=q))


def product_suggestions(*, store: Store, q: str, limit: int = 10) -> list[dict]:
    """Published products for a search box; see catalog.search.product_suggestions."""
    return search.product_suggestions(store=store, q=q, limit=limit)


def brand_list(*, store: Store, is_member: bool) -> list[dict]:
    """Distinct brands with product counts (published products for the public)."""
    queryset = product_visible(store=store, is_member=is_member).exclude(brand="")
    # one entry per brand whatever its case, as the brand filter matches (iexact)
    rows = queryset.annotate(key=Lower("brand")).values("key").annotate(brand=Min("brand"), count=Count("id"))
    return [{"brand": row["brand"], "count": row["count"]} for row in rows.order_by("key")]


# --- reviews -------------------------------------------------------------------
def review_list(*, product: Product, include_hidden: bool) -> QuerySet[Review]:
    queryset = Review.objects.filter(product=product).select_related("user")
    return queryset if include_hidden else queryset.filter(is_hidden=False)


def review_summary(*, product: Product) -> dict:
    return Review.objects.filter(product=product, is_hidden=False).aggregate(average=Avg("rating"),
                                                                               count=Count("id"))


def inventory_list(*, store: Store, low_stock: bool = False, q: str = "") -> QuerySet[Variant]:
    """The store's variants with on hand, reserved and ``available_units``; ``low_stock``: tracked variants whose
    available stock is at or below the store's threshold, the lowest first."""
    variants = (Variant.objects.filter(store=store).select_related("product")
                .annotate(available_units=F("stock_quantity") - F("reserved")))
    if q:
        variants = variants.filter(Q(sku__icontains=q) | Q(product__name__icontains=q) | Q(name__icontains=q))
    if low_stock:
        return variants.filter(track_inventory=True, available_units__lte=store.low_stock_threshold).order_by(
            "available_units", "sku", "id")
    return variants.order_by("product_id", "position", "id")


def variants_low_stock() -> QuerySet[Variant]:
    """Tracked variants whose available stock is at or below their own store's threshold, in every store (the rule
    of ``inventory_list(low_stock=True)``, for lists that span stores: the admin's products filter)."""
    return Variant.objects.filter(track_inventory=True,
                                  stock_quantity__lte=F("reserved") + F("store__low_stock_threshold"))


def movement_list(*, store: Store, variant_id: int | None = None, reason: str | None = None,
                  order_id: int | None = None) -> QuerySet[InventoryMovement]:
    """The store's stock ledger, newest first, filtered by variant, reason or order."""
    movements = InventoryMovement.objects.filter(store=store).select_related("variant", "order")
    if variant_id is not None:
        movements = movements.filter(variant_id=variant_id)
    if reason:
        movements = movements.filter(reason=reason)
    if order_id is not None:
        movements = movements.filter(order_id=order_id)
    return movements.order_by("-created_at", "-id")
