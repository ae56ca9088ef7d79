"""The orders admin (the merchant's PMS): read-only orders moved through orders.services, coupons and shipping
methods checked and saved by their services, all per store."""

from decimal import Decimal

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from catalog.models import InventoryMovement
from orders import services
from orders.models import Coupon, Order, OrderEvent, ShippingMethod

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"


@pytest.fixture
def place(cart_with):
    """An order of ``(variant, quantity)`` pairs in ``store``, pending (bank transfer) unless told."""

    def make(store, *pairs, status="pending", email="buyer@example.com", name="Buyer"):
        cart = cart_with(*pairs, store=store)
        return services.order_place(store=store, cart=cart, email=email, customer_name=name,
                                    shipping_address={"city": "Benghazi"},
                                    payment_method="cod" if status == "processing" else "bank_transfer",
                                    initial_status=status)

    return make


def shown(response) -> list[str]:
    return [order.number for order in response.context["cl"].result_list]


def messages_of(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


@pytest.mark.parametrize("role", ["owner", "staff"])
def test_orders_list_and_page_render_for_the_team_and_hide_other_stores(role, store, other_store, member_factory,
                                                                        make_variant, place, admin_login):
    # given an order here and one in another store
    mine = place(store, (make_variant(stock=5), 2))
    theirs = place(other_store, (make_variant(store=other_store, stock=5), 1))
    user = store.owner if role == "owner" else member_factory(store, "staff")
    client = admin_login(user)
    # when / then: the list shows only this store's
    response = client.get(ORDERS)
    assert response.status_code == 200
    assert shown(response) == [mine.number]
    # the order's page shows its lines, history and stock movements, and the moves a pending order can make
    response = client.get(f"{ORDERS}{mine.pk}/change/")
    assert response.status_code == 200
    text = response.content.decode().lower()
    assert mine.lines.get().sku.lower() in text and "history" in text and "stock movements" in text
    assert [status for status, _ in response.context["order_moves"]] == ["processing", "cancelled"]
    # the other store's order does not exist here
    response = client.get(f"{ORDERS}{theirs.pk}/change/", follow=True)
    assert "doesn’t exist" in messages_of(response)
    assert client.post(f"{ORDERS}{theirs.pk}/move/", {"status": "cancelled"}).status_code == 404
    assert Order.objects.get(pk=theirs.pk).status == "pending"


def test_orders_filter_by_status_payment_status_and_date_and_search_by_number_and_email(store, make_variant,
                                                                                         place, admin_login):
    variant = make_variant(stock=20)
    pending = place(store, (variant, 1), email="nadia@example.com")
    processing = place(store, (variant, 1), status="processing", email="omar@example.com")
    client = admin_login(store.owner)

    assert shown(client.get(ORDERS, {"status__exact": "processing"})) == [processing.number]
    assert set(shown(client.get(ORDERS, {"payment_status__exact": "unpaid"}))) == {pending.number,
                                                                                    processing.number}
    assert shown(client.get(ORDERS, {"payment_status__exact": "paid"})) == []
    # the date filter's and the date hierarchy's links
    today = timezone.localtime(pending.created_at)
    assert len(shown(client.get(ORDERS, {"created_at__gte": today.replace(hour=0, minute=0).isoformat()}))) == 2
    assert shown(client.get(ORDERS, {"created_at__lt": "2000-01-01T00:00:00+00:00"})) == []
    assert len(shown(client.get(ORDERS, {"created_at__year": today.year, "created_at__month": today.month,
                                         "created_at__day": today.day}))) == 2
    assert shown(client.get(ORDERS, {"q": "NADIA@example"})) == [pending.number]
    assert shown(client.get(ORDERS, {"q": processing.number})) == [processing.number]
    # as a customer reads it out: lower case, no dash
    assert shown(client.get(ORDERS, {"q": processing.number.replace("-", "").lower()})) == [processing.number]


def test_money_is_read_only_with_the_store_currency_places(store_factory, make_variant, place, admin_login):
    # given an order in a three-place currency
    store = store_factory(name="Dinar", slug="dinar", currency="LYD")
    order = place(store, (make_variant(store=store, price="12.345", stock=5), 2))
    client = admin_login(store.owner)
    # when
    response = client.get(f"{ORDERS}{order.pk}/change/")
    # then the amounts show with three places and none is a form field
    text = response.content.decode()
    assert "24.690 LYD" in text and "12.345 LYD" in text
    assert 'name="total"' not in text and 'name="subtotal"' not in text
    assert "24.690 LYD" in client.get(ORDERS).content.decode()
    # and the page cannot be saved: orders change only through their moves
    assert client.post(f"{ORDERS}{order.pk}/change/", {"total": "0"}).status_code == 403
    assert Order.objects.get(pk=order.pk).total == Decimal("24.690")
    assert client.get(f"{ORDERS}add/").status_code == 403


def test_actions_move_orders_through_the_service_with_events_and_audit_rows(store, make_variant, place, admin_login):
    # given two pending orders and a processing one
    variant = make_variant(stock=10)
    first, second = place(store, (variant, 1)), place(store, (variant, 2))
    processing = place(store, (variant, 3), status="processing")
    client = admin_login(store.owner)
    # when the owner marks all three processing
    response = client.post(ORDERS, {"action": "mark_processing",
                                    "_selected_action": [first.pk, second.pk, processing.pk]}, follow=True)
    # then the pending ones moved, with an event and an audit row naming the owner; the third is reported
    assert response.status_code == 200
    assert set(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {
        "processing"}
    event = OrderEvent.objects.get(order=first, kind="status")
    assert (event.from_status, event.to_status, event.actor_user) == ("pending", "processing", store.owner)
    entries = AuditLog.objects.filter(action="order.status_changed")
    assert entries.count() == 2 and {entry.actor_id for entry in entries} == {str(store.owner.pk)}
    text = messages_of(response)
    assert "2 order(s) marked processing" in text
    assert f"{processing.number}: A processing order cannot become processing." in text
    assert not AuditLog.objects.filter(action__startswith="admin.order").exists()


def test_a_refused_move_is_a_message_and_changes_nothing(store, make_variant, place, admin_login):
    # given a pending order
    order = place(store, (make_variant(stock=5), 1))
    client = admin_login(store.owner)
    # when the owner marks it completed (pending → completed is not a move)
    response = client.post(ORDERS, {"action": "mark_completed", "_selected_action": [order.pk]}, follow=True)
    # then
    assert response.status_code == 200
    assert f"{order.number}: A pending order cannot become completed." in messages_of(response)
    assert Order.objects.get(pk=order.pk).status == "pending"
    assert not OrderEvent.objects.filter(order=order, kind="status").exists()


def test_cancelling_from_the_admin_releases_the_stock(store, make_variant, place, admin_login):
    variant = make_variant(stock=5)
    order = place(store, (variant, 2))
    client = admin_login(store.owner)

    client.post(ORDERS, {"action": "mark_cancelled", "_selected_action": [order.pk]})

    variant.refresh_from_db()
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert (variant.stock_quantity, variant.reserved) == (5, 0)
    movement = InventoryMovement.objects.get(order=order, reason="release")
    assert (movement.reserved_delta, movement.actor_user) == (-2, store.owner)


def test_the_order_page_moves_it_with_a_note(store, member_factory, make_variant, place, admin_login):
    # given a processing order and a staff member
    variant = make_variant(stock=5)
    order = place(store, (variant, 2), status="processing")
    staff = member_factory(store, "staff")
    client = admin_login(staff)
    # when they mark it completed from its page
    response = client.post(f"{ORDERS}{order.pk}/move/", {"status": "completed", "note": "Shipped by DHL"},
                           follow=True)
    # then it is completed, the stock sold and the note kept
    assert f"{order.number} is now completed." in messages_of(response)
    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (3, 0)
    event = OrderEvent.objects.get(order=order, kind="status")
    assert (event.to_status, event.note, event.actor_user) == ("completed", "Shipped by DHL", staff)
    # and a completed order offers no move (a refund of its payment, on the payment's page, refunds it); a second
    # completion, or refunded posted by hand, is refused with a message
    assert client.get(f"{ORDERS}{order.pk}/change/").context["order_moves"] == []
    response = client.post(f"{ORDERS}{order.pk}/move/", {"status": "refunded"}, follow=True)
    assert "Choose what the order becomes." in messages_of(response)
    response = client.post(f"{ORDERS}{order.pk}/move/", {"status": "completed"}, follow=True)
    assert "A completed order cannot become completed." in messages_of(response)


# --- coupons and shipping methods ---------------------------------------------------------------------------
COUPONS = "/admin/orders/coupon/"
METHODS = "/admin/orders/shippingmethod/"


def coupon_form(store, **values) -> dict:
    return {"store": store.pk, "code": "SPRING", "kind": "percent", "value": "15", "is_active": "on",
            "min_subtotal": "", "starts_at_0": "", "starts_at_1": "", "ends_at_0": "", "ends_at_1": "",
            "usage_limit": "", "usage_limit_per_customer": "", **values}


def test_a_coupon_added_in_the_admin_is_created_by_the_service_and_audited_once(store, admin_login):
    client = admin_login(store.owner)

    response = client.post(f"{COUPONS}add/", coupon_form(store, usage_limit="100"))

    assert response.status_code == 302
    coupon = Coupon.objects.get(store=store)
    assert (coupon.code, coupon.kind, coupon.value, coupon.usage_limit) == ("SPRING", "percent", 15, 100)
    assert list(AuditLog.objects.values_list("action", flat=True)) == ["coupon.created"]


def test_the_coupon_form_reports_the_service_rules(store_factory, admin_login):
    store = store_factory(name="Dollars", slug="dollars", currency="USD")
    Coupon.objects.create(store=store, code="Spring", kind="percent", value=Decimal("5"))
    client = admin_login(store.owner)
    cases = [
        ({"code": "SPRING"}, "code", "already used"),  # another case of a taken code
        ({"value": "120"}, "value", "at most 100"),
        ({"kind": "fixed", "value": "1.005", "code": "FIVE"}, "value", "2 decimal places"),
        ({"code": "LATE", "starts_at_0": "2030-01-02", "starts_at_1": "10:00", "ends_at_0": "2030-01-01",
          "ends_at_1": "10:00"}, "ends_at", "after"),
    ]
    for values, field, problem in cases:
        response = client.post(f"{COUPONS}add/", coupon_form(store, **values))
        assert response.status_code == 200, values
        errors = response.context["adminform"].form.errors
        assert problem in " ".join(errors.get(field, [])), (values, errors)
    assert Coupon.objects.count() == 1 and not AuditLog.objects.exists()


def test_a_coupon_changed_in_the_admin_is_updated_by_the_service(store, admin_login):
    coupon = services.coupon_create(store=store, code="TEN", kind="percent", value=Decimal("10"))
    client = admin_login(store.owner)
    data = coupon_form(store, code="TEN", value="12.5")
    del data["store"]

    response = client.post(f"{COUPONS}{coupon.pk}/change/", data)

    assert response.status_code == 302
    assert Coupon.objects.get(pk=coupon.pk).value == Decimal("12.5")
    entry = AuditLog.objects.get(action="coupon.updated")
    assert entry.changes == {"value": ["10.000", "12.5"]}
    assert not AuditLog.objects.filter(action__startswith="admin.").exists()
    # deleting goes through the service too
    client.post(f"{COUPONS}{coupon.pk}/delete/", {"post": "yes"})
    assert not Coupon.objects.exists()
    assert AuditLog.objects.filter(action="coupon.deleted").count() == 1


def test_shipping_methods_are_added_and_changed_through_the_service(store_factory, admin_login):
    store = store_factory(name="Dinar", slug="dinar", currency="LYD")
    client = admin_login(store.owner)
    form = {"store": store.pk, "name": "Courier", "price": "7.5", "free_above": "100", "is_active": "on",
            "position": "0"}
    # a price with more places than the currency has is refused on the form
    response = client.post(f"{METHODS}add/", {**form, "price": "7.5001"})
    assert response.status_code == 200 and "price" in response.context["adminform"].form.errors
    response = client.post(f"{METHODS}add/", form)
    assert response.status_code == 302
    method = ShippingMethod.objects.get(store=store)
    assert (method.price, method.free_above) == (Decimal("7.5"), Decimal("100"))
    # the list shows the money with the currency's places
    assert "7.500 LYD" in client.get(METHODS).content.decode()

    response = client.post(f"{METHODS}{method.pk}/change/", {**form, "name": "Courier (2 days)", "is_active": ""})
    assert response.status_code == 302
    method.refresh_from_db()
    assert (method.name, method.is_active) == ("Courier (2 days)", False)
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "shipping_method.created", "shipping_method.updated"]
    assert AuditLog.objects.get(action="shipping_method.updated").changes == {
        "name": ["Courier", "Courier (2 days)"], "is_active": [True, False]}


def test_a_refusal_at_save_time_shows_on_the_form(store, admin_login, monkeypatch):
    # given a code another request takes between the form's check and the insert
    client = admin_login(store.owner)
    real_create = services.coupon_create

    def racing_create(**kwargs):
        real_create(store=store, code="RACE", kind="percent", value=Decimal("5"))
        return real_create(**kwargs)

    monkeypatch.setattr(services, "coupon_create", racing_create)
    # when
    response = client.post(f"{COUPONS}add/", coupon_form(store, code="race"))
    # then the form again with the service's answer, and nothing saved by this request
    assert response.status_code == 200
    assert "already used" in " ".join(response.context["adminform"].form.errors["code"])
    assert not Coupon.objects.exists()


@pytest.mark.parametrize("currency, price, free_above, minimum", [
    ("USD", "5.00", "50.00", "20.00"), ("LYD", "5.000", "50.000", "20.000")])
def test_shipping_and_coupon_forms_show_amounts_with_the_currency_places(store_factory, admin_login, currency, price,
                                                                         free_above, minimum):
    # given amounts kept in the three-place columns
    store = store_factory(currency=currency)
    method = services.shipping_method_create(store=store, name="Courier", price=Decimal("5"),
                                             free_above=Decimal("50"))
    coupon = services.coupon_create(store=store, code="TAKE5", kind="fixed", value=Decimal("5"),
                                    min_subtotal=Decimal("20"))
    client = admin_login(store.owner)
    # when their pages are opened
    method_page = client.get(f"{METHODS}{method.pk}/change/").content.decode()
    coupon_page = client.get(f"{COUPONS}{coupon.pk}/change/").content.decode()
    # then the inputs carry the currency's places
    assert f'name="price" value="{price}"' in method_page
    assert f'name="free_above" value="{free_above}"' in method_page
    assert f'name="value" value="{price}"' in coupon_page
    assert f'name="min_subtotal" value="{minimum}"' in coupon_page
    # and saving the page as shown changes nothing
    before = AuditLog.objects.count()
    form = {"store": store.pk, "name": "Courier", "price": price, "free_above": free_above, "is_active": "on",
            "position": "0"}
    assert client.post(f"{METHODS}{method.pk}/change/", form).status_code == 302
    assert AuditLog.objects.count() == before
