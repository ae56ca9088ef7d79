"""Store writes. Each service owns its transaction."""

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from config.api.errors import AlreadyExists
from teams.models import Membership
from teams.permissions import OWNER

from .models import Store

SLUG_MAX_LENGTH = Store._meta.get_field("slug").max_length
# Paths that a store slug would shadow or confuse.
RESERVED_SLUGS = frozenset({"admin", "api", "new", "me", "static", "media"})


def _slug_from_name(name: str) -> str:
    base = slugify(name)[: SLUG_MAX_LENGTH - 6].strip("-") or "store"
    if base in RESERVED_SLUGS:
        base = f"{base}-store"
    taken = set(Store.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


@transaction.atomic
def store_create(*, owner, name: str, currency: str, slug: str | None = None, **fields) -> Store:
    """Creates a store and makes ``owner`` its owner member, both or neither.

    Without ``slug`` one is made from the name (made unique); a given slug that is
    taken raises AlreadyExists (409).
    """
    if slug:
        if slug in RESERVED_SLUGS or Store.objects.filter(slug=slug).exists():
            raise AlreadyExists("This store slug is taken.", slug=["This store slug is taken."])
    try:
        with transaction.atomic():
            store = Store.objects.create(
                owner=owner, name=name, currency=currency, slug=slug or _slug_from_name(name), **fields
            )
    except IntegrityError:  # a concurrent create took the slug between the check and the insert
        raise AlreadyExists("This store slug is taken.", slug=["This store slug is taken."]) from None
    Membership.objects.create(store=store, user=owner, role=OWNER)
    return store


def store_public_pages_invalidate(*, store: Store) -> None:
    """Cached public catalog answers show the store's name, currency and existence: drop them."""
    from catalog.cache import catalog_cache_invalidate

    catalog_cache_invalidate(store.pk)


UPDATABLE_FIELDS = frozenset(
    {"name", "description", "currency", "contact_email", "tax_rate", "low_stock_threshold", "logo"}
)


@transaction.atomic
def store_update(*, store: Store, **changes) -> Store:
    """Changes a store's settings (never its slug or owner)."""
    fields = [name for name in changes if name in UPDATABLE_FIELDS]
    for name in fields:
        setattr(store, name, changes[name])
    if fields:
        store.save(update_fields=[*fields, "updated_at"])
        store_public_pages_invalidate(store=store)
    return store


@transaction.atomic
def store_deactivate(*, store: Store) -> None:
    """Hides a store from the public: its storefront answers 404 to everyone but members.

    Nothing is deleted; a platform superuser can switch it back on in the admin.
    """
    Store.objects.filter(pk=store.pk, is_active=True).update(is_active=False)
    store.is_active = False
    store_public_pages_invalidate(store=store)
