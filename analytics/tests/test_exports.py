"""Exports: streamed answers (GET exports/{type}) and files a worker writes (POST exports, GET exports/{id})."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from analytics.models import Export
from analytics.services import exports_purge, exports_storage
from auditlog.models import AuditLog
from notifications.models import Notification

from .conftest import refund

pytestmark = pytest.mark.django_db


def url(store, suffix) -> str:
    return f"/api/v1/stores/{store.slug}/exports{suffix}"


def body(response) -> str:
    assert response.streaming, "an export is streamed"
    return b"".join(response.streaming_content).decode()


def rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


def test_products_as_csv_for_any_member(store, product_factory, member_factory, client_for):
    product_factory(store=store, name="Plain Tee", variants=2, price=Decimal("10.00"), stock_quantity=4)
    product_factory(store=store, name="=HYPERLINK(\"http://evil\")", brand="@risk")
    viewer = client_for(member_factory(store, "viewer"))
    response = viewer.get(url(store, "/products"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="products-alpha-')
    found = rows(response)
    assert [row["name"] for row in found] == ["Plain Tee", "'=HYPERLINK(\"http://evil\")"]
    assert found[1]["brand"] == "'@risk"
    assert (found[0]["price"], found[0]["variants"], found[0]["stock_quantity"]) == ("10.00", "2", "8")
    assert AuditLog.objects.filter(store=store, action="export.downloaded").count() == 1


def test_orders_as_csv_and_json(store, make_variant, sell, member_factory, client_for):
    store.timezone = "Africa/Tripoli"
    store.save(update_fields=["timezone"])
    tee = make_variant(price="20.00", stock=10, product_name="Tee")
    mug = make_variant(price="1.00", stock=10, product_name="Mug")
    order = sell((tee, 2), (mug, 1), email="+1@example.com")
    refund(order, "5.00")
    staff = client_for(member_factory(store, "staff"))
    [row] = rows(staff.get(url(store, "/orders")))
    assert row["number"] == order.number and row["email"] == "'+1@example.com"
    assert (row["total"], row["refunded"], row["items"], row["payment_status"]) == ("41.00", "5.00", "3",
                                                                                  "partially_refunded")
    assert row["lines"] == f"{tee.sku} × 2; {mug.sku} × 1"
    assert row["created_at"].endswith("+02:00")  # the store's time
    assert json.loads(row["shipping_address"]) == {"line1": "1 Main St", "city": "Tripoli"}
    response = staff.get(url(store, "/orders?format=json"))
    assert response["Content-Type"] == "application/json"
    data = json.loads(body(response))
    assert data["success"] is True and "timestamp" in data
    [item] = data["data"]
    assert item["lines"][0] == {"sku": tee.sku, "name": "Tee", "quantity": 2, "unit_price": "20.00",
                                "line_total": "40.00"}
    assert item["email"] == "+1@example.com"  # JSON is not a spreadsheet: as it is


def test_customers_and_inventory(store, make_variant, sell, client_for):
    tee = make_variant(price="10.00", stock=3, product_name="Tee")
    sell((tee, 1), email="Ann@example.com")
    sell((tee, 1), email="ann@example.com", paid=False)
    sell((tee, 1), email="bob@example.com", at=timezone.now() - timedelta(days=3))
    owner = client_for(store.owner)
    customers = rows(owner.get(url(store, "/customers")))
    assert [(row["email"], row["orders"], row["paid_orders"], row["spent"], row["registered"]) for row in customers] \
        == [("ann@example.com", "2", "1", "10.00", "false"), ("bob@example.com", "1", "1", "10.00", "false")]
    [variant] = json.loads(body(owner.get(url(store, "/inventory?format=json"))))["data"]
    assert (variant["sku"], variant["stock_quantity"], variant["reserved"], variant["available"],
            variant["low_stock"]) == (tee.sku, 3, 3, 0, True)


def test_orders_and_customers_need_orders_manage(store, member_factory, client_for):
    viewer = client_for(member_factory(store, "viewer"))
    for kind in ("orders", "customers"):
        response = viewer.get(url(store, f"/{kind}"))
        assert response.status_code == 403 and response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert viewer.get(url(store, "/inventory")).status_code == 200
    assert client_for(store.owner).get(url(store, "/orders?format=xml")).status_code == 400


def test_exports_are_for_members_only(api, store, user_factory, client_for):
    assert api.get(url(store, "/products")).status_code == 401
    assert client_for(user_factory()).get(url(store, "/products")).status_code == 404


# --- a worker writes the file ------------------------------------------------------
def test_a_worker_writes_the_export_and_notifies_the_member(store, make_variant, sell, member_factory, client_for,
                                                            django_capture_on_commit_callbacks):
    # given
    sell((make_variant(price="3.00", stock=5), 1))
    staff = member_factory(store, "staff", email="staff@example.com")
    client = client_for(staff)
    # when the staff member asks for the orders as CSV (the worker runs inline)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(store, ""), {"type": "orders"}, format="json")
    # then
    assert response.status_code == 202, response.json()
    export = Export.objects.get(pk=response.json()["data"]["id"])
    assert (export.status, export.rows, export.requested_by) == ("done", 1, staff)
    answer = client.get(url(store, f"/{export.pk}")).json()["data"]
    assert (answer["status"], answer["rows"], answer["type"], answer["format"]) == ("done", 1, "orders", "csv")
    assert answer["url"].startswith(f"http://testserver/api/v1/stores/alpha/exports/{export.pk}/download?token=")
    # the file is in the exports storage, and the link serves it to whoever holds it
    with exports_storage().open(export.file) as stored:
        assert stored.read().decode().startswith("number,created_at,status")
    from rest_framework.test import APIClient

    download = APIClient().get(answer["url"].removeprefix("http://testserver"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).decode().count("\n") == 2
    assert download["Content-Disposition"].startswith('attachment; filename="orders-alpha-')
    # the member who asked is told, in the app and by email, with the link
    note = Notification.objects.get(user=staff, event_type="export.ready")
    assert note.data["url"].startswith("http://testserver/") and note.data["rows"] == 1
    assert [message.to for message in mail.outbox if "export" in message.subject] == [["staff@example.com"]]
    assert AuditLog.objects.filter(store=store, action="export.requested").count() == 1


def test_a_forged_or_old_link_is_refused(store, client_for, django_capture_on_commit_callbacks, api):
    from django.core import signing

    with django_capture_on_commit_callbacks(execute=True):
        export_id = client_for(store.owner).post(url(store, ""), {"type": "products", "format": "json"},
                                                 format="json").json()["data"]["id"]
    base = url(store, f"/{export_id}/download")
    assert api.get(base).status_code == 403
    assert api.get(base + "?token=forged").status_code == 403
    other = signing.dumps({"export": export_id + 1, "store": store.pk}, salt="analytics.export.download")
    assert api.get(f"{base}?token={other}").status_code == 403
    with pytest.MonkeyPatch.context() as patch:  # a link made a day and a second ago
        moment = timezone.now().timestamp() - 24 * 3600 - 1
        patch.setattr("time.time", lambda: moment)
        stale = signing.dumps({"export": export_id, "store": store.pk}, salt="analytics.export.download",
                              compress=True)
    assert api.get(f"{base}?token={stale}").status_code == 403


def test_a_viewer_may_not_export_orders_nor_see_their_exports(store, member_factory, client_for,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        owners = client_for(store.owner).post(url(store, ""), {"type": "customers"}, format="json")
    viewer = client_for(member_factory(store, "viewer"))
    assert viewer.post(url(store, ""), {"type": "orders"}, format="json").status_code == 403
    assert viewer.get(url(store, f"/{owners.json()['data']['id']}")).status_code == 404
    assert viewer.get(url(store, "")).json()["pagination"]["total"] == 0
    assert client_for(store.owner).get(url(store, "")).json()["pagination"]["total"] == 1
    assert viewer.post(url(store, ""), {"type": "bills"}, format="json").status_code == 400


def test_a_second_delivery_of_the_task_does_nothing(store, client_for, django_capture_on_commit_callbacks):
    from analytics.services import export_run

    with django_capture_on_commit_callbacks(execute=True):
        export_id = client_for(store.owner).post(url(store, ""), {"type": "inventory"},
                                                 format="json").json()["data"]["id"]
    assert export_run(export_id=export_id) is None
    assert Notification.objects.filter(event_type="export.ready").count() == 1


def test_old_exports_and_their_files_are_purged(settings, store, client_for, django_capture_on_commit_callbacks):
    settings.EXPORT_RETENTION_DAYS = 7
    with django_capture_on_commit_callbacks(execute=True):
        export_id = client_for(store.owner).post(url(store, ""), {"type": "products"},
                                                 format="json").json()["data"]["id"]
    name = Export.objects.get(pk=export_id).file
    assert exports_storage().exists(name)
    assert exports_purge(now=timezone.now() + timedelta(days=6)) == 0
    assert exports_purge(now=timezone.now() + timedelta(days=8)) == 1
    assert not exports_storage().exists(name) and not Export.objects.exists()
