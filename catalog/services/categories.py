"""Categories: a tree per store kept as materialized paths."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max, ProtectedError, Value
from django.db.models.functions import Concat, Substr

from config.api.errors import AlreadyExists, ValidationFailed
from stores.models import Store

from ..errors import CategoryInUse
from ..events import audit
from ..models import MAX_CATEGORY_DEPTH, Category, path_segment
from ._shared import _changes
from .slugs import slug_free_check, slug_generate


def category_parent_check(*, store: Store, parent: Category | None, category: Category | None = None) -> None:
    """The rules of a parent, without writing: of the same store, not ``category`` itself or one of its
    descendants, and the tree no deeper than MAX_CATEGORY_DEPTH. Raises ValidationFailed (``parent``)."""
    if parent is None:
        return
    if parent.store_id != store.pk:
        raise ValidationFailed("The parent category belongs to another store.", parent=["Unknown category."])
    if parent.depth + 1 >= MAX_CATEGORY_DEPTH:
        raise ValidationFailed("The category tree is too deep.", parent=["The category tree is too deep."])
    if category is not None and category.pk is not None:
        if parent.path.startswith(category.path):
            raise ValidationFailed("A category cannot move under itself.",
                                   parent=["A category cannot be moved under itself or its descendants."])
        deepest = category_descendants(category=category).aggregate(deepest=Max("depth"))["deepest"]
        if parent.depth + 1 + (deepest - category.depth) >= MAX_CATEGORY_DEPTH:
            raise ValidationFailed("The category tree is too deep.", parent=["The category tree is too deep."])


@transaction.atomic
def category_create(*, store: Store, name: str, slug: str = "", parent: Category | None = None,
                    position: int = 0, description: str = "", actor=None) -> Category:
    """Creates a category under ``parent`` with its materialized path and records ``category.created``.

    Raises AlreadyExists for a slug taken in the store, ValidationFailed for a foreign parent.
    """
    category_parent_check(store=store, parent=parent)
    if slug:
        slug_free_check(model=Category, store=store, slug=slug)
    else:
        slug = slug_generate(model=Category, store=store, source=name)
    try:
        with transaction.atomic():
            category = Category.objects.create(store=store, name=name, slug=slug, parent=parent, position=position,
                                               description=description, depth=parent.depth + 1 if parent else 0)
    except IntegrityError:
        raise AlreadyExists(f"The slug {slug!r} is already used in this store.", slug=slug) from None
    category.path = (parent.path if parent else "") + path_segment(category.pk)
    Category.objects.filter(pk=category.pk).update(path=category.path)
    audit(store=store, actor=actor, action="category.created", target=category,
          changes={"name": [None, name], "slug": [None, slug], "parent": [None, parent]})
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
        slug_free_check(model=Category, store=category.store, slug=values["slug"], exclude_pk=category.pk)
    elif "slug" in values and not values["slug"]:
        values.pop("slug")
    if moving:
        parent = values["parent"]
        category_parent_check(store=category.store, parent=parent, category=category)
        old_path, old_depth = category.path, category.depth
        new_path = (parent.path if parent else "") + path_segment(category.pk)
        new_depth = parent.depth + 1 if parent else 0
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
