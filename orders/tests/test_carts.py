"""Carts: whose they are, what they hold, prices always from the catalog, merge at login."""

from decimal import Decimal

import pytest

from catalog.models import Product, ProductStatus
from config.api.errors import DomainError, NotFound, ValidationFailed
from orders import services
from orders.errors import OutOfStock
from orders.models import Cart, CartLine, Coupon

pytestmark = pytest.mark.django_db


def test_an_anonymous_cart_is_anyones_who_holds_its_id_and_a_users_only_theirs(store, user, user_factory):
    # given
    anonymous = services.cart_create(store=store, user=None)
    mine = services.cart_create(store=store, user=user)
    # then
    assert services.cart_get(store=store, cart_id=str(anonymous.pk), user=None) == anonymous
    assert services.cart_get(store=store, cart_id=anonymous.pk, user=user_factory()) == anonymous
    assert services.cart_get(store=store, cart_id=mine.pk, user=user) == mine
    for stranger in (None, user_factory()):
        with pytest.raises(NotFound):
            services.cart_get(store=store, cart_id=mine.pk, user=stranger)


def test_a_cart_of_another_store_or_a_malformed_id_is_not_found(store, other_store):
    cart = services.cart_create(store=other_store)
    for cart_id in (cart.pk, "not-a-uuid", ""):
        with pytest.raises(NotFound):
            services.cart_get(store=store, cart_id=cart_id)


def test_a_user_has_one_cart_per_store(store, other_store, user):
    first = services.cart_create(store=store, user=user)
    assert services.cart_create(store=store, user=user) == first
    assert services.cart_create(store=other_store, user=user) != first
    assert Cart.objects.filter(user=user).count() == 2


def test_a_cart_created_with_items_holds_all_of_them_or_is_not_created(store, user, make_variant):
    # given
    plenty, scarce = make_variant(stock=9), make_variant(stock=1)
    # when
    cart = services.cart_create(store=store, user=user, items=[(plenty.pk, 2), (scarce.pk, 1)])
    with pytest.raises(OutOfStock):
        services.cart_create(store=store, items=[(plenty.pk, 1), (scarce.pk, 2)])
    # then
    assert sorted(CartLine.objects.filter(cart=cart).values_list("variant_id", "quantity")) == [
        (plenty.pk, 2), (scarce.pk, 1)]
    assert list(Cart.objects.values_list("pk", flat=True)) == [cart.pk]


def test_adding_a_variant_twice_adds_to_its_line(store, make_variant):
    # given
    variant = make_variant(stock=10)
    cart = services.cart_create(store=store)
    # when
    services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=2)
    line = services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=3)
    # then
    assert CartLine.objects.get(cart=cart).quantity == 5 == line.quantity


def test_more_than_available_is_out_of_stock_and_changes_nothing(store, make_variant):
    # given 5 on hand, 2 of them reserved, 2 in the cart
    variant = make_variant(stock=5)
    variant.reserved = 2
    variant.save()
    cart = services.cart_create(store=store)
    services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=2)
    # when
    with pytest.raises(OutOfStock) as refused:
        services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=2)
    # then
    assert refused.value.code == "OUT_OF_STOCK" and refused.value.status_code == 409
    assert refused.value.details["variants"] == [{"variant": variant.pk, "sku": variant.sku, "requested": 4,
                                                  "available": 3}]
    assert CartLine.objects.get(cart=cart).quantity == 2


def test_untracked_and_backorder_variants_are_not_capped_by_stock(store, make_variant):
    cart = services.cart_create(store=store)
    untracked = make_variant(stock=0, track_inventory=False)
    backorder = make_variant(stock=0, allow_backorder=True)
    services.cart_item_add(cart=cart, variant_id=untracked.pk, quantity=50)
    services.cart_item_add(cart=cart, variant_id=backorder.pk, quantity=50)
    assert CartLine.objects.filter(cart=cart).count() == 2


def test_only_published_variants_of_this_store_go_in_a_cart(store, other_store, make_variant):
    cart = services.cart_create(store=store)
    for variant in (make_variant(status=ProductStatus.DRAFT), make_variant(status=ProductStatus.ARCHIVED),
                    make_variant(store=other_store)):
        with pytest.raises(ValidationFailed) as refused:
            services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=1)
        assert "variant" in refused.value.details
    with pytest.raises(ValidationFailed):
        services.cart_item_add(cart=cart, variant_id=999_999, quantity=1)
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, 10_001, "2", 1.5, True])
def test_a_bad_quantity_is_refused(store, make_variant, quantity):
    cart = services.cart_create(store=store)
    with pytest.raises(ValidationFailed) as refused:
        services.cart_item_add(cart=cart, variant_id=make_variant().pk, quantity=quantity)
    assert "quantity" in refused.value.details
    assert not CartLine.objects.exists()


def test_update_sets_the_quantity_within_stock_and_remove_drops_the_line(store, make_variant):
    variant = make_variant(stock=4)
    cart = services.cart_create(store=store)
    line = services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=1)
    services.cart_item_update(cart=cart, line_id=line.pk, quantity=4)
    assert CartLine.objects.get(pk=line.pk).quantity == 4
    with pytest.raises(OutOfStock):
        services.cart_item_update(cart=cart, line_id=line.pk, quantity=5)
    assert CartLine.objects.get(pk=line.pk).quantity == 4
    services.cart_item_remove(cart=cart, line_id=line.pk)
    assert not CartLine.objects.exists()


def test_a_line_of_another_cart_is_not_found(store, make_variant):
    variant = make_variant()
    theirs = services.cart_create(store=store)
    line = services.cart_item_add(cart=theirs, variant_id=variant.pk, quantity=1)
    mine = services.cart_create(store=store)
    with pytest.raises(NotFound):
        services.cart_item_update(cart=mine, line_id=line.pk, quantity=2)
    with pytest.raises(NotFound):
        services.cart_item_remove(cart=mine, line_id=line.pk)
    assert CartLine.objects.get(pk=line.pk).quantity == 1


def test_the_view_prices_from_the_catalog_every_time(store, make_variant, cart_with):
    # given a cart, then a price change in the catalog
    variant = make_variant(price="10.00", stock=9)
    cart = cart_with((variant, 3))
    variant.price = Decimal("12.50")
    variant.save()
    # when
    view = services.cart_view(cart=cart)
    # then
    assert view.totals.subtotal == Decimal("37.50") and view.totals.total == Decimal("37.50")
    assert [(line.unit_price, line.quantity, line.line_total, line.available) for line in view.lines] == [
        (Decimal("12.50"), 3, Decimal("37.50"), 9)]
    assert view.currency == "USD" and view.messages == []


def test_the_view_drops_lines_no_longer_for_sale_and_says_so(store, make_variant, cart_with):
    kept, gone = make_variant(price="5"), make_variant(price="7", product_name="Old hat")
    cart = cart_with((kept, 1), (gone, 1))
    Product.objects.filter(pk=gone.product_id).update(status=ProductStatus.DRAFT)

    view = services.cart_view(cart=cart)

    assert [line.variant.pk for line in view.lines] == [kept.pk]
    assert view.totals.subtotal == Decimal("5")
    assert view.messages == ["Old hat is no longer available and was removed from your cart."]
    assert list(CartLine.objects.filter(cart=cart).values_list("variant", flat=True)) == [kept.pk]


def test_the_view_reports_short_stock_without_changing_the_cart(store, make_variant, cart_with):
    variant = make_variant(stock=5)
    cart = cart_with((variant, 4))
    variant.reserved = 3
    variant.save()
    view = services.cart_view(cart=cart)
    assert view.lines[0].available == 2 and view.lines[0].quantity == 4
    assert view.messages == [f"Only 2 of {variant.sku} available; lower the quantity to check out."]


def test_a_coupon_applies_in_any_case_and_discounts_the_view(store, make_variant, cart_with):
    Coupon.objects.create(store=store, code="Summer10", kind="percent", value=Decimal("10"))
    cart = cart_with((make_variant(price="20"), 2))

    services.cart_coupon_apply(cart=cart, code="  summer10 ")

    view = services.cart_view(cart=cart)
    assert view.coupon.code == "Summer10"
    assert (view.totals.discount, view.totals.total) == (Decimal("4.00"), Decimal("36.00"))
    services.cart_coupon_remove(cart=cart)
    assert Cart.objects.get(pk=cart.pk).coupon is None


@pytest.mark.parametrize("fields, message", [
    ({"code": "NOPE"}, "Unknown coupon."),
    ({"is_active": False}, "This coupon is not active."),
    ({"min_subtotal": Decimal("100")}, "This coupon needs a subtotal of at least 100.00 USD."),
    ({"usage_limit": 1, "used_count": 1}, "This coupon has been used up."),
])
def test_an_invalid_coupon_is_refused_with_its_reason(store, make_variant, cart_with, fields, message):
    Coupon.objects.create(store=store, **{"code": "DEAL", "kind": "fixed", "value": Decimal("5"), **fields})
    cart = cart_with((make_variant(price="20"), 1))
    with pytest.raises(ValidationFailed) as refused:
        services.cart_coupon_apply(cart=cart, code="DEAL")
    assert refused.value.details == {"code": [message]}
    assert Cart.objects.get(pk=cart.pk).coupon is None


def test_a_coupon_that_stopped_applying_is_dropped_from_the_cart_with_a_message(store, make_variant, cart_with):
    coupon = Coupon.objects.create(store=store, code="DEAL", kind="fixed", value=Decimal("5"),
                                   min_subtotal=Decimal("15"))
    variant = make_variant(price="20")
    cart = cart_with((variant, 1))
    services.cart_coupon_apply(cart=cart, code="deal")
    Coupon.objects.filter(pk=coupon.pk).update(is_active=False)

    view = services.cart_view(cart=cart)

    assert view.coupon is None and view.totals.discount == 0 and view.totals.total == Decimal("20.00")
    assert view.messages == ["The coupon DEAL was removed: This coupon is not active."]
    assert Cart.objects.get(pk=cart.pk).coupon is None


def test_merge_adds_quantities_capped_by_stock_and_deletes_the_anonymous_cart(store, user, make_variant,
                                                                              cart_with):
    # given the user's cart with 2 of a, and an anonymous cart with 3 of a (4 in stock) and 1 of b
    a, b = make_variant(stock=4), make_variant(stock=9)
    mine = cart_with((a, 2), user=user)
    anonymous = cart_with((a, 3), (b, 1))
    # when
    merged = services.cart_merge(source=anonymous, user=user)
    # then
    assert merged == mine
    assert dict(CartLine.objects.filter(cart=mine).values_list("variant", "quantity")) == {a.pk: 4, b.pk: 1}
    assert not Cart.objects.filter(pk=anonymous.pk).exists()


def test_merge_creates_the_users_cart_when_they_have_none(store, user, make_variant, cart_with):
    variant = make_variant()
    Coupon.objects.create(store=store, code="DEAL", kind="fixed", value=Decimal("1"))
    anonymous = cart_with((variant, 2))
    services.cart_coupon_apply(cart=anonymous, code="DEAL")

    merged = services.cart_merge(source=anonymous, user=user)

    assert merged.user == user and merged.pk != anonymous.pk
    assert merged.coupon.code == "DEAL"
    assert list(merged.lines.values_list("variant", "quantity")) == [(variant.pk, 2)]
    assert Cart.objects.count() == 1


def test_another_users_cart_cannot_be_merged(store, user, user_factory, make_variant, cart_with):
    theirs = cart_with((make_variant(), 1), user=user_factory())
    with pytest.raises(NotFound):
        services.cart_merge(source=theirs, user=user)
    assert Cart.objects.filter(pk=theirs.pk).exists()
    assert not Cart.objects.filter(user=user).exists()


def test_refusals_are_domain_errors_with_codes():
    assert issubclass(OutOfStock, DomainError) and OutOfStock.code == "OUT_OF_STOCK"


def test_a_line_whose_variant_was_deleted_is_left_out_of_a_merge_and_a_coupon_check(store, user, make_variant,
                                                                                     cart_with):
    # given
    kept, deleted = make_variant(price="10.00"), make_variant(price="90.00")
    Coupon.objects.create(store=store, code="BIG", kind="fixed", value=Decimal("5"), min_subtotal=Decimal("50"))
    anonymous = cart_with((kept, 1), (deleted, 1))
    deleted.delete()
    # when / then: the deleted line no longer counts towards the coupon's minimum
    with pytest.raises(ValidationFailed):
        services.cart_coupon_apply(cart=anonymous, code="big")
    merged = services.cart_merge(source=anonymous, user=user)
    assert list(merged.lines.values_list("variant", "quantity")) == [(kept.pk, 1)]


def test_changing_the_quantity_of_a_deleted_variants_line_says_it_is_gone(store, make_variant, cart_with):
    # given
    lamp = make_variant(product_name="Lamp")
    cart = cart_with((lamp, 1))
    line = CartLine.objects.get(cart=cart)
    lamp.delete()
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.cart_item_update(cart=cart, line_id=line.pk, quantity=2)
    # then
    assert refused.value.details == {"variant": ["Lamp is no longer available."]}
