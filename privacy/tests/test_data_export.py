"""Access (API.md "Customers' data rights"): POST /me/data-export → a worker's ZIP in the exports storage, emailed
as a link valid 24 hours; one open export per person."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.consents import consents_set
from analytics.services import exports_storage
from auditlog.security import record_security_event
from auditlog.services import audit_record
from catalog.models import Review
from maker.models import Upload
from notifications.models import Notification
from payments import services as payments
from privacy.models import DataExport
from privacy.services import data_export_collect, data_export_request, data_export_run, data_exports_purge

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/data-export"
AREAS = {"account", "addresses", "orders", "reviews", "notifications", "consents", "audit", "security", "models3d"}
ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "phone": "+218 91 000 0000", "country": "LY"}


@pytest.fixture
def bought(store, cart_with, make_variant):
    """``bought(user, email, **address)``: an order of ``user`` (None: a guest) placed through checkout."""

    def buy(user, email, address=ADDRESS, store=store):
        cart = cart_with((make_variant(store=store, price="7.00"), 1), user=user, store=store)
        order, _ = payments.checkout_complete(store=store, cart=cart, email=email, customer_name=email.split("@")[0],
                                              shipping_address=address, payment_method="cod", user=user)
        return order

    return buy


def _zip(response) -> dict:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {name.removesuffix(".json"): json.loads(archive.read(name)) for name in archive.namelist()}


def test_a_customer_gets_every_area_of_their_data_and_nobody_elses(
        auth_api, user, user_factory, store, bought, make_variant, django_capture_on_commit_callbacks):
    # given alice's order, review, consent and notification, and another customer's order in the same store
    mine = bought(user, "alice@example.com")
    bought(user_factory(email="bob@example.com"), "bob@example.com",
           address={"line1": "9 Other Rd", "city": "Benghazi"})
    bought(None, "carol@example.com", address={"line1": "5 Guest Ln", "city": "Misrata"})
    Review.objects.create(store=store, product=make_variant().product, user=user, rating=4, title="Nice", body="Good")
    consents_set(user=user, answers={"marketing_email": True})
    Notification.objects.create(user=user, store=store, event_type="export.ready", title="Your export is ready")
    audit_record(store=store, actor=user, action="review.created")
    Upload.objects.create(store=store, user=user, filename="bracket.stl", declared_size=684, storage_name="x")
    Upload.objects.create(store=store, user=user_factory(email="dan@example.com"), filename="Misrata.stl",
                          declared_size=684, storage_name="y")
    record_security_event("login_failed", user_id=user.pk, ip="10.0.0.7", details={"account": True})
    record_security_event("login_failed", user_id=user_factory().pk, ip="10.0.0.8")  # someone else's
    # when she asks for her data (the worker runs inline)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_api.post(URL)
    # then
    assert response.status_code == 202, response.json()
    export_id = response.json()["data"]["id"]
    answer = auth_api.get(f"{URL}/{export_id}").json()["data"]
    assert answer["status"] == "done"
    assert answer["url"].startswith(f"http://testserver/api/v1/me/data-export/{export_id}/download?token=")
    # the link is emailed to her, and only to her
    [message] = [message for message in mail.outbox if "data export" in message.subject]
    assert message.to == ["alice@example.com"]
    [link] = [word for word in message.body.split() if "/download?token=" in word]
    assert link.startswith(f"http://testserver/api/v1/me/data-export/{export_id}/download?token=")
    # the emailed link serves the ZIP to whoever holds it (a browser: no API token)
    download = APIClient().get(link.removeprefix("http://testserver"))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    data = _zip(download)
    assert set(data) == AREAS
    assert data["account"]["email"] == "alice@example.com"
    assert data["account"]["stores"] == []
    assert [order["number"] for order in data["orders"]] == [mine.number]
    assert data["orders"][0]["lines"][0]["unit_price"] == "7.000"
    assert [entry["address"] for entry in data["addresses"]] == [ADDRESS]
    assert [(review["title"], review["rating"]) for review in data["reviews"]] == [("Nice", 4)]
    assert [consent["purpose"] for consent in data["consents"]] == ["marketing_email"]
    assert [note["title"] for note in data["notifications"]] == ["Your export is ready"]
    assert "review.created" in [entry["action"] for entry in data["audit"]]
    assert [(event["type"], event["ip"]) for event in data["security"]] == [("login_failed", "10.0.0.7")]
    assert [(model["filename"], model["quotes"]) for model in data["models3d"]] == [("bracket.stl", [])]
    text = json.dumps(data)
    for other in ("bob@example.com", "Benghazi", "carol@example.com", "Misrata"):
        assert other not in text


def test_a_member_gets_no_customers_data_from_their_notifications(store, bought, client_for,
                                                                  django_capture_on_commit_callbacks):
    # the owner's notifications about a sale name the buyer: only their titles are exported
    with django_capture_on_commit_callbacks(execute=True):
        bought(None, "carol@example.com")
    assert Notification.objects.filter(user=store.owner).exists()
    with django_capture_on_commit_callbacks(execute=True):
        export_id = client_for(store.owner).post(URL).json()["data"]["id"]
    export = DataExport.objects.get(pk=export_id)
    with exports_storage().open(export.file) as stored:
        archive = zipfile.ZipFile(stored)
        data = {name: json.loads(archive.read(name)) for name in archive.namelist()}
    assert data["account.json"]["stores"][0]["role"] == "owner"
    assert "carol" not in json.dumps(data)


def test_one_export_at_a_time(auth_api, user, django_capture_on_commit_callbacks):
    # the first is still waiting for a worker
    with django_capture_on_commit_callbacks(execute=False):
        first = auth_api.post(URL)
    assert first.status_code == 202 and first.json()["data"]["status"] == "pending"
    second = auth_api.post(URL)
    assert second.status_code == 409, second.json()
    assert second.json()["error"]["code"] == "CONFLICT"
    assert DataExport.objects.filter(user=user).count() == 1
    # done, another may be asked for
    data_export_run(export_id=first.json()["data"]["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_api.post(URL).status_code == 202
    # a second delivery of the task does nothing
    assert data_export_run(export_id=first.json()["data"]["id"]) is None


def test_an_export_abandoned_by_a_dead_worker_stops_blocking_after_an_hour(auth_api, user):
    stuck = data_export_request(user=user)
    DataExport.objects.filter(pk=stuck.pk).update(status="running",
                                                  created_at=timezone.now() - timedelta(hours=2))
    assert auth_api.post(URL).status_code == 202
    stuck.refresh_from_db()
    assert stuck.status == "failed"


def test_a_forged_another_or_old_link_is_refused(auth_api, user, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export_id = auth_api.post(URL).json()["data"]["id"]
    base = f"{URL}/{export_id}/download"
    assert api.get(base).status_code == 403
    assert api.get(base + "?token=forged").status_code == 403
    other = signing.dumps({"export": export_id, "user": user.pk + 1}, salt="privacy.data-export.download",
                          compress=True)
    assert api.get(f"{base}?token={other}").status_code == 403
    with pytest.MonkeyPatch.context() as patch:  # a link made a day and a second ago
        moment = timezone.now().timestamp() - 24 * 3600 - 1
        patch.setattr("time.time", lambda: moment)
        stale = signing.dumps({"export": export_id, "user": user.pk}, salt="privacy.data-export.download",
                              compress=True)
    assert api.get(f"{base}?token={stale}").status_code == 403
    with pytest.MonkeyPatch.context() as patch:  # made 23 hours ago: still good
        moment = timezone.now().timestamp() - 23 * 3600
        patch.setattr("time.time", lambda: moment)
        fresh = signing.dumps({"export": export_id, "user": user.pk}, salt="privacy.data-export.download",
                              compress=True)
    assert api.get(f"{base}?token={fresh}").status_code == 200


def test_someone_elses_export_is_404_and_anonymous_is_401(auth_api, user_factory, client_for, api,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export_id = auth_api.post(URL).json()["data"]["id"]
    assert client_for(user_factory()).get(f"{URL}/{export_id}").status_code == 404
    assert api.get(f"{URL}/{export_id}").status_code == 401
    assert api.post(URL).status_code == 401


def test_old_data_exports_and_their_files_are_purged(settings, auth_api, django_capture_on_commit_callbacks):
    settings.DATA_EXPORT_RETENTION_DAYS = 2
    with django_capture_on_commit_callbacks(execute=True):
        export_id = auth_api.post(URL).json()["data"]["id"]
    export = DataExport.objects.get(pk=export_id)
    assert export.file and exports_storage().exists(export.file)
    later = timezone.now() + timedelta(days=3)
    assert data_exports_purge(now=timezone.now()) == 0
    assert data_exports_purge(now=later, dry_run=True) == 1 and DataExport.objects.exists()
    assert data_exports_purge(now=later) == 1
    assert not exports_storage().exists(export.file) and not DataExport.objects.exists()


@pytest.mark.parametrize("verified", [True, False])
def test_guest_orders_with_the_verified_account_email_are_exported_marked_as_guest(
        verified, user, user_factory, store, other_store, bought):
    # given alice's own order, her guest orders in two stores with her address (another letter case in one), and
    # someone else's guest order
    User = type(user)
    User.objects.filter(pk=user.pk).update(email_verified=verified)
    user.refresh_from_db()
    mine = bought(user, "alice@example.com")
    as_guest = bought(None, "alice@example.com", address={"line1": "7 Guest Rd", "city": "Sabha", "country": "LY"})
    elsewhere = bought(None, "Alice@Example.com", store=other_store)
    bought(None, "carol@example.com")
    # when her data is collected
    data = data_export_collect(user=user)
    # then with a verified email the guest orders are hers, marked as guest orders; unverified, only her own
    found = [(order["store"], order["number"], order["guest"]) for order in data["orders"]]
    if verified:
        assert found == [(store.slug, mine.number, False), (store.slug, as_guest.number, True),
                         (other_store.slug, elsewhere.number, True)]
        assert {"line1": "7 Guest Rd", "city": "Sabha", "country": "LY"} in [a["address"] for a in data["addresses"]]
    else:
        assert found == [(store.slug, mine.number, False)]
        assert "Sabha" not in json.dumps(data, default=str)
    assert "carol@example.com" not in json.dumps(data, default=str)
