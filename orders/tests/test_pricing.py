"""The one totals function: discount, shipping, tax (exclusive and inclusive), rounding half-up per currency."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from orders.models import Coupon, ShippingMethod
from orders.pricing import PricedLine, price_cart
from stores.models import Store

D = Decimal


def store(currency="USD", tax_rate="0", included=False) -> Store:
    return Store(name="S", slug="s", currency=currency, tax_rate=D(tax_rate), prices_include_tax=included)


def lines(*pairs) -> list[PricedLine]:
    return [PricedLine(variant_id=index + 1, unit_price=D(price), quantity=quantity)
            for index, (price, quantity) in enumerate(pairs)]


def percent(value, **fields) -> Coupon:
    return Coupon(code="P", kind="percent", value=D(value), **fields)


def fixed(value, **fields) -> Coupon:
    return Coupon(code="F", kind="fixed", value=D(value), **fields)


def test_exclusive_tax_is_added_to_the_discounted_subtotal_and_shipping_is_not_taxed():
    # given a 10 % store, 2 × 50 + 1 × 20, 10 % off, 7 shipping
    # when
    totals = price_cart(store=store(tax_rate="10"), lines=lines(("50", 2), ("20", 1)), coupon=percent("10"),
                        shipping_method=ShippingMethod(name="Post", price=D("7")))
    # then
    assert totals.subtotal == D("120.00")
    assert totals.discount == D("12.00")
    assert totals.shipping == D("7.00")
    assert totals.tax == D("10.80")
    assert totals.total == D("125.80")
    assert totals.tax_included is False
    assert totals.coupon_error is None
    assert totals.total == totals.subtotal - totals.discount + totals.shipping + totals.tax


def test_inclusive_tax_reports_the_part_contained_and_is_not_added_again():
    # given prices that contain 20 % tax
    totals = price_cart(store=store(tax_rate="20", included=True), lines=lines(("120", 1)),
                        shipping_method=ShippingMethod(name="Post", price=D("5")))
    # then 120 contains 20 of tax; the total is 120 + 5
    assert totals.tax == D("20.00")
    assert totals.total == D("125.00")
    assert totals.tax_included is True


def test_inclusive_tax_after_a_discount_is_the_part_of_the_discounted_amount():
    totals = price_cart(store=store(tax_rate="15", included=True), lines=lines(("100", 1)), coupon=fixed("8"))
    # 92 × 15 / 115 = 12.0
    assert totals.discount == D("8.00")
    assert totals.tax == D("12.00")
    assert totals.total == D("92.00")


def test_lyd_rounds_half_up_to_three_places():
    # given a LYD store at 12.5 % and a unit price of 0.333 dinars
    totals = price_cart(store=store(currency="LYD", tax_rate="12.5"), lines=lines(("0.333", 3), ("1.005", 1)))
    # then 0.999 + 1.005 = 2.004; tax 0.2505 → 0.251 (half-up)
    assert totals.subtotal == D("2.004")
    assert totals.tax == D("0.251")
    assert totals.total == D("2.255")
    assert str(totals.total) == "2.255"


def test_two_place_currency_rounds_half_up():
    totals = price_cart(store=store(tax_rate="5"), lines=lines(("0.10", 1)))
    # 0.10 × 5 % = 0.005 → 0.01
    assert totals.tax == D("0.01")
    assert totals.total == D("0.11")


def test_percent_coupon_rounds_its_discount_half_up():
    totals = price_cart(store=store(currency="LYD"), lines=lines(("1.005", 1)), coupon=percent("50"))
    # 1.005 / 2 = 0.5025 → 0.503
    assert totals.discount == D("0.503")
    assert totals.total == D("0.502")


def test_a_fixed_coupon_is_capped_at_the_subtotal():
    totals = price_cart(store=store(tax_rate="10"), lines=lines(("15", 1)), coupon=fixed("40"),
                        shipping_method=ShippingMethod(name="Post", price=D("4")))
    assert totals.discount == D("15.00")
    assert totals.tax == D("0.00")
    assert totals.total == D("4.00")


def test_a_hundred_percent_coupon_leaves_only_shipping():
    totals = price_cart(store=store(), lines=lines(("9.99", 3)), coupon=percent("100"),
                        shipping_method=ShippingMethod(name="Post", price=D("2.50")))
    assert totals.discount == D("29.97")
    assert totals.total == D("2.50")


def test_shipping_is_free_when_the_discounted_subtotal_reaches_the_threshold():
    method = ShippingMethod(name="Post", price=D("6"), free_above=D("50"))
    assert price_cart(store=store(), lines=lines(("50", 1)), shipping_method=method).shipping == D("0")
    assert price_cart(store=store(), lines=lines(("49.99", 1)), shipping_method=method).shipping == D("6.00")
    # the threshold is compared with subtotal − discount
    discounted = price_cart(store=store(), lines=lines(("55", 1)), coupon=fixed("10"), shipping_method=method)
    assert discounted.shipping == D("6.00")
    assert discounted.total == D("51.00")


def test_an_invalid_coupon_gives_no_discount_and_says_why():
    now = timezone.now()
    cases = {
        "This coupon is not active.": percent("10", is_active=False),
        "This coupon has expired.": percent("10", ends_at=now - timedelta(seconds=1)),
        "This coupon is not valid yet.": percent("10", starts_at=now + timedelta(hours=1)),
        "This coupon has been used up.": percent("10", usage_limit=3, used_count=3),
        "This coupon needs a subtotal of at least 50.00 USD.": percent("10", min_subtotal=D("50")),
    }
    for message, coupon in cases.items():
        totals = price_cart(store=store(), lines=lines(("20", 1)), coupon=coupon, now=now)
        assert totals.coupon_error == message
        assert totals.discount == D("0")
        assert totals.total == D("20.00")


def test_the_per_customer_limit_counts_the_customers_uses():
    coupon = percent("10", usage_limit_per_customer=1)
    assert price_cart(store=store(), lines=lines(("20", 1)), coupon=coupon, customer_uses=0).discount == D("2.00")
    refused = price_cart(store=store(), lines=lines(("20", 1)), coupon=coupon, customer_uses=1)
    assert refused.coupon_error == "You have already used this coupon."
    assert refused.discount == D("0")


def test_lines_carry_their_totals_and_their_tax_shares_add_up_to_the_tax():
    totals = price_cart(store=store(currency="LYD", tax_rate="7"), lines=lines(("1.111", 1), ("2.222", 1),
                                                                                ("3.333", 1)),
                        coupon=fixed("0.5"))
    assert [line.line_total for line in totals.lines] == [D("1.111"), D("2.222"), D("3.333")]
    assert sum(line.tax for line in totals.lines) == totals.tax
    assert all(line.tax >= 0 for line in totals.lines)


def test_an_empty_cart_costs_nothing_but_its_shipping():
    totals = price_cart(store=store(tax_rate="10"), lines=[], coupon=percent("10"),
                        shipping_method=ShippingMethod(name="Post", price=D("3")))
    assert (totals.subtotal, totals.discount, totals.tax, totals.total) == (D("0"), D("0"), D("0.00"), D("3.00"))
    assert totals.lines == []
