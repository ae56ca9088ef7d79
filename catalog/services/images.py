"""A product's images: stored re-encoded under random names; files removed after commit."""

from typing import Any

from django.db import transaction

from ..images import image_clean
from ..models import Product, ProductImage
from ._shared import _changes, _delete_files, _product_changed


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
