"""The stock pages of the admin: the inventory ledger (read-only) and adjustments through stock_adjust."""

import pytest

from auditlog.models import AuditLog
from catalog.models import InventoryMovement, Variant
from catalog.services import stock_adjust

pytestmark = pytest.mark.django_db

MOVEMENTS = "/admin/catalog/inventorymovement/"
ADJUST = f"{MOVEMENTS}adjust/"


@pytest.fixture
def variant_in(product_factory, variant_factory):
    def make(store, *, sku, stock=10) -> Variant:
        product = product_factory(store=store, variants=0)
        variant = variant_factory(product=product, sku=sku, stock_quantity=0)
        if stock:
            variant = stock_adjust(variant=variant, delta=stock, reason="restock", note="Opening")
        return variant

    return make


def rows(response) -> list[tuple[str, str, int]]:
    return [(movement.variant.sku, movement.reason, movement.quantity_delta)
            for movement in response.context["cl"].result_list]


@pytest.mark.parametrize("role", ["owner", "staff"])
def test_the_ledger_lists_this_stores_movements_with_filters_and_search(role, store, other_store, member_factory,
                                                                        variant_in, admin_login):
    # given movements here and in another store
    shirt = variant_in(store, sku="SHIRT-1", stock=10)
    stock_adjust(variant=shirt, delta=-2, reason="adjustment", note="Damaged")
    variant_in(store, sku="MUG-1", stock=4)
    variant_in(other_store, sku="THEIRS-1", stock=7)
    client = admin_login(store.owner if role == "owner" else member_factory(store, "staff"))
    # when / then
    response = client.get(MOVEMENTS)
    assert response.status_code == 200
    assert sorted(rows(response)) == [("MUG-1", "restock", 4), ("SHIRT-1", "adjustment", -2),
                                      ("SHIRT-1", "restock", 10)]
    assert b"Adjust stock" in response.content
    assert rows(client.get(MOVEMENTS, {"reason__exact": "adjustment"})) == [("SHIRT-1", "adjustment", -2)]
    assert sorted(rows(client.get(MOVEMENTS, {"q": "shirt-1"}))) == [("SHIRT-1", "adjustment", -2),
                                                                     ("SHIRT-1", "restock", 10)]
    assert rows(client.get(MOVEMENTS, {"q": "THEIRS"})) == []
    movement = InventoryMovement.objects.filter(variant=shirt).latest("id")
    assert client.get(f"{MOVEMENTS}{movement.pk}/change/").status_code == 200


def test_the_ledger_finds_an_orders_movements_by_its_number(store, variant_in, admin_login):
    from orders import services

    variant = variant_in(store, sku="BOX-1", stock=5)
    cart = services.cart_create(store=store, user=None)
    services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=2)
    order = services.order_place(store=store, cart=cart, email="a@example.com", shipping_address={},
                                 payment_method="cod", initial_status="processing")
    client = admin_login(store.owner)

    assert rows(client.get(MOVEMENTS, {"q": order.number})) == [("BOX-1", "reserve", 0)]


def test_the_ledger_cannot_be_written_in_the_admin(store, variant_in, admin_login):
    variant = variant_in(store, sku="SHIRT-1", stock=3)
    movement = InventoryMovement.objects.get(variant=variant)
    client = admin_login(store.owner)

    assert client.get(f"{MOVEMENTS}add/").status_code == 403
    assert client.post(f"{MOVEMENTS}{movement.pk}/change/", {"quantity_delta": "99"}).status_code == 403
    assert client.post(f"{MOVEMENTS}{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    assert InventoryMovement.objects.get(pk=movement.pk).quantity_delta == 3


def test_adjusting_stock_in_the_admin_goes_through_the_service_and_names_the_admin(store, member_factory,
                                                                                  variant_in, admin_login):
    # given a variant with 10 on hand and a staff member
    variant = variant_in(store, sku="SHIRT-1", stock=10)
    staff = member_factory(store, "staff")
    client = admin_login(staff)
    # the form opens filled in from the variant's "adjust" link
    response = client.get(ADJUST, {"variant": variant.pk})
    assert response.status_code == 200
    assert response.context["form"].initial == {"store": store.pk, "sku": "SHIRT-1"}
    # when they add a delivery of 5
    response = client.post(ADJUST, {"store": store.pk, "sku": "SHIRT-1", "delta": "5", "reason": "restock",
                                    "note": "Delivery 42"}, follow=True)
    # then
    assert response.status_code == 200
    variant.refresh_from_db()
    assert variant.stock_quantity == 15
    movement = InventoryMovement.objects.filter(variant=variant).latest("id")
    assert (movement.reason, movement.quantity_delta, movement.note, movement.actor_user) == (
        "restock", 5, "Delivery 42", staff)
    assert "SHIRT-1: +5 (restock); now 15 on hand" in " ".join(str(m) for m in response.context["messages"])
    assert not AuditLog.objects.filter(action__startswith="admin.").exists()


def test_an_adjustment_the_service_refuses_is_a_form_error_and_changes_nothing(store, other_store, variant_in,
                                                                               admin_login):
    variant = variant_in(store, sku="SHIRT-1", stock=3)
    variant_in(other_store, sku="THEIRS-1", stock=3)
    client = admin_login(store.owner)
    before = InventoryMovement.objects.count()
    cases = [
        ({"sku": "SHIRT-1", "delta": "-4"}, "delta", "Only 3 of SHIRT-1 available"),  # below zero
        ({"sku": "SHIRT-1", "delta": "0"}, "delta", "at least one unit"),
        ({"sku": "SHIRT-1", "delta": "2", "reason": "sale"}, "reason", "valid choice"),  # the system's reason
        ({"sku": "THEIRS-1", "delta": "2"}, "sku", "No variant"),  # another store's sku
        ({"sku": "THEIRS-1", "delta": "2", "store": other_store.pk}, "store", "valid choice"),
    ]
    for values, field, problem in cases:
        data = {"store": store.pk, "reason": "adjustment", "note": "", **values}
        response = client.post(ADJUST, data)
        assert response.status_code == 200, values
        assert problem in " ".join(response.context["form"].errors.get(field, [])), (values,
                                                                                     response.context["form"].errors)
    variant.refresh_from_db()
    assert variant.stock_quantity == 3
    assert InventoryMovement.objects.count() == before


def test_the_adjust_link_of_another_stores_variant_fills_nothing(store, other_store, variant_in, admin_login):
    theirs = variant_in(other_store, sku="THEIRS-1", stock=3)
    client = admin_login(store.owner)

    response = client.get(ADJUST, {"variant": theirs.pk})

    assert response.status_code == 200 and response.context["form"].initial == {}


def test_the_product_page_links_each_variant_to_the_adjust_page(store, variant_in, admin_login):
    variant = variant_in(store, sku="SHIRT-1", stock=3)
    client = admin_login(store.owner)

    response = client.get(f"/admin/catalog/product/{variant.product_id}/change/")

    assert f"{ADJUST}?variant={variant.pk}" in response.content.decode()
