"""Every money input takes the contract's decimal strings only: a JSON number, an exponent or a signed zero is
400 VALIDATION_ERROR naming the field, and nothing changes (config.money.MoneyField everywhere)."""

import pytest

from catalog.models import Variant
from orders.models import Coupon, ShippingMethod
from payments import services as payment_services
from payments.models import FraudSetting, Refund

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}
NOT_DECIMAL_STRINGS = [100, 19.99, "1e2", "1E+2", "-0.00", "-0", "+5", "Infinity", " 10"]


@pytest.fixture
def paid_payment(store, make_variant, cart_with):
    cart = cart_with((make_variant(price="10.00", stock=5), 1))
    _, payment = payment_services.checkout_complete(store=store, cart=cart, email="buyer@example.com",
                                                    shipping_address=ADDRESS, payment_method="bank_transfer")
    return payment_services.payment_mark_paid(payment=payment) or payment


def cases(store, make_variant, paid_payment):
    """(method, path, body without the amount, the money fields, the rows that must not change)."""
    variant = make_variant(price="10.00", stock=5)
    product = f"/api/v1/stores/{store.slug}/products/{variant.product_id}"
    base = f"/api/v1/stores/{store.slug}"
    variants = Variant.objects.values_list("pk", "price", "compare_at_price")
    return [
        ("post", f"{product}/variants", {"sku": "NEW-1", "price": "5.00"}, ["price", "compare_at_price"], variants),
        ("patch", f"{product}/variants/{variant.pk}", {}, ["price", "compare_at_price"], variants),
        ("post", f"{base}/products", {"name": "Mug", "variants": [{"sku": "MUG-1", "price": "5.00"}]}, [],
         Variant.objects.values_list("pk")),
        ("post", f"{base}/shipping-methods", {"name": "Post", "price": "5.00"}, ["price", "free_above"],
         ShippingMethod.objects.values_list("pk")),
        ("post", f"{base}/coupons", {"code": "TEN", "kind": "fixed", "value": "5.00"}, ["value", "min_subtotal"],
         Coupon.objects.values_list("pk")),
        ("post", f"{base}/payments/{paid_payment.pk}/refunds", {"amount": "1.00", "reason": "x"}, ["amount"],
         Refund.objects.values_list("pk")),
        ("put", f"{base}/fraud-settings", {}, ["amount_ceiling"], FraudSetting.objects.values_list("pk")),
    ]


@pytest.mark.parametrize("sent", NOT_DECIMAL_STRINGS, ids=repr)
def test_an_amount_that_is_not_a_decimal_string_is_refused_everywhere(sent, store, client_for, make_variant,
                                                                      paid_payment):
    owner = client_for(store.owner)
    for method, path, body, fields, rows in cases(store, make_variant, paid_payment):
        if not fields:  # a product's inline variants
            bad = {**body, "variants": [{**body["variants"][0], "price": sent}]}
            fields = ["variants"]
            payloads = [(bad, "variants")]
        else:
            payloads = [({**body, field: sent}, field) for field in fields]
        for payload, field in payloads:
            before = list(rows.all())
            response = getattr(owner, method)(path, payload, format="json")
            assert response.status_code == 400, (path, field, response.content[:300])
            error = response.json()["error"]
            assert error["code"] == "VALIDATION_ERROR" and field in error["details"], (path, field, error)
            assert list(rows.all()) == before, (path, field)


@pytest.mark.parametrize("sent", ["1e2", "-0.00", "Infinity"])
def test_a_price_filter_that_is_not_a_decimal_string_is_refused(sent, api, store):
    for name in ("price_min", "price_max"):
        response = api.get(f"/api/v1/stores/{store.slug}/products", {name: sent})
        assert response.status_code == 400 and name in response.json()["error"]["details"], response.content


def test_decimal_strings_are_taken(store, client_for, make_variant, paid_payment):
    owner = client_for(store.owner)
    variant = make_variant(price="10.00", stock=5)
    product = f"/api/v1/stores/{store.slug}/products/{variant.product_id}"
    response = owner.patch(f"{product}/variants/{variant.pk}", {"price": "12.5", "compare_at_price": "0"},
                           format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["price"] == "12.50"
    refund = owner.post(f"/api/v1/stores/{store.slug}/payments/{paid_payment.pk}/refunds",
                        {"amount": "1.00", "reason": "damaged"}, format="json")
    assert refund.status_code == 201, refund.json()
