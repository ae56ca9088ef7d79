"""The order endpoints: who sees which order, the merchant's list and transitions, cancel, reorder, events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import InventoryMovement
from orders import services
from orders.models import Order
from orders.selectors import _payment_readers, order_payment_reader_register
from tests.envelopes import data, error

pytestmark = pytest.mark.django_db


@pytest.fixture
def order_of(store, cart_with):
    """An order of ``(variant, quantity)`` pairs placed as checkout places it, pending unless told."""

    def make(*pairs, status="pending", user=None, email="buyer@example.com", store=store):
        cart = cart_with(*pairs, user=user, store=store)
        return services.order_place(store=store, cart=cart, email=email, customer_name="Buyer",
                                    shipping_address={"city": "Benghazi"}, payment_method="cod",
                                    initial_status=status, user=user, actor=user)

    return make


def test_the_order_answer_has_the_contracts_shape(owner_api, base, make_variant, order_of):
    # given
    order = order_of((make_variant(price="12.50", stock=4, name="Blue"), 2))
    # when
    response = owner_api.get(f"{base}/orders/{order.number}")
    # then
    assert response.status_code == 200
    answer = data(response)
    assert set(answer) >= {"id", "number", "status", "payment_status", "email", "customer_name", "lines", "subtotal",
                           "discount", "shipping", "tax", "tax_included", "total", "currency", "coupon_code",
                           "shipping_method", "shipping_address", "billing_address", "payment_method", "payment",
                           "created_at", "updated_at"}
    assert set(answer["lines"][0]) == {"id", "variant", "product", "product_name", "variant_name", "sku", "options",
                                       "unit_price", "quantity", "tax", "total", "reference", "service"}
    assert (answer["lines"][0]["reference"], answer["lines"][0]["service"]) == (None, None)  # a catalog line
    assert (answer["number"], answer["status"], answer["subtotal"], answer["total"]) == (
        order.number, "pending", "25.00", "25.00")
    assert answer["lines"][0]["unit_price"] == "12.50" and answer["payment"] is None


def test_the_payment_comes_from_the_reader_payments_registers(owner_api, base, make_variant, order_of):
    # given
    order = order_of((make_variant(stock=4), 1))

    def reader(order_ids):
        return {order_id: {"id": 7, "gateway": "cod", "status": "pending", "amount": "10.00"} for order_id in order_ids}

    order_payment_reader_register(reader)
    try:
        # when
        one = data(owner_api.get(f"{base}/orders/{order.number}"))
        listed = data(owner_api.get(f"{base}/orders"))
    finally:
        _payment_readers.remove(reader)
    # then
    assert one["payment"] == {"id": 7, "gateway": "cod", "status": "pending", "amount": "10.00"}
    assert listed[0]["payment"]["gateway"] == "cod"


def test_who_sees_an_order(api, base, store, make_variant, order_of, user_factory, client_for, member_factory):
    # given
    customer = user_factory()
    order = order_of((make_variant(stock=5), 1), user=customer, email="Buyer@Example.com")
    guest_order = order_of((make_variant(stock=5), 1))
    url, guest_url = f"{base}/orders/{order.number}", f"{base}/orders/{guest_order.number}"
    # when / then: members, the customer, a guest by number + email
    assert client_for(member_factory(store, "viewer")).get(url).status_code == 200
    assert client_for(customer).get(url).status_code == 200
    assert api.get(guest_url, {"email": "BUYER@example.com"}).status_code == 200
    assert api.get(f"{base}/orders/{guest_order.number.lower().replace('-', '')}",
                   {"email": "buyer@example.com"}).status_code == 200
    # anyone else: 404, as for an order that does not exist
    for response in (api.get(url), api.get(guest_url), api.get(guest_url, {"email": "other@example.com"}),
                     client_for(user_factory()).get(url), api.get(f"{base}/orders/NOPE-NOPE1")):
        assert response.status_code == 404
        assert error(response)["code"] == "NOT_FOUND"


def test_another_stores_member_cannot_see_this_stores_orders(base, make_variant, order_of, other_store, client_for):
    order = order_of((make_variant(stock=5), 1))
    outsider = client_for(other_store.owner)
    assert outsider.get(f"{base}/orders/{order.number}").status_code == 404
    assert data(outsider.get(f"{base}/orders")) == []


def test_members_list_the_stores_orders_with_filters(owner_api, base, make_variant, order_of, store):
    # given
    variant = make_variant(stock=50)
    first = order_of((variant, 1), email="ann@example.com")
    second = order_of((variant, 1), email="bob@example.com", status="processing")
    third = order_of((variant, 1), email="bob@example.com")
    services.order_mark_paid(order=third, actor=store.owner)
    Order.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=10))

    def numbers(**params):
        response = owner_api.get(f"{base}/orders", params)
        assert response.status_code == 200, response.json()
        return [order["number"] for order in data(response)]

    # when / then
    assert numbers() == [third.number, second.number, first.number]
    assert numbers(status="processing") == [third.number, second.number]
    assert numbers(payment_status="paid") == [third.number]
    assert numbers(q="BOB@example.com") == [third.number, second.number]
    assert numbers(q=first.number.lower()) == [first.number]
    cutoff = (timezone.now() - timedelta(days=1)).isoformat()
    assert numbers(created_before=cutoff) == [first.number]
    assert numbers(created_after=cutoff) == [third.number, second.number]
    page = owner_api.get(f"{base}/orders", {"limit": 2}).json()
    assert page["pagination"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2}


@pytest.mark.parametrize("params", [{"status": "lost"}, {"payment_status": "maybe"}, {"created_after": "yesterday"},
                                    {"created_before": "2024-13-45"}, {"q": "x" * 300}])
def test_bad_filters_are_400(owner_api, base, params):
    response = owner_api.get(f"{base}/orders", params)
    assert response.status_code == 400
    assert error(response)["code"] == "VALIDATION_ERROR"


def test_a_customer_lists_their_own_orders_here_and_across_stores(api, base, user, auth_api, make_variant, order_of,
                                                                  other_store):
    # given
    mine = order_of((make_variant(stock=5), 1), user=user)
    order_of((make_variant(stock=5), 1))  # someone else's
    elsewhere = order_of((make_variant(store=other_store, stock=5), 1), user=user, store=other_store)
    # when
    here = data(auth_api.get(f"{base}/orders", {"status": "cancelled"}))  # filters are the merchant's
    everywhere = data(auth_api.get("/api/v1/me/orders"))
    # then
    assert [order["number"] for order in here] == [mine.number]
    assert [order["number"] for order in everywhere] == [elsewhere.number, mine.number]
    assert {order["store"] for order in everywhere} == {"alpha", "beta"}
    assert api.get(f"{base}/orders").status_code == 401
    assert api.get("/api/v1/me/orders").status_code == 401


def test_status_moves_along_the_table_and_completing_sells_the_stock(owner_api, base, make_variant, order_of):
    # given
    variant = make_variant(stock=5)
    order = order_of((variant, 2))
    url = f"{base}/orders/{order.number}/status"
    # when
    processing = owner_api.post(url, {"status": "processing", "note": "packed"})
    illegal = owner_api.post(url, {"status": "pending"})
    completed = owner_api.post(url, {"status": "completed"})
    refunded = owner_api.post(url, {"status": "refunded"})  # only a refund of the payment refunds it
    # then
    assert processing.status_code == 200 and data(processing)["status"] == "processing"
    assert illegal.status_code == 409 and error(illegal)["code"] == "INVALID_TRANSITION"
    assert completed.status_code == 200 and data(completed)["status"] == "completed"
    assert refunded.status_code == 409 and error(refunded)["code"] == "INVALID_TRANSITION"
    assert "payments/{id}/refunds" in error(refunded)["message"]
    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (3, 0)
    events = data(owner_api.get(f"{base}/orders/{order.number}/events"))
    assert [(event["kind"], event["to_status"]) for event in events] == [
        ("created", "pending"), ("status", "processing"), ("status", "completed")]
    assert events[1]["note"] == "packed" and events[1]["actor"] == order.store.owner.email


def test_status_needs_orders_manage(api, base, store, make_variant, order_of, member_factory, client_for):
    order = order_of((make_variant(stock=5), 1))
    url = f"{base}/orders/{order.number}/status"
    viewer = client_for(member_factory(store, "viewer"))
    staff = client_for(member_factory(store, "staff"))
    assert viewer.post(url, {"status": "processing"}).status_code == 403
    assert api.post(url, {"status": "processing"}).status_code == 401
    assert staff.post(url, {"status": "lost"}).status_code == 400
    assert staff.post(url, {"status": "processing"}).status_code == 200


def test_a_guest_cancels_a_pending_order_and_the_stock_is_released(api, base, make_variant, order_of):
    # given
    variant = make_variant(stock=5)
    order = order_of((variant, 2))
    url = f"{base}/orders/{order.number}/cancel"
    # when
    wrong = api.post(url, {"email": "not-me@example.com"})
    cancelled = api.post(url, {"email": "buyer@example.com", "note": "changed my mind"})
    again = api.post(url, {"email": "buyer@example.com"})
    # then
    assert wrong.status_code == 404
    assert cancelled.status_code == 200 and data(cancelled)["status"] == "cancelled"
    assert again.status_code == 409 and error(again)["code"] == "INVALID_TRANSITION"
    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (5, 0)
    assert InventoryMovement.objects.filter(order=order, reason="release").count() == 1


def test_a_customer_cannot_cancel_once_processing_but_the_store_can(auth_api, user, owner_api, base, store,
                                                                    make_variant, order_of, member_factory,
                                                                    client_for):
    order = order_of((make_variant(stock=5), 1), user=user, status="processing")
    url = f"{base}/orders/{order.number}/cancel"
    assert auth_api.post(url).status_code == 409
    assert client_for(member_factory(store, "viewer")).post(url).status_code == 403
    response = owner_api.post(url)
    assert response.status_code == 200 and data(response)["status"] == "cancelled"


def test_reorder_builds_a_new_cart_from_what_is_still_available(api, base, make_variant, order_of):
    # given
    plenty, scarce = make_variant(stock=10), make_variant(stock=3)
    order = order_of((plenty, 2), (scarce, 3))
    services.order_transition(order=order, status="processing")
    services.order_transition(order=order, status="completed")  # scarce: none left
    # when
    response = api.post(f"{base}/orders/{order.number}/reorder", {"email": "buyer@example.com"})
    stranger = api.post(f"{base}/orders/{order.number}/reorder")
    # then
    assert response.status_code == 201, response.json()
    assert [(line["variant"], line["quantity"]) for line in data(response)["lines"]] == [(plenty.pk, 2)]
    assert stranger.status_code == 404


def test_a_guest_reads_events_without_who_acted(api, owner_api, base, make_variant, order_of):
    order = order_of((make_variant(stock=5), 1))
    owner_api.post(f"{base}/orders/{order.number}/status", {"status": "processing"})
    events = data(api.get(f"{base}/orders/{order.number}/events", {"email": "buyer@example.com"}))
    assert [event["to_status"] for event in events] == ["pending", "processing"]
    assert {event["actor"] for event in events} == {None}
    assert api.get(f"{base}/orders/{order.number}/events").status_code == 404


def test_bad_order_input_is_400_never_500(owner_api, api, base, make_variant, order_of):
    order = order_of((make_variant(stock=5), 1))
    url = f"{base}/orders/{order.number}"
    assert owner_api.post(f"{url}/status", {"status": ["processing"]}).status_code == 400
    assert owner_api.post(f"{url}/status", {"status": "processing", "note": "\x00"}).status_code == 400
    assert owner_api.post(f"{url}/status", {}).status_code == 400
    assert api.post(f"{url}/cancel", {"email": {"a": 1}}).status_code == 400
    assert api.get(url, {"email": "x" * 1000}).status_code == 400
    assert api.get(f"{base}/orders/{'9' * 40}").status_code == 404
    assert api.get(f"{base}/orders/%00").status_code == 404


def test_the_whole_flow_over_http_checkout_then_the_guest_follows_the_order(api, owner_api, base, store, make_variant):
    # given
    variant = make_variant(price="8.00", stock=5)
    cart = data(api.post(f"{base}/carts", {"items": [{"variant": variant.pk, "quantity": 2}]}))
    # when
    placed = api.post(f"{base}/checkout", {"cart": cart["id"], "email": "guest@example.com",
                                           "shipping_address": {"city": "Misrata"}, "payment_method": "cod"})
    number = data(placed)["number"] if placed.status_code == 201 else None
    followed = api.get(f"{base}/orders/{number}", {"email": "guest@example.com"})
    listed = owner_api.get(f"{base}/orders", {"status": "processing"})
    # then
    assert placed.status_code == 201, placed.json()
    order = data(followed)
    assert (order["status"], order["payment_status"], order["total"]) == ("processing", "unpaid", "16.00")
    assert order["payment"]["gateway"] == "cod" and order["payment"]["status"] == "pending"
    assert [row["number"] for row in data(listed)] == [number]
    assert data(listed)[0]["payment"]["gateway"] == "cod"
    assert api.get(f"{base}/carts/{cart['id']}").status_code == 404  # checkout used the cart up


def test_a_variant_held_by_an_open_order_cannot_be_deleted_until_the_order_lets_go(owner_api, base, make_variant,
                                                                                   order_of):
    # given a pending order holding 2 units
    variant = make_variant(stock=5)
    order = order_of((variant, 2))
    path = f"{base}/products/{variant.product_id}/variants/{variant.pk}"
    # when the merchant deletes the variant
    refused = owner_api.delete(path)
    # then 409 and the variant, its reservation and its ledger stay
    assert refused.status_code == 409, refused.json()
    assert error(refused)["code"] == "CONFLICT"
    assert InventoryMovement.objects.filter(variant_id=variant.pk, order=order, reason="reserve").exists()
    # once the order is cancelled the variant can go
    services.order_cancel(order=order)
    assert owner_api.delete(path).status_code == 204
