"""Demo catalogs: a realistic one for `make run` and a bulk one for benchmarks.

``seed_catalog`` goes through the services (paths, summaries, images, audit) and
is idempotent: run it again and it only adds what is missing. ``seed_bulk``
writes rows directly with bulk_create in batches, for speed.
"""

import io
import random
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from config.money import currency_places
from stores.models import Store

from . import services
from .cache import catalog_cache_invalidate
from .models import Category, Product, ProductStatus

CATEGORY_TREE: dict[str, list[str]] = {
    "Clothing": ["T-Shirts", "Hoodies", "Shoes"],
    "Home": ["Kitchen", "Decor"],
    "Electronics": ["Audio", "Accessories"],
    "Books": [],
}
NOUNS: dict[str, list[str]] = {
    "T-Shirts": ["Crew Tee", "V-Neck Tee", "Pocket Tee", "Graphic Tee"],
    "Hoodies": ["Zip Hoodie", "Pullover Hoodie", "Fleece Hoodie"],
    "Shoes": ["Runner", "Canvas Sneaker", "Trail Shoe", "Loafer"],
    "Kitchen": ["Coffee Mug", "Chef Knife", "Cutting Board", "Teapot", "Water Bottle"],
    "Decor": ["Throw Pillow", "Table Lamp", "Wall Clock", "Plant Pot"],
    "Audio": ["Wireless Earbuds", "Bluetooth Speaker", "Headphones"],
    "Accessories": ["Phone Case", "USB-C Cable", "Power Bank", "Laptop Sleeve"],
    "Books": ["Cookbook", "Travel Guide", "Novel", "Notebook"],
}
ADJECTIVES = ["Classic", "Everyday", "Premium", "Organic", "Vintage", "Urban", "Coastal", "Nordic", "Essential",
              "Studio", "Heritage", "Compact"]
BRANDS = ["Acme", "Northwind", "Fabrikam", "Contoso", "Tailspin", "Lumen", "Orbit"]
SIZES = ["S", "M", "L", "XL"]
COLORS = [("black", (30, 30, 30)), ("white", (235, 235, 235)), ("red", (200, 40, 50)), ("navy", (30, 50, 110)),
          ("green", (40, 130, 70)), ("sand", (210, 190, 150))]


def _image(color: tuple[int, int, int], seed: int) -> SimpleUploadedFile:
    """A small generated product shot: a tinted background and a shape."""
    rng = random.Random(seed)
    image = Image.new("RGB", (480, 480), tuple(min(255, c + 120) for c in color))
    draw = ImageDraw.Draw(image)
    box = [rng.randint(60, 140), rng.randint(60, 140), rng.randint(340, 420), rng.randint(340, 420)]
    (draw.ellipse if seed % 2 else draw.rounded_rectangle)(box, fill=color)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return SimpleUploadedFile("demo.jpg", buffer.getvalue(), content_type="image/jpeg")


def _categories(store: Store) -> dict[str, Category]:
    existing = {category.name: category for category in Category.objects.filter(store=store)}
    for position, (parent_name, children) in enumerate(CATEGORY_TREE.items()):
        if parent_name not in existing:
            existing[parent_name] = services.category_create(store=store, name=parent_name, position=position)
        for child_position, child_name in enumerate(children):
            if child_name not in existing:
                existing[child_name] = services.category_create(store=store, name=child_name,
                                                                parent=existing[parent_name], position=child_position)
    return existing


def seed_catalog(store: Store, *, products: int = 60, images: bool = True) -> int:
    """A realistic catalog: categories with sub-categories, ``products`` products with 1–3 variants
    and a generated image each; mostly published, a few drafts and archived. Returns how many
    products it created (0 when they all exist already)."""
    rng = random.Random(f"catalog:{store.slug}")
    categories = _categories(store)
    leaves = [name for name, children in CATEGORY_TREE.items() if not children] + [
        child for children in CATEGORY_TREE.values() for child in children]
    code = "".join(ch for ch in store.slug.upper() if ch.isalnum())[:6] or "DEMO"
    places = Decimal(1).scaleb(-currency_places(store.currency))
    existing = set(Product.objects.filter(store=store, slug__startswith="demo-").values_list("slug", flat=True))
    created = 0
    for index in range(products):
        leaf = leaves[index % len(leaves)]
        noun = NOUNS[leaf][(index // len(leaves)) % len(NOUNS[leaf])]
        adjective = ADJECTIVES[rng.randrange(len(ADJECTIVES))]
        name = f"{adjective} {noun}"
        slug = f"demo-{index + 1:03d}"
        base_price = Decimal(rng.randrange(500, 15000)) / 100
        variant_count = rng.choice([1, 1, 2, 3])
        colors = rng.sample(COLORS, k=variant_count)
        status = ProductStatus.PUBLISHED if index % 10 not in (3, 7) else (
            ProductStatus.DRAFT if index % 10 == 3 else ProductStatus.ARCHIVED)
        if slug in existing:
            continue
        with transaction.atomic():
            product = services.product_create(
                store=store, name=name, slug=slug, brand=BRANDS[index % len(BRANDS)], category=categories[leaf],
                description=f"The {name.lower()} from our {leaf.lower()} range: made to last, easy to love.",
                featured=index % 9 == 0, attributes={"material": rng.choice(["cotton", "steel", "bamboo", "wool"])},
                status=ProductStatus.DRAFT if status != ProductStatus.PUBLISHED else ProductStatus.PUBLISHED,
                variants=[
                    {
                        "sku": f"{code}-{index + 1:04d}-{number + 1}",
                        "name": f"{color_name.title()}" + (f" / {SIZES[number % len(SIZES)]}" if leaf in (
                            "T-Shirts", "Hoodies", "Shoes") else ""),
                        "price": (base_price + number * 2).quantize(places),
                        "compare_at_price": ((base_price + number * 2) * Decimal("1.25")).quantize(places)
                        if index % 4 == 0 else None,
                        "options": {"color": color_name, **({"size": SIZES[number % len(SIZES)]} if leaf in (
                            "T-Shirts", "Hoodies", "Shoes") else {})},
                        "stock_quantity": 0 if index % 11 == 5 else rng.randrange(1, 60),
                    }
                    for number, (color_name, _) in enumerate(colors)
                ],
            )
            if status == ProductStatus.ARCHIVED:
                services.product_transition(product=product, action="publish")
                services.product_transition(product=product, action="archive")
            if images:
                services.product_image_add(product=product, upload=_image(colors[0][1], index), alt=name)
        created += 1
    return created


PRODUCT_COLUMNS = ("id", "store_id", "name", "slug", "description", "brand", "category_id", "status", "featured",
                   "attributes", "price", "in_stock", "published_at", "created_at", "updated_at")
VARIANT_COLUMNS = ("store_id", "product_id", "sku", "name", "price", "options", "stock_quantity", "reserved",
                   "track_inventory", "allow_backorder", "position", "created_at", "updated_at")


def seed_bulk(store: Store, n: int, *, batch_size: int = 10_000) -> int:
    """Adds ``n`` published products (one variant each, no images) fast, for benchmarks.

    Names, brands, categories, prices and stock vary so filters, sorts and search have work to
    do; slugs and skus continue after earlier bulk runs. Rows go in with COPY on PostgreSQL and
    executemany on SQLite (the ORM's per-field work would be most of the time), with the
    denormalized price/in_stock filled in and, on PostgreSQL, the search vector by its trigger.
    Returns ``n``.
    """
    categories = [category.pk for category in _categories(store).values()]
    rng = random.Random(f"bulk:{store.slug}:{n}")
    start = Product.objects.filter(store=store, slug__startswith="bulk-").count()
    words = [noun for nouns in NOUNS.values() for noun in nouns]
    quantum = Decimal(1).scaleb(-currency_places(store.currency))
    postgres = connection.vendor == "postgresql"
    now = timezone.now()
    stamp = now if postgres else connection.ops.adapt_datetimefield_value(now)
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                cursor.execute("SELECT nextval(pg_get_serial_sequence('catalog_product', 'id')) "
                               "FROM generate_series(1, %s)", [size])
                ids = [row[0] for row in cursor.fetchall()]
            else:  # the write lock is held from BEGIN (IMMEDIATE), so these ids stay free
                cursor.execute("SELECT COALESCE(MAX(id), 0) FROM catalog_product")
                first = cursor.fetchone()[0] + 1
                ids = list(range(first, first + size))
            products, variants = [], []
            for offset, pk in enumerate(ids):
                number = start + done + offset + 1
                price = (Decimal(rng.randrange(100, 100000)) / 100).quantize(quantum)
                stock = rng.randrange(0, 40)
                adjective, noun = ADJECTIVES[rng.randrange(len(ADJECTIVES))], words[rng.randrange(len(words))]
                brand = BRANDS[number % len(BRANDS)]
                money = price if postgres else str(price)
                products.append((
                    pk, store.pk, f"{adjective} {noun} {number}", f"bulk-{number}",
                    f"{adjective} {noun.lower()} number {number}, {brand} quality.", brand,
                    categories[number % len(categories)], ProductStatus.PUBLISHED, number % 50 == 0, "{}", money,
                    stock > 0, stamp, stamp, stamp,
                ))
                variants.append((store.pk, pk, f"BULK-{store.pk}-{number:07d}", "Default", money, "{}", stock, 0,
                                 True, False, 0, stamp, stamp))
            if postgres:
                raw = cursor.cursor  # psycopg's own cursor, for COPY
                with raw.copy(f"COPY catalog_product ({', '.join(PRODUCT_COLUMNS)}) FROM STDIN") as copy:
                    for row in products:
                        copy.write_row(row)
                with raw.copy(f"COPY catalog_variant ({', '.join(VARIANT_COLUMNS)}) FROM STDIN") as copy:
                    for row in variants:
                        copy.write_row(row)
            else:
                cursor.executemany(
                    f"INSERT INTO catalog_product ({', '.join(PRODUCT_COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(PRODUCT_COLUMNS))})", products)
                cursor.executemany(
                    f"INSERT INTO catalog_variant ({', '.join(VARIANT_COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(VARIANT_COLUMNS))})", variants)
            # the ledger adds up for these rows too: their opening stock as movements
            services.stock_opening_record_bulk(product_ids=ids)
        done += size
    # raw rows bypass the services: cached public pages of the store must not outlive them
    catalog_cache_invalidate(store.pk)
    return n
