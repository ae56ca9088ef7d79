"""CSV import of products and variants, shared by ``manage.py import_products`` and the admin.

Columns (header row required; names are case-insensitive, order free, unknown columns refused):

    sku               required; the variant to create or update (unique per store)
    product_slug      the product the variant belongs to (created when missing) …
    product_name      … or its name; one of the two is required for a new sku, both may be given
    name              the variant's name ("Large / Red")
    price             required for a new variant; a decimal with at most the store currency's places
    compare_at_price  optional, same format
    stock_quantity    optional whole number ≥ 0 (0 for a new variant)
    brand             product brand
    category          product category, by slug (must exist in the store)
    status            draft, published or archived (new products: draft)
    description       product description
    options           "size=M;color=red"

Product columns may be repeated on each of a product's rows or given once;
when given more than once they must agree. Every row is validated first; any
error (reported as row number, field, message; the header is row 1) means
nothing is imported. The writes run in one transaction.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models.functions import Lower
from django.utils.text import slugify

from config.api.errors import ValidationFailed
from config.api.fields import INTEGER_MAX
from config.money import MAX_DIGITS, decimal_string_parse
from plans.errors import PlanLimitReached
from plans.services import plan_limit, plan_limit_check, plan_usage
from stores.models import Store

from . import services
from .models import Category, Product, ProductStatus, Variant

PRODUCT_SLUG_MAX_LENGTH = Product._meta.get_field("slug").max_length

COLUMNS = ("sku", "product_slug", "product_name", "name", "price", "compare_at_price", "stock_quantity", "brand",
           "category", "status", "description", "options")
PRODUCT_COLUMNS = ("brand", "category", "status", "description")
MAX_ROWS = 50_000


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


class ImportFailed(ValidationFailed):
    """Nothing was imported; ``errors`` says why, row by row."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s); nothing was imported.",
                         rows=[{"row": e.row, "field": e.field, "message": e.message} for e in errors])


@dataclass
class ImportResult:
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0

    def __str__(self) -> str:
        return (f"{self.products_created} products created, {self.products_updated} updated; "
                f"{self.variants_created} variants created, {self.variants_updated} updated.")


@dataclass
class _ProductPlan:
    key: str
    slug: str
    name: str
    existing: Product | None
    values: dict = field(default_factory=dict)  # brand, category, status, description
    first_row: int = 0


@dataclass
class _VariantPlan:
    row: int
    product_key: str
    sku: str
    existing: Variant | None
    values: dict


def _money(raw: str, currency: str) -> Decimal:
    value = decimal_string_parse(raw)  # as the API takes amounts: no sign, exponent or "NaN"
    if value.adjusted() >= MAX_DIGITS - 3:
        raise ValueError("Too large.")
    try:
        services.variant_prices_check(currency=currency, values={"price": value})
    except ValidationFailed as exc:
        raise ValueError(exc.message) from None
    return value


def _options(raw: str) -> dict:
    options = {}
    for part in filter(None, (piece.strip() for piece in raw.split(";"))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f'"{part}" is not key=value (write options as "size=M;color=red").')
        options[key.strip()] = value.strip()
    return options


def read_rows(source: bytes | str | Iterable[str]) -> tuple[list[str], list[dict]]:
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed([RowError(1, "file", "The file is not UTF-8 text.")]) from None
    if isinstance(source, str):
        source = io.StringIO(source)
    reader = csv.DictReader(source)
    try:
        headers = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
        reader.fieldnames = headers
        rows = []
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise ImportFailed([RowError(MAX_ROWS + 2, "file", f"At most {MAX_ROWS} rows per file.")])
    except csv.Error as exc:
        raise ImportFailed([RowError(reader.line_num, "file", f"Not valid CSV: {exc}")]) from None
    return headers, rows


def products_import(*, store: Store, source, actor=None) -> ImportResult:
    """Validates every row, then creates or updates products and variants (by sku) in one transaction.

    Raises ImportFailed (400, with each row's errors) and imports nothing when any row is bad.
    """
    headers, rows = read_rows(source)
    products, variants = _plan(store=store, headers=headers, rows=rows)
    return _apply(store=store, products=products, variants=variants, actor=actor)


def _plan(*, store: Store, headers: list[str], rows: list[dict]) -> tuple[dict[str, _ProductPlan], list[_VariantPlan]]:
    errors: list[RowError] = []
    unknown = [name for name in headers if name not in COLUMNS]
    if unknown:
        errors.append(RowError(1, "header", f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(COLUMNS)}."))
    if "sku" not in headers:
        errors.append(RowError(1, "header", "The sku column is required."))
    if not rows and not errors:
        errors.append(RowError(1, "file", "The file has no rows."))
    if errors:
        raise ImportFailed(errors)

    def lookup_values(column: str) -> set[str]:
        # values with a NUL are row errors below; PostgreSQL could not even compare them
        values = {(row.get(column) or "").strip() for row in rows}
        return {value for value in values if value and "\x00" not in value}

    existing_variants = {v.sku: v for v in Variant.objects.filter(store=store, sku__in=lookup_values("sku"))
                         .select_related("product")}
    slugs = lookup_values("product_slug")
    names = {name.lower() for name in lookup_values("product_name")}
    by_slug = {p.slug: p for p in Product.objects.filter(store=store, slug__in=slugs)}
    by_name: dict[str, Product] = {}
    for product in Product.objects.annotate(lower_name=Lower("name")).filter(store=store, lower_name__in=names) \
            .order_by("id"):
        by_name.setdefault(product.name.lower(), product)
    categories = {c.slug: c for c in Category.objects.filter(store=store, slug__in=lookup_values("category"))}

    products: dict[str, _ProductPlan] = {}
    variants: list[_VariantPlan] = []
    seen_skus: dict[str, int] = {}
    # every slug the file names explicitly is kept free for it, so a slug generated from a
    # product_name on an earlier row cannot take it (that would fail mid-import)
    taken_new_slugs: set[str] = set(slugs)
    # counted once per file, and only when the plan limits products
    products_used = plan_usage(store, "products") if plan_limit(store, "products") is not None else 0
    new_products = 0
    for index, row in enumerate(rows):
        number = index + 2
        if None in row:  # more cells than headers
            errors.append(RowError(number, "row", "More cells than columns."))
            continue
        cell = {name: (row.get(name) or "").strip() for name in COLUMNS}
        row_errors: list[RowError] = []

        def error(name: str, message: str, row_number: int = number, bucket: list = row_errors) -> None:
            bucket.append(RowError(row_number, name, message))

        for column in COLUMNS:
            if "\x00" in cell[column]:  # PostgreSQL text cannot hold NUL
                error(column, "Null characters are not allowed.")
                cell[column] = ""

        sku = cell["sku"]
        if not sku:
            error("sku", "Required.")
        elif len(sku) > 64:
            error("sku", "At most 64 characters.")
        elif sku in seen_skus:
            error("sku", f"Also on row {seen_skus[sku]}.")
        else:
            seen_skus[sku] = number
        existing = existing_variants.get(sku)

        # which product
        slug, name = cell["product_slug"], cell["product_name"]
        if slug and slugify(slug) != slug:
            error("product_slug", "Use lowercase letters, digits and hyphens.")
        elif len(slug) > PRODUCT_SLUG_MAX_LENGTH:
            error("product_slug", f"At most {PRODUCT_SLUG_MAX_LENGTH} characters.")
        product = by_slug.get(slug) if slug else by_name.get(name.lower()) if name else None
        if existing is not None and product is not None and product.pk != existing.product_id:
            error("sku", f"Belongs to product {existing.product.slug!r}, not {product.slug!r}.")
        if existing is not None and product is None and not slug and not name:
            product = existing.product
        if product is None and existing is not None and (slug or name):
            error("sku", f"Belongs to product {existing.product.slug!r}.")
        if not slug and not name and existing is None:
            error("product_slug", "Give product_slug or product_name.")
        elif product is None and not name and existing is None:
            error("product_name", "Required to create a new product.")
        elif len(name) > 200:
            error("product_name", "At most 200 characters.")
        key = f"id:{product.pk}" if product else f"slug:{slug}" if slug else f"name:{name.lower()}"

        # product columns
        product_values: dict = {}
        if cell["brand"]:
            product_values["brand"] = cell["brand"][:120]
        if cell["description"]:
            product_values["description"] = cell["description"]
        if cell["category"]:
            category = categories.get(cell["category"])
            if category is None:
                error("category", f"No category with slug {cell['category']!r} in this store.")
            else:
                product_values["category"] = category
        if cell["status"]:
            if cell["status"] not in ProductStatus.values:
                error("status", f"One of {', '.join(ProductStatus.values)}.")
            else:
                product_values["status"] = cell["status"]

        # variant columns
        values: dict = {}
        if cell["name"]:
            values["name"] = cell["name"][:120]
        for money_field in ("price", "compare_at_price"):
            if cell[money_field]:
                try:
                    values[money_field] = _money(cell[money_field], store.currency)
                except ValueError as exc:
                    error(money_field, str(exc))
        if "price" not in values and existing is None and not any(e.field == "price" for e in row_errors):
            error("price", "Required for a new variant.")
        if cell["stock_quantity"]:
            try:
                stock = int(cell["stock_quantity"])
                if not 0 <= stock <= INTEGER_MAX:
                    raise ValueError
            except ValueError:
                error("stock_quantity", f"A whole number from 0 to {INTEGER_MAX}.")
            else:
                try:
                    if existing is not None:
                        services.variant_stock_check(variant=existing, values={"stock_quantity": stock})
                except ValidationFailed as exc:
                    error("stock_quantity", exc.details["stock_quantity"][0])
                values["stock_quantity"] = stock
        if cell["options"]:
            try:
                values["options"] = _options(cell["options"])
                services.variant_options_check(options=values["options"])
            except ValueError as exc:
                error("options", str(exc))
            except ValidationFailed as exc:
                error("options", exc.message)

        if not row_errors:
            if key not in products and product is None:
                # the plan's product limit, row by row: the rows past it are refused, and the import with them
                try:
                    plan_limit_check(store=store, limit="products", adding=new_products + 1, used=products_used,
                                     lock=False)
                except PlanLimitReached as exc:
                    error("product_name", exc.message)
        if not row_errors:
            plan = products.get(key)
            if plan is None:
                new_slug = slug
                if product is None and not slug:
                    new_slug = services.slug_generate(model=Product, store=store, source=name,
                                                      avoid=taken_new_slugs)
                if product is None:
                    taken_new_slugs.add(new_slug)
                    new_products += 1
                plan = products[key] = _ProductPlan(key=key, slug=product.slug if product else new_slug,
                                                    name=name or (product.name if product else ""),
                                                    existing=product, first_row=number)
            for column, value in product_values.items():
                if column in plan.values and plan.values[column] != value:
                    error(column, f"Differs from an earlier row of the same product (row {plan.first_row}).")
                else:
                    plan.values[column] = value
            if name and product is not None and name != product.name and "name" not in plan.values:
                plan.values["name"] = name
        if not row_errors:
            variants.append(_VariantPlan(row=number, product_key=key, sku=sku, existing=existing, values=values))
        errors.extend(row_errors)
    if errors:
        raise ImportFailed(errors)
    return products, variants


@transaction.atomic
def _apply(*, store: Store, products: dict[str, _ProductPlan], variants: list[_VariantPlan], actor) -> ImportResult:
    """One audit entry and at most one event per product, not one per row."""
    result = ImportResult()
    by_product: dict[str, list[_VariantPlan]] = {}
    for plan in variants:
        by_product.setdefault(plan.product_key, []).append(plan)
    for key, plan in products.items():
        rows = by_product.get(key, [])
        values = dict(plan.values)
        status = values.pop("status", None)
        if plan.existing is None:
            services.product_create(
                store=store, actor=actor, name=plan.name, slug=plan.slug, status=status or ProductStatus.DRAFT,
                variants=[{"sku": row.sku, **row.values} for row in rows], **values,
            )
            result.products_created += 1
            result.variants_created += len(rows)
            continue
        product = plan.existing
        before = product.updated_at
        product = services.product_update(product=product, actor=actor, **values)  # writes only what differs
        changed = product.updated_at != before
        if status and status != product.status:
            product = services.product_status_set(product=product, status=status, actor=actor)
            changed = True
        created, updated = services.product_variants_apply(
            product=product, actor=actor,
            new=[{"sku": row.sku, **row.values} for row in rows if row.existing is None],
            changed=[(row.existing, row.values) for row in rows if row.existing is not None and row.values],
        )
        result.variants_created += created
        result.variants_updated += updated
        result.products_updated += changed or bool(created or updated)
    return result
