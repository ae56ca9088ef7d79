"""Slugs of categories and products: unique per store. Services, forms and the importer use these two."""

from collections.abc import Collection

from config.api.errors import AlreadyExists
from config.slugs import slug_unique
from stores.models import Store


def slug_generate(*, model, store: Store, source: str, avoid: Collection[str] = ()) -> str:
    """A slug for ``source`` not yet taken by a ``model`` row (Category, Product) of ``store``, nor in ``avoid``."""
    max_length = model._meta.get_field("slug").max_length
    return slug_unique(source=source, taken_in=model.objects.filter(store=store), max_length=max_length,
                       fallback=model.__name__.lower(), avoid=avoid)


def slug_free_check(*, model, store: Store, slug: str, exclude_pk: int | None = None) -> None:
    """Raises AlreadyExists (409) when another ``model`` row of ``store`` has ``slug``."""
    if model.objects.filter(store=store, slug=slug).exclude(pk=exclude_pk).exists():
        raise AlreadyExists(f"The slug {slug!r} is already used in this store.", slug=slug)
