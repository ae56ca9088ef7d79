from decimal import Decimal

import pytest
from rest_framework import serializers

from config.money import MoneyField, money_fits, money_round, money_str


class PriceInput(serializers.Serializer):
    price = MoneyField()


@pytest.mark.parametrize("currency, sent, stored", [
    ("USD", "9.50", Decimal("9.500")), ("USD", "9.5", Decimal("9.500")), ("USD", "10", Decimal("10.000")),
    ("LYD", "19.990", Decimal("19.990")), ("JPY", "500", Decimal("500.000")),
])
def test_money_input_within_the_currency_places(currency, sent, stored):
    serializer = PriceInput(data={"price": sent}, context={"currency": currency})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["price"] == stored


@pytest.mark.parametrize("currency, sent", [("USD", "9.999"), ("USD", "19.990"), ("JPY", "1.5"), ("EGP", "abc")])
def test_money_input_beyond_the_currency_places_is_refused(currency, sent):
    serializer = PriceInput(data={"price": sent}, context={"currency": currency})
    assert not serializer.is_valid()
    assert "price" in serializer.errors


def test_money_output_has_the_currency_places_and_rounds_half_up():
    assert money_str(Decimal("19.9"), "USD") == "19.90"
    assert money_str(Decimal("19.99"), "LYD") == "19.990"
    assert money_round(Decimal("0.125"), "USD") == Decimal("0.13")
    assert money_round(Decimal("2.5"), "JPY") == Decimal("3")


@pytest.mark.parametrize("currency, amount, fits", [
    ("USD", "9.99", True), ("USD", "9.990", True), ("USD", "9.999", False), ("LYD", "9.999", True),
    ("JPY", "500", True), ("JPY", "1E+2", True), ("JPY", "1.5", False),
])
def test_a_stored_amount_fits_the_currency_when_its_places_beyond_the_currencys_are_zeros(currency, amount, fits):
    # unlike MoneyField, which counts the places a client sent, services see amounts padded to the column's places
    assert money_fits(Decimal(amount), currency) is fits
