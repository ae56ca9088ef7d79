"""order_place: a cart becomes an order with snapshots, a counted coupon and reserved stock, or nothing happens."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from auditlog.models import AuditLog
from catalog.models import InventoryMovement, Product, ProductStatus
from config.api.errors import NotFound, ValidationFailed
from features.flags import flags_for
from notifications.models import WebhookDelivery, WebhookEndpoint
from orders import services
from orders.errors import OutOfStock
from orders.models import Cart, Coupon, CouponUse, Order, OrderEvent, OrderLine, ShippingMethod

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


@pytest.fixture
def place(store):
    def run(cart, **overrides):
        arguments = {"store": store, "cart": cart, "email": "buyer@example.com", "customer_name": "Buyer",
                     "shipping_address": ADDRESS, "payment_method": "cod", **overrides}
        return services.order_place(**arguments)

    return run


def nothing_left_behind(cart, variants):
    assert not Order.objects.exists() and not OrderLine.objects.exists() and not OrderEvent.objects.exists()
    assert not CouponUse.objects.exists()
    assert not InventoryMovement.objects.filter(reason="reserve").exists()
    assert not AuditLog.objects.filter(action="order.created").exists()
    assert Cart.objects.filter(pk=cart.pk).exists()
    for variant in variants:
        variant.refresh_from_db()
        assert variant.reserved == 0


def test_an_order_snapshots_the_cart_reserves_stock_and_empties_the_cart(store, user, make_variant, cart_with, place,
                                                                         settings,
                                                                         django_capture_on_commit_callbacks):
    # given a 10 % store, a cart of 2 × 12.50 and 1 × 5, a 4.00 courier
    store.tax_rate = Decimal("10")
    store.save()
    shirt = make_variant(price="12.50", stock=5, name="Large", product_name="Shirt")
    shirt.options = {"size": "L"}
    shirt.save()
    socks = make_variant(price="5.00", stock=3, product_name="Socks")
    courier = ShippingMethod.objects.create(store=store, name="Courier", price=Decimal("4"))
    cart = cart_with((shirt, 2), (socks, 1), user=user)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        order = place(cart, user=user, actor=user, shipping_method_id=courier.pk, initial_status="pending")
    # then the order
    order.refresh_from_db()
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", order.number)
    assert (order.status, order.payment_status, order.user, order.email) == ("pending", "unpaid", user,
                                                                               "buyer@example.com")
    assert (order.subtotal, order.discount, order.shipping, order.tax, order.total) == (
        Decimal("30"), Decimal("0"), Decimal("4"), Decimal("3"), Decimal("37"))
    assert (order.currency, order.tax_included, order.payment_method) == ("USD", False, "cod")
    assert (order.shipping_method, order.shipping_method_name) == (courier, "Courier")
    assert order.billing_address == ADDRESS == order.shipping_address
    expected_until = timezone.now() + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES)
    assert abs(order.reserved_until - expected_until) < timedelta(seconds=30)
    # its lines, snapshots of the catalog
    lines = list(order.lines.order_by("variant_id"))
    assert [(line.product_name, line.variant_name, line.sku, line.options, line.unit_price, line.quantity,
             line.line_total, line.tax) for line in lines] == [
        ("Shirt", "Large", shirt.sku, {"size": "L"}, Decimal("12.50"), 2, Decimal("25"), Decimal("2.50")),
        ("Socks", "", socks.sku, {}, Decimal("5"), 1, Decimal("5"), Decimal("0.50")),
    ]
    assert lines[0].product_id == shirt.product_id
    # its first event, the stock it holds, its audit row; the cart is gone
    assert list(order.events.values_list("kind", "to_status")) == [("created", "pending")]
    shirt.refresh_from_db()
    socks.refresh_from_db()
    assert (shirt.stock_quantity, shirt.reserved, socks.reserved) == (5, 2, 1)
    assert sorted(InventoryMovement.objects.filter(order=order, reason="reserve")
                  .values_list("variant_id", "quantity_delta", "reserved_delta")) == [
        (shirt.pk, 0, 2), (socks.pk, 0, 1)]
    assert AuditLog.objects.get(action="order.created").object_id == str(order.pk)
    assert not Cart.objects.filter(pk=cart.pk).exists()


def test_order_created_goes_out_on_commit_with_the_contract_payload(store, make_variant, cart_with, place,
                                                                      django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/x", events=["order.created"],
                                   secret="s" * 32)
    variant = make_variant(price="9.99", product_name="Mug")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order = place(cart_with((variant, 2)))
        assert WebhookDelivery.objects.count() == 1  # a row in the transaction, sent after COMMIT
    assert callbacks
    data = WebhookDelivery.objects.get().payload["data"]
    assert data == {
        "id": order.pk, "number": order.number, "status": "pending", "payment_status": "unpaid",
        "email": "buyer@example.com", "customer_name": "Buyer", "currency": "USD", "subtotal": "19.98",
        "discount": "0.00", "shipping": "0.00", "tax": "0.00", "total": "19.98",
        "lines": [{"sku": variant.sku, "name": "Mug", "quantity": 2, "unit_price": "9.99", "total": "19.98"}],
        "payment_method": "cod", "store": store.slug,
    }


def test_a_processing_order_holds_its_stock_without_a_deadline(store, make_variant, cart_with, place):
    order = place(cart_with((make_variant(), 1)), initial_status="processing")
    assert order.status == "processing" and order.reserved_until is None


def test_short_stock_is_409_and_leaves_no_trace(store, make_variant, cart_with, place):
    # given a cart that fit when filled, then someone else reserved the units
    plenty, scarce = make_variant(stock=10), make_variant(stock=3)
    cart = cart_with((plenty, 2), (scarce, 3))
    scarce.reserved = 2
    scarce.save()
    # when
    with pytest.raises(OutOfStock) as refused:
        place(cart)
    # then
    assert refused.value.code == "OUT_OF_STOCK" and refused.value.status_code == 409
    assert refused.value.details["variants"] == [{"variant": scarce.pk, "sku": scarce.sku, "requested": 3,
                                                  "available": 1}]
    scarce.reserved = 0
    scarce.save()
    nothing_left_behind(cart, [plenty, scarce])


def test_untracked_lines_take_no_stock_and_backorders_go_past_zero(store, make_variant, cart_with, place):
    untracked = make_variant(stock=0, track_inventory=False)
    backorder = make_variant(stock=1, allow_backorder=True)
    order = place(cart_with((untracked, 4), (backorder, 3)))
    untracked.refresh_from_db()
    backorder.refresh_from_db()
    assert (untracked.reserved, backorder.stock_quantity, backorder.reserved, backorder.available) == (0, 1, 3, -2)
    assert list(InventoryMovement.objects.filter(order=order).values_list("variant_id", flat=True)) == [backorder.pk]


def test_the_coupon_is_counted_and_its_use_recorded(store, user, make_variant, cart_with, place):
    coupon = Coupon.objects.create(store=store, code="TEN", kind="percent", value=Decimal("10"), usage_limit=5)
    cart = cart_with((make_variant(price="50"), 1), user=user)
    services.cart_coupon_apply(cart=cart, code="ten")

    order = place(cart, user=user, email="Buyer@Example.com")

    coupon.refresh_from_db()
    assert coupon.used_count == 1
    assert (order.discount, order.total, order.coupon, order.coupon_code) == (Decimal("5"), Decimal("45"), coupon,
                                                                              "TEN")
    assert CouponUse.objects.filter(coupon=coupon, order=order, user=user).exists()


def test_a_used_up_coupon_refuses_the_checkout_and_leaves_no_trace(store, make_variant, cart_with, place):
    coupon = Coupon.objects.create(store=store, code="ONE", kind="fixed", value=Decimal("5"), usage_limit=1)
    variant = make_variant(price="50")
    cart = cart_with((variant, 1))
    services.cart_coupon_apply(cart=cart, code="ONE")
    Coupon.objects.filter(pk=coupon.pk).update(used_count=1)

    with pytest.raises(ValidationFailed) as refused:
        place(cart)

    assert refused.value.details == {"coupon": ["This coupon has been used up."]}
    assert Coupon.objects.get(pk=coupon.pk).used_count == 1
    nothing_left_behind(cart, [variant])


def test_a_guest_reaches_the_per_customer_limit_by_email_in_any_case(store, make_variant, cart_with, place):
    Coupon.objects.create(store=store, code="ONCE", kind="fixed", value=Decimal("5"), usage_limit_per_customer=1)
    first = cart_with((make_variant(price="50"), 1))
    services.cart_coupon_apply(cart=first, code="ONCE")
    place(first, email="guest@example.com")
    second_variant = make_variant(price="50")
    second = cart_with((second_variant, 1))
    services.cart_coupon_apply(cart=second, code="ONCE")  # an anonymous cart does not know the email yet

    with pytest.raises(ValidationFailed) as refused:
        place(second, email="GUEST@example.com")

    assert refused.value.details == {"coupon": ["You have already used this coupon."]}
    assert Order.objects.count() == 1 and Coupon.objects.get().used_count == 1
    second_variant.refresh_from_db()
    assert second_variant.reserved == 0


@pytest.mark.parametrize("overrides, field", [
    ({"email": "not-an-email"}, "email"),
    ({"shipping_address": "1 Main St"}, "shipping_address"),
    ({"shipping_address": {"line1": "x" * 501}}, "shipping_address"),
    ({"shipping_address": {"line1": {"nested": "object"}}}, "shipping_address"),
    ({"shipping_address": {f"field{n}": "x" for n in range(21)}}, "shipping_address"),
    ({"billing_address": {"k" * 51: "x"}}, "billing_address"),
    ({"payment_method": ""}, "payment_method"),
    ({"shipping_method_id": 999_999}, "shipping_method"),
])
def test_bad_input_is_refused_and_leaves_no_trace(store, make_variant, cart_with, place, overrides, field):
    variant = make_variant()
    cart = cart_with((variant, 1))
    with pytest.raises(ValidationFailed) as refused:
        place(cart, **overrides)
    assert field in refused.value.details
    nothing_left_behind(cart, [variant])


def test_a_store_with_shipping_methods_needs_one_chosen(store, make_variant, cart_with, place):
    ShippingMethod.objects.create(store=store, name="Courier", price=Decimal("4"))
    inactive = ShippingMethod.objects.create(store=store, name="Old", price=Decimal("1"), is_active=False)
    cart = cart_with((make_variant(), 1))
    for method_id in (None, inactive.pk):
        with pytest.raises(ValidationFailed) as refused:
            place(cart, shipping_method_id=method_id)
        assert "shipping_method" in refused.value.details


def test_an_empty_cart_or_an_unpublished_line_is_refused(store, make_variant, cart_with, place):
    with pytest.raises(ValidationFailed) as refused:
        place(services.cart_create(store=store))
    assert refused.value.details == {"cart": ["The cart is empty."]}
    variant = make_variant(product_name="Lamp")
    cart = cart_with((variant, 1))
    Product.objects.filter(pk=variant.product_id).update(status=ProductStatus.DRAFT)
    with pytest.raises(ValidationFailed) as refused:
        place(cart)
    assert refused.value.details == {"cart": ["Lamp is no longer available."]}
    nothing_left_behind(cart, [variant])


def test_a_line_whose_variant_was_deleted_is_refused_by_name(store, make_variant, cart_with, place):
    # given
    kept, deleted = make_variant(), make_variant(product_name="Lamp", name="Blue")
    cart = cart_with((kept, 1), (deleted, 1))
    deleted.delete()
    # when
    with pytest.raises(ValidationFailed) as refused:
        place(cart)
    # then
    assert refused.value.details == {"cart": ["Lamp Blue is no longer available."]}
    nothing_left_behind(cart, [kept])


def test_someone_elses_cart_is_not_found(store, other_store, user, user_factory, make_variant, cart_with, place):
    theirs = cart_with((make_variant(), 1), user=user_factory())
    with pytest.raises(NotFound):
        place(theirs, user=user)
    with pytest.raises(NotFound):
        place(theirs, user=None)
    elsewhere = services.cart_create(store=other_store)
    with pytest.raises(NotFound):
        place(elsewhere)
    assert not Order.objects.exists()


def test_order_numbers_are_unique_per_store(store, make_variant, cart_with, place, monkeypatch):
    from orders.services import checkout

    first = place(cart_with((make_variant(), 1)))
    draws = iter([first.number, "ABCDE-FGHJK"])
    monkeypatch.setattr(checkout, "order_number_new", lambda: next(draws))
    second = place(cart_with((make_variant(), 1)))
    assert second.number == "ABCDE-FGHJK"


def test_a_typed_number_is_normalized():
    assert services.order_number_normalize(" abcde fghjk ") == "ABCDE-FGHJK"
    assert services.order_number_normalize("ABCDE-FGHJK") == "ABCDE-FGHJK"


def test_placing_an_order_takes_the_same_number_of_queries_whatever_its_lines(store, make_variant, cart_with):
    # given a coupon and a shipping method
    Coupon.objects.create(store=store, code="TEN", kind="percent", value=Decimal("10"), usage_limit=99,
                          usage_limit_per_customer=5)
    method = ShippingMethod.objects.create(store=store, name="Courier", price=Decimal("4"))
    flags_for(store)  # a running process has the store's feature flags cached (features.flags): warm them as it has
    counts = {}
    for count in (1, 5, 20):
        cart = cart_with(*[(make_variant(stock=50), 2) for _ in range(count)])
        services.cart_coupon_apply(cart=cart, code="TEN")
        # when a cart of ``count`` lines is placed
        with CaptureQueriesContext(connection) as queries:
            services.order_place(store=store, cart=cart, email="a@example.com", shipping_address=ADDRESS,
                                 shipping_method_id=method.pk, payment_method="cod")
        counts[count] = len(queries)
    # then the count is the same for 1, 5 and 20 lines
    assert counts[1] == counts[5] == counts[20], counts
    assert Order.objects.count() == 3 and OrderLine.objects.count() == 26
