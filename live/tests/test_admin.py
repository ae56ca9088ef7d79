"""The admin's live notices: POST /admin/live/ticket/ for a signed-in staff member (CSRF checked), the script on
the admin's pages, and the stream's probe, which says whether a stream is served here."""

import re
from urllib.parse import urlencode

import pytest
from django.core import signing
from django.test import Client

from live.access import TICKET_SALT

pytestmark = pytest.mark.django_db

TICKET_URL = "/admin/live/ticket/"


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_of(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def test_a_staff_member_gets_a_ticket_for_themselves(store):
    client = signed_in(store.owner)
    page = client.get("/admin/")
    assert page.status_code == 200
    answer = client.post(TICKET_URL, HTTP_X_CSRFTOKEN=csrf_of(page))
    assert answer.status_code == 201 and "no-store" in answer["Cache-Control"]
    body = answer.json()
    assert signing.loads(body["ticket"], salt=TICKET_SALT) == {"u": store.owner.pk}
    assert body["expires_in"] == 60 and body["url"] == "http://testserver/api/v1/stream?" + urlencode(
        {"ticket": body["ticket"]})


def test_the_ticket_asks_for_the_csrf_token_and_a_post(store):
    client = signed_in(store.owner)
    assert client.post(TICKET_URL).status_code == 403
    assert client.get(TICKET_URL).status_code == 405


def test_anonymous_and_users_without_the_admin_get_no_ticket(user):
    anonymous = Client()
    answer = anonymous.post(TICKET_URL)
    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]
    client = Client()  # signed in, but with no store of theirs: the admin is not theirs
    client.force_login(user)
    answer = client.post(TICKET_URL)
    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]


def test_admin_pages_load_the_script_with_where_to_ask(store):
    page = signed_in(store.owner).get("/admin/").content.decode()
    assert re.search(r'<script src="/static/live/admin-live\.js\?ticket=%2Fadmin%2Flive%2Fticket%2F&amp;'
                     r'probe=%2Fapi%2Fv1%2Fstream%3Fprobe%3D1"></script>', page)
    assert 'id="logout-form"' in page  # the script takes the CSRF token from it


def test_the_probe_says_whether_a_stream_is_served_here(client, settings):
    settings.LIVE_STREAM_URL = ""
    answer = client.get("/api/v1/stream?probe=1")
    assert (answer.status_code, answer.json(), answer["Cache-Control"]) == (200, {"served": False}, "no-store")
    settings.LIVE_STREAM_URL = "http://127.0.0.1:8001/api/v1/stream"
    assert client.get("/api/v1/stream?probe=1").json() == {"served": True}
