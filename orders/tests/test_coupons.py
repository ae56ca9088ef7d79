"""Coupons and shipping methods: one check for the API and the admin, writes audited, refusals leave no trace."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from config.api.errors import AlreadyExists, ValidationFailed
from orders import services
from orders.models import Coupon, ShippingMethod

pytestmark = pytest.mark.django_db


def test_a_coupon_is_created_and_audited(store):
    # when
    coupon = services.coupon_create(store=store, actor=store.owner, code=" WELCOME ", kind="percent",
                                    value=Decimal("15"), usage_limit=100)
    # then
    assert (coupon.code, coupon.kind, coupon.value, coupon.used_count) == ("WELCOME", "percent", Decimal("15"), 0)
    entry = AuditLog.objects.get(action="coupon.created")
    assert entry.actor_user == store.owner and entry.object_id == str(coupon.pk)
    assert entry.changes["code"] == "WELCOME" and entry.changes["value"] == "15"


def test_codes_are_unique_per_store_in_any_case(store, other_store):
    services.coupon_create(store=store, code="Summer", kind="fixed", value=Decimal("5"))
    with pytest.raises(AlreadyExists) as refused:
        services.coupon_create(store=store, code="SUMMER", kind="fixed", value=Decimal("5"))
    assert refused.value.code == "ALREADY_EXISTS" and "code" in refused.value.details
    assert services.coupon_create(store=other_store, code="summer", kind="fixed", value=Decimal("5"))
    assert Coupon.objects.filter(store=store).count() == 1


@pytest.mark.parametrize("values, field", [
    ({"kind": "percent", "value": Decimal("100.5")}, "value"),
    ({"kind": "percent", "value": Decimal("0")}, "value"),
    ({"kind": "fixed", "value": Decimal("5.005")}, "value"),  # USD has 2 places
    ({"kind": "fixed", "value": Decimal("-1")}, "value"),
    ({"kind": "bogus", "value": Decimal("1")}, "kind"),
    ({"kind": "fixed", "value": Decimal("1"), "min_subtotal": Decimal("1.001")}, "min_subtotal"),
    ({"kind": "fixed", "value": Decimal("1"), "usage_limit": 0}, "usage_limit"),
    ({"kind": "fixed", "value": Decimal("1"), "code": "TWO WORDS"}, "code"),
    ({"kind": "fixed", "value": Decimal("1"), "code": ""}, "code"),
])
def test_invalid_coupons_are_refused_per_field(store, values, field):
    with pytest.raises(ValidationFailed) as refused:
        services.coupon_create(store=store, **{"code": "X", **values})
    assert field in refused.value.details
    assert not Coupon.objects.exists() and not AuditLog.objects.filter(action="coupon.created").exists()


def test_the_window_must_end_after_it_starts(store):
    now = timezone.now()
    with pytest.raises(ValidationFailed) as refused:
        services.coupon_create(store=store, code="X", kind="fixed", value=Decimal("1"), starts_at=now,
                               ends_at=now - timedelta(days=1))
    assert "ends_at" in refused.value.details


def test_a_lyd_store_takes_three_places(store_factory):
    store = store_factory(currency="LYD")
    coupon = services.coupon_create(store=store, code="DINAR", kind="fixed", value=Decimal("0.125"))
    assert coupon.value == Decimal("0.125")


def test_update_checks_the_merged_coupon_and_audits_only_changes(store):
    coupon = services.coupon_create(store=store, code="X", kind="fixed", value=Decimal("150"))
    with pytest.raises(ValidationFailed):
        services.coupon_update(coupon=coupon, kind="percent")  # 150 %
    services.coupon_update(coupon=coupon, actor=store.owner, value=Decimal("20"), kind="percent")
    services.coupon_update(coupon=coupon, value=Decimal("20"))  # the same: nothing written

    coupon.refresh_from_db()
    assert (coupon.kind, coupon.value) == ("percent", Decimal("20"))
    updates = AuditLog.objects.filter(action="coupon.updated")
    assert updates.count() == 1
    assert updates.get().changes == {"value": ["150.000", "20"], "kind": ["fixed", "percent"]}


def test_delete_keeps_nothing_but_the_audit_row(store):
    coupon = services.coupon_create(store=store, code="X", kind="fixed", value=Decimal("1"))
    services.coupon_delete(coupon=coupon, actor=store.owner)
    assert not Coupon.objects.exists()
    assert AuditLog.objects.get(action="coupon.deleted").changes == {"code": "X"}


def test_shipping_methods_are_created_changed_and_deleted_with_audit_rows(store):
    method = services.shipping_method_create(store=store, actor=store.owner, name="Courier", price=Decimal("7.50"),
                                             free_above=Decimal("100"))
    services.shipping_method_update(shipping_method=method, actor=store.owner, is_active=False)
    method.refresh_from_db()
    assert (method.name, method.price, method.free_above, method.is_active) == (
        "Courier", Decimal("7.50"), Decimal("100"), False)
    services.shipping_method_delete(shipping_method=method, actor=store.owner)
    assert not ShippingMethod.objects.exists()
    assert list(AuditLog.objects.filter(action__startswith="shipping_method.").order_by("id")
                .values_list("action", flat=True)) == [
        "shipping_method.created", "shipping_method.updated", "shipping_method.deleted"]


@pytest.mark.parametrize("values, field", [
    ({"name": "", "price": Decimal("1")}, "name"),
    ({"name": "Post", "price": Decimal("-1")}, "price"),
    ({"name": "Post", "price": Decimal("1.234")}, "price"),
    ({"name": "Post", "price": Decimal("1"), "free_above": Decimal("-5")}, "free_above"),
    ({"name": "Post"}, "price"),
])
def test_invalid_shipping_methods_are_refused(store, values, field):
    with pytest.raises(ValidationFailed) as refused:
        services.shipping_method_create(store=store, **values)
    assert field in refused.value.details
    assert not ShippingMethod.objects.exists()
