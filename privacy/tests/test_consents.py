"""Consent (API.md "Customers' data rights"): GET/PUT /me/consents, and its effect on the two paths that ask it,
storefront analytics and marketing email, at once; checkout and the admin record it too."""

import pytest
from django.core import mail

from accounts.consents import consent_granted, marketing_email_enqueue, marketing_email_send
from accounts.models import Consent
from analytics.models import Event
from orders.models import Order

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/consents"
PURPOSES = {"marketing_email", "analytics", "personalisation"}


def events_url(store) -> str:
    return f"/api/v1/stores/{store.slug}/analytics/events"


BATCH = {"events": [{"type": "page_view", "session_id": "s1"}, {"type": "page_view", "session_id": "s1"}]}


def test_nobody_has_consented_until_they_say_so(auth_api):
    response = auth_api.get(URL)
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert set(data) == PURPOSES
    assert all(state == {"granted": False, "version": None, "updated_at": None, "source": None}
               for state in data.values())


def test_giving_and_withdrawing_is_recorded_with_time_source_and_wording(auth_api, user, settings):
    settings.CONSENT_PURPOSES = {"marketing_email": "2026-12", "analytics": "1", "personalisation": "1"}
    # when the customer agrees to marketing email and refuses analytics
    response = auth_api.put(URL, {"marketing_email": True, "analytics": False}, format="json")
    # then both answers are on record against the current wording, from the API
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["marketing_email"]["granted"], data["marketing_email"]["version"],
            data["marketing_email"]["source"]) == (True, "2026-12", "api")
    assert data["marketing_email"]["updated_at"]
    assert (data["analytics"]["granted"], data["analytics"]["version"]) == (False, "1")
    assert data["personalisation"]["version"] is None
    assert Consent.objects.filter(user=user).count() == 2
    # the same answer again records nothing; a withdrawal records one row and the history stays
    auth_api.put(URL, {"marketing_email": True}, format="json")
    assert Consent.objects.filter(user=user).count() == 2
    auth_api.put(URL, {"marketing_email": False}, format="json")
    assert list(Consent.objects.filter(user=user, purpose="marketing_email").order_by("id")
                .values_list("granted", flat=True)) == [True, False]
    assert not consent_granted(user=user, purpose="marketing_email")
    # new wording: the same answer is recorded again, against it
    settings.CONSENT_PURPOSES = {**settings.CONSENT_PURPOSES, "marketing_email": "2027-01"}
    data = auth_api.put(URL, {"marketing_email": False}, format="json").json()["data"]
    assert data["marketing_email"]["version"] == "2027-01"
    assert Consent.objects.filter(user=user, purpose="marketing_email").count() == 3


@pytest.mark.parametrize("body, field", [
    ({"newsletter": True}, "newsletter"),
    ({"analytics": "yes"}, "analytics"),
    ({"analytics": None}, "analytics"),
    ({}, "consents"),
    ([True], "consents"),
])
def test_an_unknown_purpose_or_an_answer_not_true_or_false_is_400_and_records_nothing(auth_api, body, field):
    response = auth_api.put(URL, body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["details"]
    assert not Consent.objects.exists()


def test_consents_are_for_signed_in_people(api):
    assert api.get(URL).status_code == 401
    assert api.put(URL, {"analytics": True}, format="json").status_code == 401


# --- storefront analytics ----------------------------------------------------------------------------------------
def test_a_signed_in_shoppers_events_count_only_while_they_consent(auth_api, api, store, user):
    # without consent: checked, answered, dropped
    response = auth_api.post(events_url(store), BATCH, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["data"] == {"accepted": 0} and not Event.objects.exists()
    # with consent they are recorded
    auth_api.put(URL, {"analytics": True}, format="json")
    assert auth_api.post(events_url(store), BATCH, format="json").json()["data"] == {"accepted": 2}
    assert Event.objects.count() == 2
    # withdrawn: the very next batch is dropped
    auth_api.put(URL, {"analytics": False}, format="json")
    assert auth_api.post(events_url(store), BATCH, format="json").json()["data"] == {"accepted": 0}
    assert Event.objects.count() == 2
    # an anonymous storefront's events are its own cookie banner's business: recorded
    assert api.post(events_url(store), BATCH, format="json").json()["data"] == {"accepted": 2}
    # a bad batch is still 400 for a shopper who does not consent
    bad = auth_api.post(events_url(store), {"events": [{"type": "product_view", "session_id": "s"}]}, format="json")
    assert bad.status_code == 400


# --- marketing email ----------------------------------------------------------------------------------------------
def test_marketing_email_goes_only_to_people_who_consent(auth_api, user, user_factory,
                                                         django_capture_on_commit_callbacks):
    other = user_factory(email="bob@example.com")
    auth_api.put(URL, {"marketing_email": True}, format="json")
    context = {"subject": "Winter sale", "body": "20% off"}
    with django_capture_on_commit_callbacks(execute=True):
        assert marketing_email_enqueue(user=user, template="marketing", context=context) is True
        assert marketing_email_enqueue(user=other, template="marketing", context=context) is False
    assert [(message.to, message.subject) for message in mail.outbox] == [(["alice@example.com"], "Winter sale")]


def test_a_withdrawal_stops_a_marketing_email_already_queued(auth_api, user, django_capture_on_commit_callbacks):
    auth_api.put(URL, {"marketing_email": True}, format="json")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert marketing_email_enqueue(user=user, template="marketing", context={"subject": "S", "body": "B"})
    # the customer withdraws before the worker gets to it
    auth_api.put(URL, {"marketing_email": False}, format="json")
    for callback in queued:
        callback()
    assert mail.outbox == []
    assert marketing_email_send(user_id=user.pk, template="marketing", context={"subject": "S", "body": "B"}) is False


# --- checkout and the admin ------------------------------------------------------------------------------------
CHECKOUT = {"email": "alice@example.com", "shipping_address": {"line1": "1 Main St", "city": "Tripoli"},
            "payment_method": "cod"}


def test_a_signed_in_buyer_gives_marketing_consent_at_checkout(auth_api, user, store, make_variant, cart_with):
    cart = cart_with((make_variant(), 1), user=user)
    response = auth_api.post(f"/api/v1/stores/{store.slug}/checkout",
                             {**CHECKOUT, "cart": str(cart.pk), "marketing_consent": True}, format="json")
    assert response.status_code == 201, response.json()
    consent = Consent.objects.get(user=user)
    assert (consent.purpose, consent.granted, consent.source, consent.version) == ("marketing_email", True,
                                                                                   "checkout", "1")


def test_a_guest_cannot_give_consent_at_checkout(api, store, make_variant, cart_with):
    cart = cart_with((make_variant(), 1))
    response = api.post(f"/api/v1/stores/{store.slug}/checkout",
                        {**CHECKOUT, "cart": str(cart.pk), "marketing_consent": True}, format="json")
    assert response.status_code == 400, response.json()
    assert "marketing_consent" in response.json()["error"]["details"]
    assert not Order.objects.exists() and not Consent.objects.exists()
    # leaving it out (or false) checks out as before
    response = api.post(f"/api/v1/stores/{store.slug}/checkout",
                        {**CHECKOUT, "cart": str(cart.pk), "marketing_consent": False}, format="json")
    assert response.status_code == 201, response.json()


def test_platform_staff_record_an_answer_given_on_paper_in_the_admin(admin_login, user, user_factory):
    staff = user_factory(email="root@example.com", is_staff=True, is_superuser=True)
    client = admin_login(staff)
    response = client.post("/admin/accounts/consent/add/", {"user": user.pk, "purpose": "marketing_email",
                                                            "granted": "on"})
    assert response.status_code == 302, response.content[:2000]
    consent = Consent.objects.get(user=user)
    assert (consent.granted, consent.source) == (True, "admin")
    assert client.get("/admin/accounts/consent/").status_code == 200
    assert client.get(f"/admin/accounts/consent/{consent.pk}/change/").status_code == 200  # read-only view
