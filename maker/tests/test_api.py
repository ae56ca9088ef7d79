"""Maker services through the API: a model uploaded by signed URL, checked, measured, quoted, bought and printed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from catalog.models import InventoryMovement
from maker.models import Material, Quote, ServiceOrder, Upload
from orders.models import Cart, Order, OrderLine
from payments.models import Payment

from .models3d import box_triangles, obj_text, stl_ascii, stl_binary, threemf

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


@pytest.fixture
def material(store):
    return Material.objects.create(store=store, name="PLA", price_per_cm3=Decimal("0.50"), setup_fee=Decimal("5.00"),
                                   machine_hourly_rate=Decimal("3.00"), standard_minutes_per_cm3=Decimal("2"))


def sign(api, store, data: bytes, filename: str = "part.stl"):
    return api.post(f"/api/v1/stores/{store.slug}/uploads/sign", {"filename": filename, "size": len(data)},
                    format="json")


def upload_model(api, store, data: bytes, filename: str = "part.stl", *, captured=None):
    """sign → PUT the bytes to the signed URL → complete; answers complete's response."""
    signed = sign(api, store, data, filename)
    assert signed.status_code == 201, signed.json()
    answer = signed.json()["data"]
    assert answer["method"] == "PUT" and answer["headers"]["Content-Length"] == str(len(data))
    put = api.put(answer["url"], data=data, content_type="application/octet-stream")
    assert put.status_code == 200, put.json()
    upload_id = answer["upload"]["id"]
    if captured is not None:
        with captured(execute=True):
            return api.post(f"/api/v1/stores/{store.slug}/uploads/{upload_id}/complete", format="json")
    return api.post(f"/api/v1/stores/{store.slug}/uploads/{upload_id}/complete", format="json")


def test_a_real_stl_goes_from_upload_to_a_printed_order(api, store, material, client_for,
                                                        django_capture_on_commit_callbacks):
    # given a 20 mm cube as a binary STL (8 cm³), made here
    stl = stl_binary(box_triangles(20))
    # when it is uploaded through the signed URL and completed (the worker runs on commit, inline)
    response = upload_model(api, store, stl, captured=django_capture_on_commit_callbacks)
    # then it was parsed and measured
    assert response.status_code == 202, response.json()
    upload = Upload.objects.get()
    assert (upload.status, upload.format, upload.size) == ("ready", "stl", len(stl))
    assert upload.volume_cm3 == Decimal("8.0000") and upload.triangle_count == 12
    assert (upload.size_x_mm, upload.size_y_mm, upload.size_z_mm) == (Decimal(20), Decimal(20), Decimal(20))
    shown = api.get(f"/api/v1/stores/{store.slug}/uploads/{upload.pk}").json()["data"]
    assert shown["status"] == "ready" and shown["volume_cm3"] == "8.0000"
    assert shown["bounding_box_mm"] == {"x": "20.000", "y": "20.000", "z": "20.000"}

    # when 3 are quoted in PLA at standard quality
    quoted = api.post(f"/api/v1/stores/{store.slug}/quotes",
                      {"upload": str(upload.pk), "material": material.pk, "quality": "standard", "quantity": 3},
                      format="json")
    # then (8 × 0.50 + 8 × 2/60 h × 3.00) × 3 + 5.00 setup = (4.00 + 0.80) × 3 + 5.00
    assert quoted.status_code == 201, quoted.json()
    quote = quoted.json()["data"]
    assert quote["breakdown"] == {"volume_cm3": "8.0000", "machine_hours": "0.2667", "material_cost": "4.00",
                                  "machine_cost": "0.80", "unit_price": "4.80", "quantity": 3, "setup_fee": "5.00"}
    assert (quote["total"], quote["currency"], quote["ordered"]) == ("19.40", "USD", False)

    # when the quote goes into a cart beside a catalog product, and the cart is checked out cash on delivery
    cart = api.post(f"/api/v1/stores/{store.slug}/carts", {}, format="json").json()["data"]
    added = api.post(f"/api/v1/stores/{store.slug}/carts/{cart['id']}/quotes", {"quote": quote["id"]}, format="json")
    assert added.status_code == 201, added.json()
    line = added.json()["data"]["lines"][0]
    assert (line["variant"], line["reference"], line["unit_price"], line["quantity"]) == (
        None, f"quote:{quote['id']}", "19.40", 1)
    assert line["name"] == "3D print: part.stl, PLA, standard, × 3"
    assert added.json()["data"]["total"] == "19.40"
    with django_capture_on_commit_callbacks(execute=True):
        placed = api.post(f"/api/v1/stores/{store.slug}/checkout",
                          {"cart": cart["id"], "email": "maker@example.com", "shipping_address": ADDRESS,
                           "payment_method": "cod"}, format="json")
    # then an order with the quoted line, no stock taken, a pending cash payment and a queued print job
    assert placed.status_code == 201, placed.json()
    order_data = placed.json()["data"]
    assert (order_data["status"], order_data["total"]) == ("processing", "19.40")
    [order_line] = order_data["lines"]
    assert (order_line["reference"], order_line["sku"], order_line["variant"], order_line["total"]) == (
        f"quote:{quote['id']}", f"quote:{quote['id']}", None, "19.40")
    assert order_line["service"]["status"] == "queued" and order_line["service"]["quantity"] == 3
    order = Order.objects.get()
    assert Payment.objects.get(order=order).amount == Decimal("19.40")
    assert not InventoryMovement.objects.filter(order=order).exists()
    assert not Cart.objects.filter(pk=cart["id"]).exists()
    job = ServiceOrder.objects.get()
    assert (job.order_id, job.order_line_id, job.status) == (order.pk, order_line["id"], "queued")
    assert Quote.objects.get().ordered_at is not None

    # when the merchant moves the print job along
    owner = client_for(store.owner)
    jobs = f"/api/v1/stores/{store.slug}/service-orders"
    assert owner.get(jobs).json()["data"][0]["order"] == order.number
    for status in ("printing", "shipped"):
        moved = owner.post(f"{jobs}/{job.pk}/status", {"status": status}, format="json")
        assert moved.status_code == 200, moved.json()
    # then the order shows it, and each move is audited
    shown = owner.get(f"/api/v1/stores/{store.slug}/orders/{order.number}").json()["data"]
    assert shown["lines"][0]["service"]["status"] == "shipped"
    assert list(AuditLog.objects.filter(action="maker.service_order.status_changed").order_by("id")
                .values_list("changes__status", flat=True)) == [["queued", "printing"], ["printing", "shipped"]]
    # and shipped is the end
    again = owner.post(f"{jobs}/{job.pk}/status", {"status": "printing"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_TRANSITION"


@pytest.mark.parametrize("maker, expected", [(stl_ascii, "stl"), (obj_text, "obj"), (threemf, "3mf")])
def test_ascii_stl_obj_and_3mf_are_read_by_their_content_not_their_name(api, store, maker, expected,
                                                                        django_capture_on_commit_callbacks):
    # given a 10 mm cube, named as something else entirely
    data = maker(box_triangles(10))
    # when
    response = upload_model(api, store, data, filename="photo.jpg", captured=django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 202, response.json()
    upload = Upload.objects.get()
    assert (upload.status, upload.format, upload.triangle_count) == ("ready", expected, 12)
    assert upload.volume_cm3 == Decimal("1.0000")


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + bytes(200),
    b"solid nothing\nthis is not a mesh\nendsolid\n",
    b"just some text\nwith lines\n",
    b"PK\x03\x04 not really a zip",
])
def test_a_file_that_is_not_a_model_is_refused(api, store, data):
    # when something that is not STL, OBJ or 3MF is uploaded as part.stl
    response = upload_model(api, store, data)
    # then
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"]["file"]
    upload = Upload.objects.get()
    assert upload.status == "rejected" and upload.error


def test_an_open_mesh_is_rejected_by_the_worker(api, store, material, django_capture_on_commit_callbacks):
    # given a box without its top: it parses, but it has no volume
    response = upload_model(api, store, stl_binary(box_triangles(10, open_top=True)),
                            captured=django_capture_on_commit_callbacks)
    # then complete accepts it and the analysis rejects it, saying why
    assert response.status_code == 202
    data = api.get(f"/api/v1/stores/{store.slug}/uploads/{response.json()['data']['id']}").json()["data"]
    assert data["status"] == "rejected" and "watertight" in data["error"]
    assert data["triangle_count"] == 10 and data["volume_cm3"] is None
    quoted = api.post(f"/api/v1/stores/{store.slug}/quotes",
                      {"upload": data["id"], "material": material.pk, "quality": "draft", "quantity": 1},
                      format="json")
    assert quoted.status_code == 400 and "upload" in quoted.json()["error"]["details"]


def test_the_size_limit_holds_on_signing_the_put_and_complete(api, store, settings):
    settings.MAKER_UPLOAD_MAX_BYTES = 1000
    # signing more than the limit
    response = sign(api, store, bytes(1001))
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert not Upload.objects.exists()
    # a PUT of more bytes than declared
    signed = sign(api, store, bytes(684)).json()["data"]
    put = api.put(signed["url"], data=bytes(900), content_type="application/octet-stream")
    assert put.status_code == 413
    # a body over the limit is refused before the view reads it
    put = api.put(signed["url"], data=bytes(1200), content_type="application/octet-stream")
    assert put.status_code == 413 and put.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    # a file stored under the limit at signing, over it at complete (the limit was lowered meanwhile)
    stl = stl_binary(box_triangles(10))
    signed = sign(api, store, stl).json()["data"]
    assert api.put(signed["url"], data=stl, content_type="application/octet-stream").status_code == 200
    settings.MAKER_UPLOAD_MAX_BYTES = 100
    completed = api.post(f"/api/v1/stores/{store.slug}/uploads/{signed['upload']['id']}/complete", format="json")
    assert completed.status_code == 413
    assert Upload.objects.get(pk=signed["upload"]["id"]).status == "rejected"


def test_the_local_upload_url_needs_its_own_valid_token(api, store, settings):
    stl = stl_binary(box_triangles(10))
    first = sign(api, store, stl).json()["data"]
    second = sign(api, store, stl).json()["data"]
    token_of_second = second["url"].split("?token=")[1]
    base = first["url"].split("?")[0]
    # another upload's token, no token, a forged one
    for url in (f"{base}?token={token_of_second}", base, f"{base}?token=forged"):
        response = api.put(url, data=stl, content_type="application/octet-stream")
        assert response.status_code == 403, url
    # complete before any PUT
    response = api.post(f"/api/v1/stores/{store.slug}/uploads/{first['upload']['id']}/complete", format="json")
    assert response.status_code == 400 and response.json()["error"]["details"]["file"]


def ready_quote(api, store, material, captured, *, quantity: int = 1) -> dict:
    response = upload_model(api, store, stl_binary(box_triangles(10)), captured=captured)
    assert response.status_code == 202, response.json()
    quoted = api.post(f"/api/v1/stores/{store.slug}/quotes",
                      {"upload": response.json()["data"]["id"], "material": material.pk, "quality": "draft",
                       "quantity": quantity}, format="json")
    assert quoted.status_code == 201, quoted.json()
    return quoted.json()["data"]


def cart_with_quote(api, store, quote) -> str:
    cart = api.post(f"/api/v1/stores/{store.slug}/carts", {}, format="json").json()["data"]["id"]
    response = api.post(f"/api/v1/stores/{store.slug}/carts/{cart}/quotes", {"quote": quote["id"]}, format="json")
    assert response.status_code == 201, response.json()
    return cart


def test_an_expired_quote_is_refused_at_checkout_and_leaves_nothing(api, store, material,
                                                                    django_capture_on_commit_callbacks):
    # given a quote in a cart, which then expires
    quote = ready_quote(api, store, material, django_capture_on_commit_callbacks)
    cart = cart_with_quote(api, store, quote)
    Quote.objects.filter(pk=quote["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    # when the cart is checked out
    response = api.post(f"/api/v1/stores/{store.slug}/checkout",
                        {"cart": cart, "email": "maker@example.com", "shipping_address": ADDRESS,
                         "payment_method": "cod"}, format="json")
    # then it is refused, saying why, and nothing was placed
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["cart"] == ["3D print: part.stl, PLA, draft, × 1: This quote has expired; ask for a "
                                        "new quote."]
    assert not Order.objects.exists() and not OrderLine.objects.exists() and not ServiceOrder.objects.exists()
    assert Quote.objects.get().ordered_at is None
    # and the cart, looked at, drops the line and says so
    shown = api.get(f"/api/v1/stores/{store.slug}/carts/{cart}").json()["data"]
    assert shown["lines"] == [] and "expired" in shown["messages"][0]
    # and an expired quote cannot go into a cart
    other = api.post(f"/api/v1/stores/{store.slug}/carts", {}, format="json").json()["data"]["id"]
    refused = api.post(f"/api/v1/stores/{store.slug}/carts/{other}/quotes", {"quote": quote["id"]}, format="json")
    assert refused.status_code == 400


def test_a_quote_is_bought_once(api, store, material, django_capture_on_commit_callbacks):
    # given one quote in two carts
    quote = ready_quote(api, store, material, django_capture_on_commit_callbacks)
    first, second = cart_with_quote(api, store, quote), cart_with_quote(api, store, quote)
    body = {"email": "maker@example.com", "shipping_address": ADDRESS, "payment_method": "cod"}
    # when both are checked out
    assert api.post(f"/api/v1/stores/{store.slug}/checkout", {**body, "cart": first}, format="json").status_code == 201
    response = api.post(f"/api/v1/stores/{store.slug}/checkout", {**body, "cart": second}, format="json")
    # then the second is refused
    assert response.status_code == 400
    assert "already been ordered" in response.json()["error"]["details"]["cart"][0]
    assert Order.objects.count() == 1 and ServiceOrder.objects.count() == 1


def test_a_quoted_line_keeps_its_quantity(api, store, material, django_capture_on_commit_callbacks):
    quote = ready_quote(api, store, material, django_capture_on_commit_callbacks, quantity=2)
    cart = cart_with_quote(api, store, quote)
    line_id = api.get(f"/api/v1/stores/{store.slug}/carts/{cart}").json()["data"]["lines"][0]["id"]
    response = api.patch(f"/api/v1/stores/{store.slug}/carts/{cart}/items/{line_id}", {"quantity": 5}, format="json")
    assert response.status_code == 400
    assert api.delete(f"/api/v1/stores/{store.slug}/carts/{cart}/items/{line_id}").status_code == 200


def test_another_stores_upload_and_quote_are_not_found(api, store, other_store, material,
                                                       django_capture_on_commit_callbacks):
    quote = ready_quote(api, store, material, django_capture_on_commit_callbacks)
    upload = quote["upload"]
    beta = f"/api/v1/stores/{other_store.slug}"
    beta_material = Material.objects.create(store=other_store, name="PETG", price_per_cm3=Decimal("1"))
    assert api.get(f"{beta}/uploads/{upload}").status_code == 404
    assert api.post(f"{beta}/uploads/{upload}/complete", format="json").status_code == 404
    assert api.get(f"{beta}/quotes/{quote['id']}").status_code == 404
    quoted = api.post(f"{beta}/quotes", {"upload": upload, "material": beta_material.pk, "quality": "draft",
                                         "quantity": 1}, format="json")
    assert quoted.status_code == 404
    cart = api.post(f"{beta}/carts", {}, format="json").json()["data"]["id"]
    assert api.post(f"{beta}/carts/{cart}/quotes", {"quote": quote["id"]}, format="json").status_code == 404
    # and a material of another store cannot price this store's upload
    other_material = api.post(f"/api/v1/stores/{store.slug}/quotes",
                              {"upload": upload, "material": beta_material.pk, "quality": "draft", "quantity": 1},
                              format="json")
    assert other_material.status_code == 400 and "material" in other_material.json()["error"]["details"]


def test_a_signed_in_customers_upload_is_theirs_only(client_for, user_factory, api, store):
    alice, bob = client_for(user_factory()), client_for(user_factory())
    upload = sign(alice, store, bytes(100)).json()["data"]["upload"]["id"]
    assert alice.get(f"/api/v1/stores/{store.slug}/uploads/{upload}").status_code == 200
    assert bob.get(f"/api/v1/stores/{store.slug}/uploads/{upload}").status_code == 404
    assert api.get(f"/api/v1/stores/{store.slug}/uploads/{upload}").status_code == 404


def test_materials_are_listed_for_storefronts(api, store, material):
    Material.objects.create(store=store, name="Retired", price_per_cm3=Decimal("1"), is_active=False)
    response = api.get(f"/api/v1/stores/{store.slug}/materials")
    assert response.status_code == 200
    assert [(item["name"], item["price_per_cm3"], item["minutes_per_cm3"]["standard"])
            for item in response.json()["data"]] == [("PLA", "0.50", "2.000")]


def test_a_print_job_moves_only_for_an_order_taken_on(api, store, material, client_for,
                                                      django_capture_on_commit_callbacks, member_factory):
    quote = ready_quote(api, store, material, django_capture_on_commit_callbacks)
    cart = cart_with_quote(api, store, quote)
    with django_capture_on_commit_callbacks(execute=True):
        number = api.post(f"/api/v1/stores/{store.slug}/checkout",
                          {"cart": cart, "email": "maker@example.com", "shipping_address": ADDRESS,
                           "payment_method": "cod"}, format="json").json()["data"]["number"]
    job = ServiceOrder.objects.get()
    jobs = f"/api/v1/stores/{store.slug}/service-orders"
    # a viewer reads but may not move; a stranger does not see it
    viewer = client_for(member_factory(store, "viewer"))
    assert viewer.get(f"{jobs}/{job.pk}").status_code == 200
    assert viewer.post(f"{jobs}/{job.pk}/status", {"status": "printing"}, format="json").status_code == 403
    assert api.get(jobs).status_code == 401
    # queued cannot jump to shipped
    owner = client_for(store.owner)
    response = owner.post(f"{jobs}/{job.pk}/status", {"status": "shipped"}, format="json")
    assert response.status_code == 409
    # a cancelled order's job does not move
    assert owner.post(f"/api/v1/stores/{store.slug}/orders/{number}/status", {"status": "cancelled"},
                      format="json").status_code == 200
    response = owner.post(f"{jobs}/{job.pk}/status", {"status": "printing"}, format="json")
    assert response.status_code == 409 and "cancelled" in response.json()["error"]["message"]
    job.refresh_from_db()
    assert job.status == "queued"


def test_completing_again_while_processing_queues_the_analysis_again(api, store, django_capture_on_commit_callbacks):
    # given an upload whose analysis task was lost (its on-commit enqueue never ran)
    response = upload_model(api, store, stl_binary(box_triangles(10)))
    assert response.status_code == 202 and response.json()["data"]["status"] == "processing"
    upload_id = response.json()["data"]["id"]
    # when the client completes it again
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"/api/v1/stores/{store.slug}/uploads/{upload_id}/complete", format="json")
    # then it is analysed
    assert again.status_code == 202
    assert Upload.objects.get(pk=upload_id).status == "ready"
