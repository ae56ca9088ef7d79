"""Maker's services below the API: the price, the meshes, custom lines in carts, the admin's print job moves."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from maker import services
from maker.meshes import NotAModel, mesh_analyse, model_format
from maker.models import Material, Quote, ServiceOrder, Upload
from orders import services as orders_services
from orders.models import CartLine, Order

from .models3d import box_triangles, obj_text, stl_ascii, stl_binary, threemf

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


def test_the_price_rounds_each_piece_half_up_in_the_currencys_places():
    material = Material(name="Resin", price_per_cm3=Decimal("0.1235"), setup_fee=Decimal("2.5"),
                        machine_hourly_rate=Decimal("1.5"), fine_minutes_per_cm3=Decimal("3"))
    # LYD has 3 places: 3.3333 cm³ × 0.1235 = 0.41166… → 0.412; 3.3333 × 3/60 = 0.1667 h × 1.5 = 0.25005 → 0.250
    price = services.quote_price(material=material, quality="fine", volume_cm3=Decimal("3.3333"), quantity=7,
                                 currency="LYD")
    assert (price.material_cost, price.machine_hours, price.machine_cost, price.unit_price) == (
        Decimal("0.412"), Decimal("0.1667"), Decimal("0.250"), Decimal("0.662"))
    assert (price.setup_fee, price.total) == (Decimal("2.500"), Decimal("7.134"))
    # the same in a currency of no places
    price = services.quote_price(material=material, quality="fine", volume_cm3=Decimal("3.3333"), quantity=7,
                                 currency="JPY")
    assert (price.unit_price, price.total) == (Decimal("0"), Decimal("3"))


@pytest.mark.parametrize("maker, kind", [(stl_binary, "stl"), (stl_ascii, "stl"), (obj_text, "obj"),
                                         (threemf, "3mf")])
def test_each_format_is_measured_the_same(maker, kind):
    data = maker(box_triangles(10))
    assert model_format(data) == kind
    analysis = mesh_analyse(data)
    assert (analysis.volume_cm3, analysis.triangle_count, analysis.watertight) == (Decimal("1.0000"), 12, True)
    assert analysis.size_mm == (Decimal("10.0"), Decimal("10.0"), Decimal("10.0"))


def test_a_3mf_that_unpacks_too_far_is_refused(settings):
    settings.MAKER_UNPACKED_MAX_BYTES = 100
    with pytest.raises(NotAModel, match="unpacks"):
        model_format(threemf(box_triangles(10)))


@pytest.fixture
def quote(store):
    upload = Upload.objects.create(store=store, filename="part.stl", declared_size=684, storage_name="x",
                                   status="ready", format="stl", volume_cm3=Decimal("1"), triangle_count=12)
    material = Material.objects.create(store=store, name="PLA", price_per_cm3=Decimal("1.00"))
    return services.quote_create(store=store, upload=upload, material_id=material.pk, quality="draft", quantity=1)


@pytest.mark.django_db
def test_merging_carts_moves_a_quoted_line_once(store, user, quote):
    anonymous = orders_services.cart_create(store=store)
    services.quote_cart_add(cart=anonymous, quote=quote)
    mine = orders_services.cart_create(store=store, user=user)
    services.quote_cart_add(cart=mine, quote=quote)
    merged = orders_services.cart_merge(source=anonymous, user=user)
    assert list(CartLine.objects.filter(cart=merged).values_list("reference", flat=True)) == [quote.reference]


@pytest.mark.django_db
def test_a_cart_of_a_quote_and_a_product_places_one_order(store, quote, make_variant,
                                                          django_capture_on_commit_callbacks):
    store.tax_rate = Decimal("10")
    store.save()
    variant = make_variant(price="2.00", stock=3)
    cart = orders_services.cart_create(store=store, items=[(variant.pk, 2)])
    services.quote_cart_add(cart=cart, quote=quote)
    with django_capture_on_commit_callbacks(execute=True):
        order = orders_services.order_place(store=store, cart=cart, email="a@example.com", shipping_address=ADDRESS,
                                            payment_method="cod", initial_status="processing")
    # 2 × 2.00 + the quote (1 cm³ × 1.00; no machine rate, no setup fee), taxed at 10 %
    assert quote.total == Decimal("1.00")
    assert (order.subtotal, order.tax, order.total) == (Decimal("5.00"), Decimal("0.50"), Decimal("5.50"))
    lines = {line.reference: line for line in order.lines.all()}
    assert lines[quote.reference].line_total == Decimal("1.00") and lines[quote.reference].variant_id is None
    assert lines[""].variant_id == variant.pk
    variant.refresh_from_db()
    assert variant.reserved == 2
    # a quote is not reordered: only the product comes back
    again = orders_services.order_reorder(order=Order.objects.get())
    assert list(CartLine.objects.filter(cart=again).values_list("variant_id", "reference")) == [(variant.pk, "")]


@pytest.mark.django_db
def test_the_admin_moves_print_jobs_through_the_service(store, quote, admin_login, member_factory,
                                                        django_capture_on_commit_callbacks):
    cart = orders_services.cart_create(store=store)
    services.quote_cart_add(cart=cart, quote=quote)
    with django_capture_on_commit_callbacks(execute=True):
        orders_services.order_place(store=store, cart=cart, email="a@example.com", shipping_address=ADDRESS,
                                    payment_method="cod", initial_status="processing")
    job = ServiceOrder.objects.get()
    url = "/admin/maker/serviceorder/"
    staff = admin_login(member_factory(store, "staff"))
    assert staff.get(url).status_code == 200
    response = staff.post(url, {"action": "mark_printing", "_selected_action": [job.pk]})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "printing"
    assert AuditLog.objects.filter(action="maker.service_order.status_changed").count() == 1
    # a viewer of the admin cannot (the dashboard is for owners, admins and staff)
    viewer = admin_login(member_factory(store, "viewer"))
    viewer.post(url, {"action": "mark_shipped", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert job.status == "printing"
    assert Quote.objects.get().ordered_at is not None


def _upload(store, *, days_old: int, user=None) -> Upload:
    from maker import storage

    upload = Upload.objects.create(store=store, user=user, filename="old.stl", declared_size=684,
                                   storage_name=f"{store.pk}/old-{days_old}-{Upload.objects.count()}", status="ready",
                                   format="stl", volume_cm3=Decimal("1"), triangle_count=12)
    storage.file_write(name=upload.storage_name, data=stl_binary(box_triangles(10)))
    Upload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    return upload


@pytest.mark.django_db
def test_retention_deletes_old_uploads_never_ordered_with_their_quotes_and_files(
        store, settings, django_capture_on_commit_callbacks):
    from maker import storage

    settings.MAKER_UPLOAD_RETENTION_DAYS = 30
    old, recent, ordered = _upload(store, days_old=31), _upload(store, days_old=29), _upload(store, days_old=40)
    material = Material.objects.create(store=store, name="PLA", price_per_cm3=Decimal("1.00"))
    services.quote_create(store=store, upload=old, material_id=material.pk, quality="draft", quantity=1)
    bought = services.quote_create(store=store, upload=ordered, material_id=material.pk, quality="draft", quantity=1)
    cart = orders_services.cart_create(store=store)
    services.quote_cart_add(cart=cart, quote=bought)
    with django_capture_on_commit_callbacks(execute=True):
        orders_services.order_place(store=store, cart=cart, email="a@example.com", shipping_address=ADDRESS,
                                    payment_method="cod", initial_status="processing")
    assert services.uploads_prune(dry_run=True) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.uploads_prune() == 1
    assert set(Upload.objects.values_list("pk", flat=True)) == {recent.pk, ordered.pk}
    assert list(Quote.objects.values_list("pk", flat=True)) == [bought.pk]
    assert storage.file_size(old.storage_name) is None and storage.file_size(ordered.storage_name) is not None
    assert services.uploads_prune() == 0


@pytest.mark.django_db
def test_a_deleted_account_takes_its_uploads_never_ordered(store, user, password, django_capture_on_commit_callbacks):
    from privacy.services import account_delete

    mine, kept = _upload(store, days_old=1, user=user), _upload(store, days_old=1, user=user)
    material = Material.objects.create(store=store, name="PLA", price_per_cm3=Decimal("1.00"))
    bought = services.quote_create(store=store, upload=kept, material_id=material.pk, quality="draft", quantity=1,
                                   user=user)
    cart = orders_services.cart_create(store=store, user=user)
    services.quote_cart_add(cart=cart, quote=bought)
    with django_capture_on_commit_callbacks(execute=True):
        orders_services.order_place(store=store, cart=cart, email=user.email, shipping_address=ADDRESS, user=user,
                                    payment_method="cod", initial_status="processing")
    with django_capture_on_commit_callbacks(execute=True):
        erasure = account_delete(user=user, password=password)
    assert erasure.counts["maker_uploads"] == 1
    assert not Upload.objects.filter(pk=mine.pk).exists()
    kept.refresh_from_db()
    bought.refresh_from_db()
    assert kept.user_id is None and bought.user_id is None
