from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from catalog.importer import ImportFailed, products_import
from catalog.models import Product, Variant

pytestmark = pytest.mark.django_db

HEADER = ("sku,product_slug,product_name,name,price,compare_at_price,stock_quantity,brand,category,status,"
          "description,options")
GOOD = HEADER + """
TEE-S,basic-tee,Basic Tee,Small,12.50,15.00,10,Acme,shirts,published,Soft cotton,size=S;color=white
TEE-M,basic-tee,Basic Tee,Medium,12.50,,4,Acme,shirts,published,,size=M;color=white
MUG-1,,Coffee Mug,Default,8,,0,Potter,,draft,,
"""


def test_good_file_imports(store, category_factory):
    category_factory(store=store, name="Shirts")
    result = products_import(store=store, source=GOOD.encode())
    assert (result.products_created, result.variants_created) == (2, 3)
    tee = Product.objects.get(store=store, slug="basic-tee")
    assert tee.status == "published" and tee.brand == "Acme" and tee.category.slug == "shirts"
    assert tee.price == Decimal("12.50") and tee.in_stock
    assert tee.description == "Soft cotton"
    small = Variant.objects.get(store=store, sku="TEE-S")
    assert small.options == {"size": "S", "color": "white"} and small.compare_at_price == Decimal("15.00")
    mug = Product.objects.get(store=store, name="Coffee Mug")
    assert mug.slug == "coffee-mug" and mug.status == "draft" and not mug.in_stock


def test_reimport_updates_by_sku(store, category_factory):
    category_factory(store=store, name="Shirts")
    products_import(store=store, source=GOOD.encode())
    update = "sku,price,stock_quantity\nTEE-S,11.00,99\n"
    result = products_import(store=store, source=update.encode())
    assert (result.variants_created, result.variants_updated) == (0, 1)
    small = Variant.objects.get(store=store, sku="TEE-S")
    assert small.price == Decimal("11.00") and small.stock_quantity == 99
    assert Product.objects.get(slug="basic-tee").price == Decimal("11.00")
    assert Product.objects.filter(store=store).count() == 2


def test_one_bad_row_imports_nothing_and_reports_it(store, category_factory):
    category_factory(store=store, name="Shirts")
    bad = GOOD + "BAD-1,,Broken,,12.345,,-1,,nope,sold,,size\n"
    with pytest.raises(ImportFailed) as caught:
        products_import(store=store, source=bad.encode())
    reported = {(error.row, error.field) for error in caught.value.errors}
    assert {(5, "price"), (5, "stock_quantity"), (5, "category"), (5, "status"), (5, "options")} <= reported
    assert not Product.objects.exists()
    assert not Variant.objects.exists()


def test_duplicate_sku_and_missing_columns(store):
    with pytest.raises(ImportFailed) as caught:
        products_import(store=store, source=b"sku,product_name,price\nA,Thing,1\nA,Thing,2\n")
    assert [(e.row, e.field) for e in caught.value.errors] == [(3, "sku")]
    with pytest.raises(ImportFailed) as caught:
        products_import(store=store, source=b"product_name,price,colour\nThing,1,red\n")
    assert {e.field for e in caught.value.errors} == {"header"}


def test_management_command(store, tmp_path, category_factory, capsys):
    category_factory(store=store, name="Shirts")
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    call_command("import_products", store.slug, str(good))
    assert "2 products created" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,product_name,price\nX,Thing,abc\n")
    with pytest.raises(CommandError):
        call_command("import_products", store.slug, str(bad))
    assert "row 2, price" in capsys.readouterr().err
    assert not Variant.objects.filter(sku="X").exists()


def test_import_audits_once_per_product(store, category_factory):
    from auditlog.models import AuditLog

    category_factory(store=store, name="Shirts")
    products_import(store=store, source=GOOD.encode())
    assert sorted(AuditLog.objects.filter(store=store).exclude(action="category.created")
                  .values_list("action", flat=True)) == ["product.created", "product.created"]
    before = AuditLog.objects.order_by("-id").values_list("id", flat=True).first()
    result = products_import(store=store, source=b"sku,price,stock_quantity\nTEE-S,11.00,1\nTEE-M,11.00,2\n")
    assert (result.products_updated, result.variants_updated) == (1, 2)
    entry = AuditLog.objects.get(store=store, id__gt=before)
    assert entry.action == "product.updated"
    assert set(entry.changes["variants"]["changed"]) == {"TEE-S", "TEE-M"}


def test_explicit_slug_is_not_taken_by_a_generated_one(store):
    # given: a new product named "Red Hat" (its slug would be red-hat) before a row naming slug red-hat
    source = b"sku,product_slug,product_name,price\nB,,Red Hat,1\nC,red-hat,Other Hat,1\n"
    # when
    result = products_import(store=store, source=source)
    # then: both exist, the named slug went where the file said
    assert result.products_created == 2
    assert Product.objects.get(slug="red-hat").name == "Other Hat"
    assert Product.objects.get(name="Red Hat").slug == "red-hat-2"


@pytest.mark.parametrize("row, field", [
    ("D," + "a" * 230 + ",X,1,", "product_slug"),  # longer than the column
    ("E,,Y,1,99999999999", "stock_quantity"),  # past the integer column
    ("F,,Y\x00es,1,", "product_name"),  # PostgreSQL text cannot hold NUL
    ("G\x00,,Y,1,", "sku"),
    ("H,h\x00,Y,1,", "product_slug"),
    ("I,,Y,1e2,", "price"),  # amounts as the API takes them: no exponent, no sign
    ("J,,Y,-0.00,", "price"),
])
def test_values_the_columns_cannot_hold_are_row_errors(store, row, field):
    with pytest.raises(ImportFailed) as caught:
        products_import(store=store, source=f"sku,product_slug,product_name,price,stock_quantity\n{row}\n".encode())
    assert (2, field) in {(error.row, error.field) for error in caught.value.errors}
    assert not Product.objects.exists()


def test_a_conflict_while_writing_is_a_command_error_and_imports_nothing(store, tmp_path, monkeypatch):
    from catalog import services
    from config.api.errors import AlreadyExists

    source = tmp_path / "file.csv"
    source.write_text("sku,product_name,price\nA,First,1\nB,Second,1\n")
    real_create = services.product_create

    def create_then_conflict(**kwargs):
        if kwargs["name"] == "Second":
            raise AlreadyExists("The slug is already used in this store.")
        return real_create(**kwargs)

    monkeypatch.setattr(services, "product_create", create_then_conflict)
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_products", store.slug, str(source))
    assert not Product.objects.exists()


def test_an_option_the_api_refuses_is_a_row_error(store):
    # a value of 101 characters: the API's and the admin's limit (catalog.services.variant_options_check)
    source = f"sku,product_name,price,options\nLONG-1,Thing,1.00,size={'M' * 101}\n"
    with pytest.raises(ImportFailed) as caught:
        products_import(store=store, source=source.encode())
    assert [(error.row, error.field, error.message) for error in caught.value.errors] == [
        (2, "options", "The value of 'size' is longer than 100 characters.")]
    assert not Variant.objects.exists()
