import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from accounts.models import User
from accounts.tokens import email_verification_token, uid_encode

from .helpers import assert_error, assert_success

URL = "/api/v1/auth/verify-email"


def link_params(message) -> dict:
    link = re.search(r"https?://\S+", message.body).group(0)
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def test_the_link_from_the_registration_email_verifies(api, db, settings, django_capture_on_commit_callbacks):
    # given
    settings.FRONTEND_URL = "https://shop.example"
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/auth/register", {"email": "a@example.com", "password": "Tangerine-Walrus-81", "name": "A"},
                 format="json")
    [message] = mail.outbox
    assert re.search(r"https://shop\.example/verify-email\?uid=\S+&token=\S+", message.body)
    # when
    response = api.post(URL, link_params(message), format="json")
    # then
    data = assert_success(response)
    assert data["email_verified"] is True
    assert User.objects.get().email_verified is True


def test_a_verification_link_works_once(api, user):
    # given
    body = {"uid": uid_encode(user.pk), "token": email_verification_token.make_token(user)}
    assert api.post(URL, body, format="json").status_code == 200
    # when
    again = api.post(URL, body, format="json")
    # then
    error = assert_error(again, 400, "VALIDATION_ERROR")
    assert error["details"]["token"]


def test_logging_in_does_not_spoil_a_pending_link(api, user, login):
    body = {"uid": uid_encode(user.pk), "token": email_verification_token.make_token(user)}
    login("alice@example.com")
    assert api.post(URL, body, format="json").status_code == 200


@pytest.mark.parametrize("case", ["bad-token", "bad-uid", "unknown-uid", "someone-elses-token", "reset-token"])
def test_bad_links_are_refused(api, user, user_factory, case):
    # given
    from django.contrib.auth.tokens import default_token_generator

    other = user_factory()
    good = email_verification_token.make_token(user)
    body = {
        "bad-token": {"uid": uid_encode(user.pk), "token": "abc-123"},
        "bad-uid": {"uid": "!!!", "token": good},
        "unknown-uid": {"uid": uid_encode(99999), "token": good},
        "someone-elses-token": {"uid": uid_encode(user.pk), "token": email_verification_token.make_token(other)},
        "reset-token": {"uid": uid_encode(user.pk), "token": default_token_generator.make_token(user)},
    }[case]
    # when
    response = api.post(URL, body, format="json")
    # then
    assert "token" in assert_error(response, 400, "VALIDATION_ERROR")["details"]
    user.refresh_from_db()
    assert user.email_verified is False


def test_resend_sends_a_fresh_link(user, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post("/api/v1/auth/verify-email/resend")
    assert_success(response, 202)
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]


def test_resend_for_a_verified_email_is_409(user, client_for, django_capture_on_commit_callbacks):
    user.email_verified = True
    user.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post("/api/v1/auth/verify-email/resend")
    assert_error(response, 409, "CONFLICT")
    assert mail.outbox == []
