"""Hand-written shaping of the hot catalog reads (product list, detail, search).

DRF's ModelSerializer builds its fields by introspecting the model on every
instance and then runs a Field object per value; for a page of products with
nested variants and images that was most of a request's CPU time. These
functions produce exactly what ProductOutput / VariantOutput /
ProductImageOutput declare (same keys, same order, same formats: money as the
currency's decimal string, datetimes as DRF's ISO 8601 with "Z"), and the
serializers delegate to them. catalog/tests/test_query_counts.py checks them
against DRF's generic rendering.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from config.money import money_str


def iso(value: datetime | None) -> str | None:
    """DRF's DateTimeField output: ISO 8601 in the current time zone, UTC as "Z"."""
    if value is None:
        return None
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def money(value: Decimal | None, currency: str) -> str | None:
    return None if value is None else money_str(Decimal(value), currency)


def variant_dict(variant, currency: str) -> dict[str, Any]:
    return {
        "id": variant.id,
        "sku": variant.sku,
        "name": variant.name,
        "price": money(variant.price, currency),
        "compare_at_price": money(variant.compare_at_price, currency),
        "currency": currency,
        "options": variant.options,
        "stock_quantity": variant.stock_quantity,
        "reserved": variant.reserved,
        "available": variant.stock_quantity - variant.reserved,
        "in_stock": variant.purchasable,
        "track_inventory": variant.track_inventory,
        "allow_backorder": variant.allow_backorder,
        "position": variant.position,
        "created_at": iso(variant.created_at),
        "updated_at": iso(variant.updated_at),
    }


def image_dict(image, request) -> dict[str, Any]:
    url = image.image.url
    if url and url.startswith("/") and request is not None:
        url = request.build_absolute_uri(url)
    return {
        "id": image.id,
        "url": url,
        "alt": image.alt,
        "position": image.position,
        "width": image.width,
        "height": image.height,
        "created_at": iso(image.created_at),
    }


def category_dict(category) -> dict[str, Any] | None:
    if category is None:
        return None
    return {"id": category.id, "name": category.name, "slug": category.slug, "parent": category.parent_id}


def product_dict(product, *, currency: str, request=None) -> dict[str, Any]:
    """ProductOutput's shape from a product whose category, variants and images are loaded."""
    return {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "brand": product.brand,
        "category": category_dict(product.category),
        "status": product.status,
        "featured": product.featured,
        "attributes": product.attributes,
        "price": money(product.price, currency),
        "currency": currency,
        "in_stock": product.in_stock,
        "variants": [variant_dict(variant, currency) for variant in product.variants.all()],
        "images": [image_dict(image, request) for image in product.images.all()],
        "published_at": iso(product.published_at),
        "created_at": iso(product.created_at),
        "updated_at": iso(product.updated_at),
    }
