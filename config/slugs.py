"""The one slug generator: a slug made from a name, not yet taken in its scope ("shirt", "shirt-2", …)."""

from collections.abc import Collection

from django.db.models import QuerySet
from django.utils.text import slugify

# room kept at the end of the field for "-<n>"
SUFFIX_ROOM = 8


def slug_unique(*, source: str, taken_in: QuerySet, max_length: int, fallback: str,
                avoid: Collection[str] = (), ignore_case: bool = False) -> str:
    """A slug for ``source`` that no row of ``taken_in`` (a queryset with a ``slug`` field, scoped by the
    caller: one store's products, all stores) has and that is not in ``avoid``; one query.

    ``ignore_case``: a slug taken in any case counts as taken (store slugs: "Shop" takes "shop").
    """
    base = (slugify(source) or fallback)[: max_length - SUFFIX_ROOM].strip("-") or fallback
    lookup = "slug__istartswith" if ignore_case else "slug__startswith"
    taken = set(taken_in.filter(**{lookup: base}).values_list("slug", flat=True))
    if ignore_case:
        taken = {slug.lower() for slug in taken}
    taken |= set(avoid)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
