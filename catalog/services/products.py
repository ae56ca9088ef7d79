"""Products: create, change, delete, and the status transitions (publish, unpublish, archive)."""

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from config.api.errors import AlreadyExists, InvalidTransition, ValidationFailed
from plans.services import plan_limit_check
from stores.models import Store

from ..errors import ProductInUse
from ..events import audit, emit_event, product_payload
from ..models import Category, Product, ProductImage, ProductStatus
from ._shared import _changes, _delete_files, _key_value_check
from .slugs import slug_free_check, slug_generate
from .summary import product_summary_refresh
from .variants import _variant_insert

# action -> (statuses it may start from, status it leads to); API.md "Catalog".
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "publish": (frozenset({ProductStatus.DRAFT}), ProductStatus.PUBLISHED),
    "unpublish": (frozenset({ProductStatus.PUBLISHED, ProductStatus.ARCHIVED}), ProductStatus.DRAFT),
    "archive": (frozenset({ProductStatus.PUBLISHED}), ProductStatus.ARCHIVED),
}
EVENT_FOR_STATUS = {ProductStatus.PUBLISHED: "product.published", ProductStatus.ARCHIVED: "product.archived"}

PRODUCT_FIELDS = ("name", "slug", "description", "brand", "category", "featured", "attributes")


def product_category_check(*, store: Store, category: Category | None) -> None:
    """Raises ValidationFailed (``category``) for a category of another store."""
    if category is not None and category.store_id != store.pk:
        raise ValidationFailed("The category belongs to another store.", category=["Unknown category."])


def product_attributes_check(*, attributes) -> None:
    """A product's ``attributes``: an object whose keys are non-empty names of at most 100 characters
    ({"material": "cotton"}; the values any JSON). Raises ValidationFailed (``attributes``)."""
    _key_value_check(field="attributes", mapping=attributes, text_values=False, example='{"material": "cotton"}')


@transaction.atomic
def product_create(*, store: Store, actor=None, name: str, slug: str = "", description: str = "", brand: str = "",
                   category: Category | None = None, featured: bool = False, attributes: dict | None = None,
                   status: str = ProductStatus.DRAFT, variants: Iterable[dict] = ()) -> Product:
    """Creates a product (a draft unless told otherwise) with its variants.

    Raises AlreadyExists for a taken slug or sku, ValidationFailed for a foreign category, PlanLimitReached (403)
    when the store has as many products as its plan allows.
    """
    plan_limit_check(store=store, limit="products")
    product_category_check(store=store, category=category)
    product_attributes_check(attributes=attributes or {})
    if slug:
        slug_free_check(model=Product, store=store, slug=slug)
    else:
        slug = slug_generate(model=Product, store=store, source=name)
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
        _variant_insert(product=product, values=variant, actor=actor)
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
        product_category_check(store=product.store, category=values["category"])
    if "attributes" in values:
        product_attributes_check(attributes=values["attributes"])
    if "slug" in values and not values["slug"]:
        values.pop("slug")
    if values.get("slug") and values["slug"] != product.slug:
        slug_free_check(model=Product, store=product.store, slug=values["slug"], exclude_pk=product.pk)
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


# status -> status: the transitions that lead there (draft → archived goes through published).
STATUS_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    (ProductStatus.DRAFT, ProductStatus.PUBLISHED): ("publish",),
    (ProductStatus.DRAFT, ProductStatus.ARCHIVED): ("publish", "archive"),
    (ProductStatus.PUBLISHED, ProductStatus.DRAFT): ("unpublish",),
    (ProductStatus.PUBLISHED, ProductStatus.ARCHIVED): ("archive",),
    (ProductStatus.ARCHIVED, ProductStatus.DRAFT): ("unpublish",),
    (ProductStatus.ARCHIVED, ProductStatus.PUBLISHED): ("unpublish", "publish"),
}


@transaction.atomic
def product_status_set(*, product: Product, status: str, actor=None) -> Product:
    """Brings a product to ``status`` (a bulk edit: the importer) through product_transition, one step or two.

    Raises InvalidTransition (409) when the product's status changed meanwhile; nothing changes then.
    """
    for action in STATUS_PATHS.get((product.status, status), ()):
        product = product_transition(product=product, action=action, actor=actor)
    return product


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
