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


def iso(value: datetime | None, zone=None) -> str | None:
    """DRF's DateTimeField output: ISO 8601 in the current time zone, UTC as "Z"."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(zone or timezone.get_current_timezone())
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def money(value: Decimal | None, currency: str) -> str | None:
    return None if value is None else money_str(Decimal(value), currency)


def variant_dict(variant, currency: str, zone=None) -> dict[str, Any]:
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
        "created_at": iso(variant.created_at, zone),
        "updated_at": iso(variant.updated_at, zone),
    }


def image_dict(image, request, zone=None) -> dict[str, Any]:
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
        "created_at": iso(image.created_at, zone),
    }


def category_dict(category) -> dict[str, Any] | None:
    if category is None:
        return None
    return {"id": category.id, "name": category.name, "slug": category.slug, "parent": category.parent_id}


def product_dict(product, *, currency: str, request=None, variants=None, images=None) -> dict[str, Any]:
    """ProductOutput's shape; ``variants`` and ``images`` default to the product's own (loaded or lazy)."""
    zone = timezone.get_current_timezone()
    variants = product.variants.all() if variants is None else variants
    images = product.images.all() if images is None else images
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
        "variants": [variant_dict(variant, currency, zone) for variant in variants],
        "images": [image_dict(image, request, zone) for image in images],
        "published_at": iso(product.published_at, zone),
        "created_at": iso(product.created_at, zone),
        "updated_at": iso(product.updated_at, zone),
    }


def products_dicts(products, *, currency: str, request=None) -> list[dict[str, Any]]:
    """A page of products: their variants and images in one query each (not Django's prefetch
    machinery, which cost more than the two queries themselves), unless already prefetched."""
    from .models import ProductImage, Variant

    products = list(products)
    if not products:
        return []
    if all("variants" in getattr(p, "_prefetched_objects_cache", {}) for p in products):
        return [product_dict(p, currency=currency, request=request) for p in products]
    ids = [product.id for product in products]
    variants: dict[int, list] = {}
    for variant in Variant.objects.filter(product_id__in=ids).order_by("position", "id"):
        variants.setdefault(variant.product_id, []).append(variant)
    images: dict[int, list] = {}
    for image in ProductImage.objects.filter(product_id__in=ids).order_by("position", "id"):
        images.setdefault(image.product_id, []).append(image)
    return [product_dict(p, currency=currency, request=request, variants=variants.get(p.id, ()),
                         images=images.get(p.id, ())) for p in products]
