"""Stock has one owner: every change goes through catalog.services.stock with a movement row, or not at all."""


import pytest

from catalog.errors import OutOfStock
from catalog.models import InventoryMovement, InventoryMovementImmutable, Variant
from catalog.services import stock_adjust, stock_set
from catalog.tests.conftest import url
from tests.factories import VariantFactory
from tests.races import race

pytestmark = pytest.mark.django_db


def movements(variant) -> list[tuple]:
    return list(InventoryMovement.objects.filter(variant=variant).order_by("id")
                .values_list("reason", "quantity_delta", "reserved_delta", "note"))


def test_a_new_variant_records_its_opening_stock(store, product_factory):
    # when: a variant is created with 7 units
    product = product_factory(store=store, variants=0)
    variant = VariantFactory(product=product, stock_quantity=7)
    # then: the ledger holds them, and adds up
    assert movements(variant) == [("adjustment", 7, 0, "Opening stock")]


def test_stock_adjust_changes_stock_and_records_the_movement(store, staff, product_factory):
    # given: 5 on hand
    variant = product_factory(store=store, stock_quantity=5).variants.get()
    # when
    stored = stock_adjust(variant=variant, delta=3, reason="restock", note="Delivery 42", actor=staff)
    # then
    assert stored.stock_quantity == 8 and Variant.objects.get(pk=variant.pk).stock_quantity == 8
    movement = InventoryMovement.objects.filter(variant=variant).latest("id")
    assert (movement.reason, movement.quantity_delta, movement.reserved_delta, movement.note) == (
        "restock", 3, 0, "Delivery 42")
    assert (movement.actor_user, movement.actor_label, movement.store_id) == (staff, staff.email, store.pk)
    assert sum(InventoryMovement.objects.filter(variant=variant).values_list("quantity_delta", flat=True)) == 8


@pytest.mark.parametrize("reserved, delta", [(0, -6), (3, -3)])
def test_stock_adjust_refuses_below_zero_or_below_reserved_and_leaves_no_trace(store, product_factory, reserved,
                                                                                 delta):
    # given: 5 on hand, some reserved by orders
    product = product_factory(store=store, stock_quantity=5)
    variant = product.variants.get()
    Variant.objects.filter(pk=variant.pk).update(reserved=reserved)
    before = InventoryMovement.objects.count()
    # when / then
    with pytest.raises(OutOfStock) as refused:
        stock_adjust(variant=variant, delta=delta)
    assert (refused.value.code, refused.value.status_code) == ("OUT_OF_STOCK", 409)
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 5
    assert InventoryMovement.objects.count() == before


def test_backorders_may_hold_more_than_is_on_hand(store, product_factory):
    # given: a variant that takes backorders, with 4 of its 5 units reserved
    product = product_factory(store=store, stock_quantity=5)
    variant = product.variants.get()
    Variant.objects.filter(pk=variant.pk).update(reserved=4, allow_backorder=True)
    # when: 3 units are written off
    stored = stock_adjust(variant=variant, delta=-3, reason="adjustment", note="Broken")
    # then: on hand falls below what is reserved, never below zero
    assert (stored.stock_quantity, stored.reserved, stored.available) == (2, 4, -2)
    with pytest.raises(OutOfStock):
        stock_adjust(variant=variant, delta=-3)


def test_stock_set_records_the_difference(store, product_factory):
    variant = product_factory(store=store, stock_quantity=5).variants.get()
    stock_set(variant=variant, quantity=2, reason="adjustment", note="Counted")
    stock_set(variant=variant, quantity=2, reason="adjustment")  # no change, no movement
    assert movements(variant)[1:] == [("adjustment", -3, 0, "Counted")]


def test_the_api_writes_stock_through_the_ledger(staff_api, store, product_factory):
    # given
    product = product_factory(store=store, stock_quantity=5)
    variant = product.variants.get()
    # when: staff set stock to 9 through the API
    response = staff_api.patch(url(store, f"products/{product.pk}/variants/{variant.pk}"), {"stock_quantity": 9},
                               format="json")
    # then: the change is an adjustment by 4
    assert response.status_code == 200 and response.json()["data"]["stock_quantity"] == 9
    assert movements(variant)[-1] == ("adjustment", 4, 0, "")


def test_the_importer_writes_stock_through_the_ledger(store, product_factory):
    from catalog.importer import products_import

    variant = product_factory(store=store, stock_quantity=5).variants.get()
    products_import(store=store, source=f"sku,stock_quantity\n{variant.sku},1\n".encode())
    assert movements(variant)[-1] == ("adjustment", -4, 0, "")
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 1


def test_stock_falling_to_the_threshold_through_stock_adjust_is_announced(store, product_factory,
                                                                          django_capture_on_commit_callbacks):
    from notifications.models import Notification

    variant = product_factory(store=store, stock_quantity=8).variants.get()
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant=variant, delta=-4)  # 8 → 4: crosses the threshold of 5
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant=variant, delta=-1)  # 4 → 3: already below
    notice = Notification.objects.get(event_type="inventory.low_stock")
    assert (notice.data["available"], notice.data["threshold"]) == (4, 5)


def test_movements_are_append_only(store, product_factory):
    variant = product_factory(store=store, stock_quantity=5).variants.get()
    movement = InventoryMovement.objects.get(variant=variant)
    with pytest.raises(InventoryMovementImmutable):
        movement.save()
    with pytest.raises(InventoryMovementImmutable):
        InventoryMovement.objects.filter(pk=movement.pk).update(quantity_delta=1)
    with pytest.raises(InventoryMovementImmutable):
        InventoryMovement.objects.filter(pk=movement.pk).delete()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adjustments_never_oversell(store, product_factory):
    # given: 5 on hand
    variant = product_factory(store=store, stock_quantity=5).variants.get()
    # when: ten take one unit at once, each on its own connection
    results = race(*(lambda: stock_adjust(variant=variant, delta=-1, reason="adjustment") for _ in range(10)))
    # then: exactly five succeed, stock is 0, and the ledger holds five withdrawals
    assert sum(isinstance(result, Variant) for result in results) == 5, results
    assert sum(isinstance(result, OutOfStock) for result in results) == 5, results
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 0
    assert InventoryMovement.objects.filter(variant=variant, quantity_delta=-1).count() == 5
