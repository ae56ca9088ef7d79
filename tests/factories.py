"""Test data shared by every app's tests: rows made through the services, so paths and summaries are right."""

import io
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.models import Category, Product, ProductStatus, Variant


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.category_create(**kwargs)


class ProductFactory(factory.django.DjangoModelFactory):
    """``variants=n`` (default 1) adds variants priced 10.00, 11.00, …; ``status`` any of the three."""

    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    brand = "Acme"
    status = ProductStatus.PUBLISHED

    @classmethod
    def _create(cls, model_class, *args, variants: int = 1, price: Decimal = Decimal("10.00"),
                stock_quantity: int = 5, **kwargs):
        product = services.product_create(**kwargs)
        for index in range(variants):
            VariantFactory(product=product, price=price + index, stock_quantity=stock_quantity)
        product.refresh_from_db()
        return product


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Variant {n}")
    price = Decimal("10.00")
    stock_quantity = 5

    @classmethod
    def _create(cls, model_class, *args, product, **kwargs):
        return services.variant_create(product=product, **kwargs)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 6), exif: bool = False) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    options = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SpyCam Inc."  # Make
        data[0x8825] = {1: "N"}  # GPS info
        options["exif"] = data
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def image_upload(name: str = "photo.png", fmt: str = "PNG", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(fmt, **kwargs), content_type=f"image/{fmt.lower()}")
