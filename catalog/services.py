"""Catalog writes: every use case in one transaction, business rules here and nowhere else."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, ProtectedError, Q, Subquery, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.text import slugify

from config.api.errors import AlreadyExists, InvalidTransition, ValidationFailed
from notifications import events
from stores.models import Store

from .cache import catalog_cache_invalidate
from .errors import CategoryInUse, NotPublished, ProductInUse
from .events import audit, emit_event, product_payload
from .images import image_clean
from .models import (
    MAX_CATEGORY_DEPTH,
    Category,
    Product,
    ProductImage,
    ProductStatus,
    Review,
    Variant,
    path_segment,
)

# action -> (statuses it may start from, status it leads to); API.md "Catalog".
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "publish": (frozenset({ProductStatus.DRAFT}), ProductStatus.PUBLISHED),
    "unpublish": (frozenset({ProductStatus.PUBLISHED, ProductStatus.ARCHIVED}), ProductStatus.DRAFT),
    "archive": (frozenset({ProductStatus.PUBLISHED}), ProductStatus.ARCHIVED),
}
EVENT_FOR_STATUS = {ProductStatus.PUBLISHED: "product.published", ProductStatus.ARCHIVED: "product.archived"}

PRODUCT_FIELDS = ("name", "slug", "description", "brand", "category", "featured", "attributes")
VARIANT_FIELDS = ("sku", "name", "price", "compare_at_price", "options", "stock_quantity", "track_inventory",
                  "allow_backorder", "position")


# --- slugs -------------------------------------------------------------------
def _unique_slug(*, model, store: Store, source: str, max_length: int, exclude_pk: int | None = None) -> str:
    """A slug for ``source`` not yet taken in ``store`` ("shirt", "shirt-2", …) in one query."""
    base = (slugify(source) or model.__name__.lower())[: max_length - 8].strip("-") or model.__name__.lower()
    taken = set(
        model.objects.filter(store=store, slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _check_slug_free(*, model, store: Store, slug: str, exclude_pk: int | None = None) -> None:
    if model.objects.filter(store=store, slug=slug).exclude(pk=exclude_pk).exists():
        raise AlreadyExists(f"The slug {slug!r} is already used in this store.", slug=slug)


def _changes(instance, values: dict[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for the values that differ; JSON-friendly."""
    changes = {}
    for field, new in values.items():
        old = getattr(instance, field)
        if old != new:
            changes[field] = [_plain(old), _plain(new)]
    return changes


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


# --- categories ----------------------------------------------------------------
def _check_parent(*, store: Store, parent: Category | None) -> None:
    if parent is not None and parent.store_id != store.pk:
        raise ValidationFailed("The parent category belongs to another store.", parent=["Unknown category."])
    if parent is not None and parent.depth + 1 >= MAX_CATEGORY_DEPTH:
        raise ValidationFailed("The category tree is too deep.", parent=["The category tree is too deep."])


@transaction.atomic
def category_create(*, store: Store, name: str, slug: str = "", parent: Category | None = None,
                    position: int = 0, description: str = "", actor=None) -> Category:
    """Creates a category under ``parent`` with its materialized path and records ``category.created``.

    Raises AlreadyExists for a slug taken in the store, ValidationFailed for a foreign parent.
    """
    _check_parent(store=store, parent=parent)
    if slug:
        _check_slug_free(model=Category, store=store, slug=slug)
    else:
        slug = _unique_slug(model=Category, store=store, source=name, max_length=140)
    try:
        with transaction.atomic():
            category = Category.objects.create(store=store, name=name, slug=slug, parent=parent, position=position,
                                               description=description, depth=parent.depth + 1 if parent else 0)
    except IntegrityError:
        raise AlreadyExists(f"The slug {slug!r} is already used in this store.", slug=slug) from None
    category.path = (parent.path if parent else "") + path_segment(category.pk)
    Category.objects.filter(pk=category.pk).update(path=category.path)
    audit(store=store, actor=actor, action="category.created", target=category,
          changes={"name": [None, name], "slug": [None, slug], "parent": [None, _plain(parent)]})
    return category


@transaction.atomic
def category_update(*, category: Category, actor=None, **values: Any) -> Category:
    """Changes name, slug, description, position or parent and records ``category.updated`` (when something
    changed); a move rewrites the subtree's paths in one UPDATE.

    Raises AlreadyExists (slug taken) and ValidationFailed (moving under itself or a descendant).
    """
    moving = "parent" in values and (values["parent"].pk if values["parent"] else None) != category.parent_id
    if moving:
        # Moves rewrite paths of whole subtrees: one at a time per store, with paths read after the lock.
        list(Category.objects.select_for_update().filter(store_id=category.store_id).values_list("pk", flat=True))
        if values["parent"] is not None:
            values["parent"] = Category.objects.get(pk=values["parent"].pk)
    category = Category.objects.select_for_update().get(pk=category.pk)
    if values.get("slug") and values["slug"] != category.slug:
        _check_slug_free(model=Category, store=category.store, slug=values["slug"], exclude_pk=category.pk)
    elif "slug" in values and not values["slug"]:
        values.pop("slug")
    if moving:
        parent = values["parent"]
        _check_parent(store=category.store, parent=parent)
        if parent is not None and parent.path.startswith(category.path):
            raise ValidationFailed("A category cannot move under itself.",
                                   parent=["A category cannot be moved under itself or its descendants."])
    if moving:
        old_path, old_depth = category.path, category.depth
        new_path = (parent.path if parent else "") + path_segment(category.pk)
        new_depth = parent.depth + 1 if parent else 0
        deepest = category_descendants(category=category).aggregate(deepest=Max("depth"))["deepest"]
        if new_depth + (deepest - old_depth) >= MAX_CATEGORY_DEPTH:
            raise ValidationFailed("The category tree is too deep.", parent=["The category tree is too deep."])
    changes = _changes(category, values)
    for field, value in values.items():
        setattr(category, field, value)
    category.save()
    if moving:
        # the whole subtree in one statement: swap the path prefix, shift the depth
        category_descendants(category=category).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            depth=F("depth") + (new_depth - old_depth),
        )
        category.path, category.depth = new_path, new_depth
    if changes:
        audit(store=category.store, actor=actor, action="category.updated", target=category, changes=changes)
    return category


@transaction.atomic
def category_delete(*, category: Category, actor=None) -> None:
    """Deletes a leaf category (its products keep existing without a category) and records ``category.deleted``.

    Raises CategoryInUse (409) while it has sub-categories.
    """
    audit(store=category.store, actor=actor, action="category.deleted", target=category,
          changes={"name": [category.name, None], "slug": [category.slug, None]})
    try:
        with transaction.atomic():
            category.delete()
    except ProtectedError:
        raise CategoryInUse() from None


def category_descendants(*, category: Category):
    """This category and everything under it: one indexed query on the materialized path."""
    return Category.objects.filter(store_id=category.store_id, path__startswith=category.path)


# --- products ------------------------------------------------------------------
def _check_category(*, store: Store, category: Category | None) -> None:
    if category is not None and category.store_id != store.pk:
        raise ValidationFailed("The category belongs to another store.", category=["Unknown category."])


@transaction.atomic
def product_create(*, store: Store, actor=None, name: str, slug: str = "", description: str = "", brand: str = "",
                   category: Category | None = None, featured: bool = False, attributes: dict | None = None,
                   status: str = ProductStatus.DRAFT, variants: Iterable[dict] = ()) -> Product:
    """Creates a product (a draft unless told otherwise) with its variants.

    Raises AlreadyExists for a taken slug or sku, ValidationFailed for a foreign category.
    """
    _check_category(store=store, category=category)
    if slug:
        _check_slug_free(model=Product, store=store, slug=slug)
    else:
        slug = _unique_slug(model=Product, store=store, source=name, max_length=220)
    try:
        with transaction.atomic():
            product = Product.objects.create(
                store=store, name=name, slug=slug, description=description, brand=brand.strip(), category=category,
                featured=featured, attributes=attributes or {}, status=status,
                published_at=timezone.now() if status == ProductStatus.PUBLISHED else None,
            )
    except IntegrityError:
        raise AlreadyExists(f"The slug {slug!r} is already used in this store.", slug=slug) from None
    for position, variant in enumerate(variants):
        variant.setdefault("position", position)
        _variant_insert(product=product, values=variant)
    product_summary_refresh(product_ids=[product.pk])
    product.refresh_from_db()
    audit(store=store, actor=actor, action="product.created", target=product,
          changes={"name": [None, product.name], "status": [None, product.status]})
    if product.status == ProductStatus.PUBLISHED:
        emit_event("product.published", store=store, payload=product_payload(product), actor=actor)
    return product


@transaction.atomic
def product_update(*, product: Product, actor=None, **values: Any) -> Product:
    """Changes a product's own fields (not its status: see product_transition).

    Raises AlreadyExists (slug taken) and ValidationFailed (foreign category).
    """
    unknown = set(values) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValueError(f"product_update does not change {sorted(unknown)}")
    if "category" in values:
        _check_category(store=product.store, category=values["category"])
    if "slug" in values and not values["slug"]:
        values.pop("slug")
    if values.get("slug") and values["slug"] != product.slug:
        _check_slug_free(model=Product, store=product.store, slug=values["slug"], exclude_pk=product.pk)
    if "brand" in values:
        values["brand"] = values["brand"].strip()
    changes = _changes(product, values)
    if not changes:
        return product
    for field, value in values.items():
        setattr(product, field, value)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise AlreadyExists("The slug is already used in this store.", slug=product.slug) from None
    audit(store=product.store, actor=actor, action="product.updated", target=product, changes=changes)
    if product.status == ProductStatus.PUBLISHED:
        emit_event("product.updated", store=product.store, payload=product_payload(product), actor=actor)
    return product


@transaction.atomic
def product_transition(*, product: Product, action: str, actor=None) -> Product:
    """publish (draft → published), unpublish (published/archived → draft), archive (published → archived).

    One conditional UPDATE, so two concurrent calls cannot both win. Raises InvalidTransition (409) otherwise.
    """
    sources, target = TRANSITIONS[action]
    now = timezone.now()
    extra = {"published_at": now} if target == ProductStatus.PUBLISHED else {}
    updated = Product.objects.filter(pk=product.pk, status__in=sources).update(status=target, updated_at=now, **extra)
    if not updated:
        product.refresh_from_db(fields=["status"])
        raise InvalidTransition(f"Cannot {action} a {product.status} product.", status=product.status, action=action)
    old_status = product.status
    product.refresh_from_db()
    audit(store=product.store, actor=actor, action=f"product.{target if action != 'unpublish' else 'unpublished'}",
          target=product, changes={"status": [old_status, target]})
    event = EVENT_FOR_STATUS.get(target, "product.updated")
    emit_event(event, store=product.store, payload=product_payload(product), actor=actor)
    return product


def product_publish(*, product: Product, actor=None) -> Product:
    """draft → published; raises InvalidTransition otherwise."""
    return product_transition(product=product, action="publish", actor=actor)


def product_unpublish(*, product: Product, actor=None) -> Product:
    """published or archived → draft; raises InvalidTransition otherwise."""
    return product_transition(product=product, action="unpublish", actor=actor)


def product_archive(*, product: Product, actor=None) -> Product:
    """published → archived; raises InvalidTransition otherwise."""
    return product_transition(product=product, action="archive", actor=actor)


@transaction.atomic
def product_delete(*, product: Product, actor=None) -> None:
    """Deletes a product with its variants, images and reviews (their files go after commit).

    Raises ProductInUse (409) when orders still point at it: archive it instead.
    """
    files = list(ProductImage.objects.filter(product=product).values_list("image", flat=True))
    audit(store=product.store, actor=actor, action="product.deleted", target=product,
          changes={"name": [product.name, None], "status": [product.status, None]})
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        raise ProductInUse() from None
    transaction.on_commit(lambda: _delete_files(files))


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # a stale file is harmless; a failed delete must not fail the request
            pass


def product_summary_refresh(*, product_ids: Iterable[int]) -> None:
    """Recomputes the denormalized ``price`` (lowest variant price) and ``in_stock`` in one UPDATE.

    Call it after any change to variants' prices or stock (orders' stock services too).
    """
    ids = list(product_ids)
    if not ids:
        return
    variants = Variant.objects.filter(product=OuterRef("pk"))
    purchasable = variants.filter(Q(track_inventory=False) | Q(allow_backorder=True)
                                  | Q(stock_quantity__gt=F("reserved")))
    Product.objects.filter(pk__in=ids).update(
        price=Subquery(variants.order_by().values("product").annotate(low=Min("price")).values("low")[:1]),
        in_stock=Exists(purchasable),
    )
    # stock and price changes from orders come through here too
    for store_id in Product.objects.filter(pk__in=ids).values_list("store_id", flat=True).distinct():
        catalog_cache_invalidate(store_id)


# --- variants ------------------------------------------------------------------
def _variant_insert(*, product: Product, values: dict[str, Any]) -> Variant:
    unknown = set(values) - set(VARIANT_FIELDS)
    if unknown:
        raise ValueError(f"variants do not have {sorted(unknown)}")
    sku = values["sku"].strip()
    if Variant.objects.filter(store_id=product.store_id, sku=sku).exists():
        raise AlreadyExists(f"The sku {sku!r} is already used in this store.", sku=sku)
    values = {**values, "sku": sku}
    values.setdefault("options", {})
    try:
        with transaction.atomic():
            return Variant.objects.create(store_id=product.store_id, product=product, **values)
    except IntegrityError:
        raise AlreadyExists(f"The sku {sku!r} is already used in this store.", sku=sku) from None


def _product_changed(*, product: Product, actor, changes: dict) -> None:
    Product.objects.filter(pk=product.pk).update(updated_at=timezone.now())
    product.refresh_from_db()
    audit(store=product.store, actor=actor, action="product.updated", target=product, changes=changes)
    if product.status == ProductStatus.PUBLISHED:
        emit_event("product.updated", store=product.store, payload=product_payload(product), actor=actor)


@transaction.atomic
def variant_create(*, product: Product, actor=None, **values: Any) -> Variant:
    """Adds a variant and refreshes the product's price and in_stock. Raises AlreadyExists for a taken sku."""
    variant = _variant_insert(product=product, values=values)
    product_summary_refresh(product_ids=[product.pk])
    _product_changed(product=product, actor=actor, changes={"variants": {"added": variant.sku}})
    return variant


def _variant_change(*, variant: Variant, values: dict[str, Any]) -> tuple[Variant, dict]:
    """Saves ``values`` on the variant under a row lock; returns it with {field: [old, new]}."""
    unknown = set(values) - set(VARIANT_FIELDS)
    if unknown:
        raise ValueError(f"variant_update does not change {sorted(unknown)}")
    variant = Variant.objects.select_for_update().select_related("product__store").get(pk=variant.pk)
    if "sku" in values:
        values["sku"] = values["sku"].strip()
        if Variant.objects.filter(store_id=variant.store_id, sku=values["sku"]).exclude(pk=variant.pk).exists():
            raise AlreadyExists(f"The sku {values['sku']!r} is already used in this store.", sku=values["sku"])
    if "stock_quantity" in values and values["stock_quantity"] < variant.reserved:
        raise ValidationFailed("Stock cannot go below what open orders hold.",
                               stock_quantity=[f"At least {variant.reserved} units are reserved by open orders."])
    changes = _changes(variant, values)
    if not changes:
        return variant, {}
    for field, value in values.items():
        setattr(variant, field, value)
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError:
        raise AlreadyExists("The sku is already used in this store.", sku=variant.sku) from None
    return variant, changes


@transaction.atomic
def variant_update(*, variant: Variant, actor=None, **values: Any) -> Variant:
    """Changes a variant (never ``reserved``, which belongs to orders).

    Raises AlreadyExists for a taken sku and ValidationFailed when on-hand stock would drop below what is reserved.
    """
    variant, changes = _variant_change(variant=variant, values=values)
    if changes:
        product_summary_refresh(product_ids=[variant.product_id])
        _product_changed(product=variant.product, actor=actor, changes={"variant": {variant.sku: changes}})
        _low_stock_notice(variant=variant, changes=changes, actor=actor)
    return variant


def _low_stock_notice(*, variant: Variant, changes: dict, actor) -> None:
    """inventory.low_stock when a tracked variant's available stock falls to the store's threshold or below."""
    if "stock_quantity" not in changes or not variant.track_inventory:
        return
    store = variant.product.store
    before, after = (quantity - variant.reserved for quantity in changes["stock_quantity"])
    if before > store.low_stock_threshold >= after:
        emit_event(events.INVENTORY_LOW_STOCK, store=store, actor=actor, payload={
            "variant_id": variant.pk, "product_id": variant.product_id, "sku": variant.sku,
            "name": f"{variant.product.name} {variant.name}".strip(), "available": after,
            "threshold": store.low_stock_threshold})


@transaction.atomic
def product_variants_apply(*, product: Product, new: list[dict], changed: list[tuple[Variant, dict]],
                           actor=None) -> tuple[int, int]:
    """Adds and changes many variants of one product: one summary refresh, one audit entry, one event.

    Returns (created, updated). Raises AlreadyExists and ValidationFailed as variant_create/variant_update do.
    """
    added, updated = [], {}
    position = product.variants.count()
    for values in new:
        values = {**values}
        values.setdefault("position", position)
        position += 1
        added.append(_variant_insert(product=product, values=values).sku)
    for variant, values in changed:
        variant, changes = _variant_change(variant=variant, values=dict(values))
        if changes:
            updated[variant.sku] = changes
            _low_stock_notice(variant=variant, changes=changes, actor=actor)
    if added or updated:
        product_summary_refresh(product_ids=[product.pk])
        summary = {key: value for key, value in (("added", added), ("changed", updated)) if value}
        _product_changed(product=product, actor=actor, changes={"variants": summary})
    return len(added), len(updated)


@transaction.atomic
def variant_delete(*, variant: Variant, actor=None) -> None:
    """Deletes a variant and refreshes its product's price and in_stock.

    Raises ProductInUse (409) when orders still point at it.
    """
    product = variant.product
    try:
        with transaction.atomic():
            variant.delete()
    except ProtectedError:
        raise ProductInUse("The variant is referenced by orders.") from None
    product_summary_refresh(product_ids=[product.pk])
    _product_changed(product=product, actor=actor, changes={"variants": {"removed": variant.sku}})


# --- images --------------------------------------------------------------------
@transaction.atomic
def product_image_add(*, product: Product, upload, alt: str = "", position: int | None = None,
                      actor=None) -> ProductImage:
    """Stores a verified, re-encoded copy of ``upload`` under a random name in the default storage.

    Raises ValidationFailed (``file``) for anything that is not an image and PayloadTooLarge over the limit.
    """
    clean = image_clean(upload=upload)
    if position is None:
        position = ProductImage.objects.filter(product=product).count()
    image = ProductImage(store_id=product.store_id, product=product, alt=alt, position=position,
                         width=clean.width, height=clean.height)
    image.image.save(f"upload{clean.suffix}", clean.content, save=False)
    stored_name = image.image.name
    try:
        image.save()
    except Exception:
        _delete_files([stored_name])
        raise
    _product_changed(product=product, actor=actor, changes={"images": {"added": stored_name}})
    return image


@transaction.atomic
def product_image_delete(*, image: ProductImage, actor=None) -> None:
    """Removes an image row now and its file after commit."""
    name = image.image.name
    product = image.product
    image.delete()
    transaction.on_commit(lambda: _delete_files([name]))
    _product_changed(product=product, actor=actor, changes={"images": {"removed": name}})


@transaction.atomic
def product_image_update(*, image: ProductImage, actor=None, **values: Any) -> ProductImage:
    """Changes an image's alt text or position."""
    unknown = set(values) - {"alt", "position"}
    if unknown:
        raise ValueError(f"product_image_update does not change {sorted(unknown)}")
    changes = _changes(image, values)
    if changes:
        for field, value in values.items():
            setattr(image, field, value)
        image.save(update_fields=list(values))
        _product_changed(product=image.product, actor=actor, changes={"images": {image.image.name: changes}})
    return image


# --- reviews -------------------------------------------------------------------
@transaction.atomic
def review_create(*, product: Product, user, rating: int, title: str = "", body: str = "") -> Review:
    """One review per user per product, on published products only.

    Raises NotPublished (409), AlreadyExists (409) for a second review, ValidationFailed for a rating outside 1–5.
    """
    if product.status != ProductStatus.PUBLISHED:
        raise NotPublished()
    if not 1 <= rating <= 5:
        raise ValidationFailed("Ratings go from 1 to 5.", rating=["Ratings go from 1 to 5."])
    if Review.objects.filter(product=product, user=user).exists():
        raise AlreadyExists("You have already reviewed this product.")
    try:
        with transaction.atomic():
            review = Review.objects.create(store_id=product.store_id, product=product, user=user, rating=rating,
                                           title=title, body=body)
    except IntegrityError:
        raise AlreadyExists("You have already reviewed this product.") from None
    catalog_cache_invalidate(product.store_id)
    return review


@transaction.atomic
def review_set_hidden(*, review: Review, hidden: bool, actor=None) -> Review:
    """Hides (or shows again) a review; hidden reviews are not shown to the public."""
    if review.is_hidden != hidden:
        review.is_hidden = hidden
        review.save(update_fields=["is_hidden", "updated_at"])
        audit(store=review.product.store, actor=actor, action="review.hidden" if hidden else "review.shown",
              target=review, changes={"is_hidden": [not hidden, hidden]})
    return review


@transaction.atomic
def review_delete(*, review: Review, actor=None) -> None:
    """Removes a review for good (moderation); hiding keeps it."""
    audit(store=review.product.store, actor=actor, action="review.deleted", target=review,
          changes={"rating": [review.rating, None], "user": [review.user_id, None]})
    review.delete()
