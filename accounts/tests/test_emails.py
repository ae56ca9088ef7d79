"""Verification and reset emails: subject, text and HTML, sent only once the transaction commits."""

import pytest
from django.core import mail
from django.db import transaction

from accounts.services import email_verification_send, password_reset_email_send


def only_message():
    [message] = mail.outbox
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message, html


@pytest.mark.django_db
def test_verification_email_has_subject_text_and_html(api, settings, django_capture_on_commit_callbacks):
    # given
    settings.FRONTEND_URL = "https://shop.example"
    # when
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/auth/register", {"email": "o.brien@example.com", "password": "Tangerine-Walrus-81",
                                           "name": "Ann O'Brien"}, format="json")
    # then
    message, html = only_message()
    assert message.subject == "Confirm your email address"
    assert message.to == ["o.brien@example.com"]
    assert "Hello Ann O'Brien," in message.body  # the text part is not HTML-escaped
    assert "https://shop.example/verify-email?uid=" in message.body
    assert "&amp;" not in message.body
    assert "<html" in html and "https://shop.example/verify-email?uid=" in html
    assert "Ann O&#x27;Brien" in html  # the HTML part is


def test_password_reset_email_has_subject_text_and_html(api, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/auth/password/reset", {"email": "alice@example.com"}, format="json")
    message, html = only_message()
    assert message.subject == "Reset your password"
    assert "/reset-password?uid=" in message.body and "token=" in message.body
    assert "/reset-password?uid=" in html and "<html" in html


def test_no_email_leaves_before_the_commit(user, django_capture_on_commit_callbacks):
    # when: queued inside a transaction that has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email_verification_send(user=user)
        password_reset_email_send(email=user.email)
    # then
    assert mail.outbox == []
    assert len(callbacks) == 2
    for callback in callbacks:
        callback()  # the commit
    assert len(mail.outbox) == 2


def test_no_email_leaves_when_the_transaction_rolls_back(user, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            email_verification_send(user=user)
            raise RuntimeError("rolled back")
    # then
    assert callbacks == []
    assert mail.outbox == []


def test_a_failed_registration_sends_nothing(api, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post("/api/v1/auth/register", {"email": "alice@example.com", "password": "Tangerine-Walrus-81",
                                                      "name": "A"}, format="json")
    assert response.status_code == 409
    assert callbacks == []
    assert mail.outbox == []
