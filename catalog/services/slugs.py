"""Slugs of categories and products: unique per store."""

from django.utils.text import slugify

from config.api.errors import AlreadyExists
from stores.models import Store


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
