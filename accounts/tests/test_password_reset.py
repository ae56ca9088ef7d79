import re
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail

from accounts.tokens import uid_encode

from .helpers import assert_error, assert_success

URL = "/api/v1/auth/password/reset"
CONFIRM = "/api/v1/auth/password/reset/confirm"
NEW_PASSWORD = "Velvet-Thunder-2031"


def link_params(message) -> dict:
    link = re.search(r"https?://\S+", message.body).group(0)
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def reset_body(user, password: str = NEW_PASSWORD) -> dict:
    return {"uid": uid_encode(user.pk), "token": default_token_generator.make_token(user), "password": password}


def test_reset_request_emails_a_link(api, user, settings, django_capture_on_commit_callbacks):
    # given
    settings.FRONTEND_URL = "https://shop.example/"
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, {"email": "Alice@Example.com"}, format="json")
    # then
    assert_success(response, 202)
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert re.search(r"https://shop\.example/reset-password\?uid=\S+&token=\S+", message.body)


def test_reset_request_for_an_unknown_email_answers_the_same(api, user, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        known = api.post(URL, {"email": "alice@example.com"}, format="json")
        unknown = api.post(URL, {"email": "nobody@example.com"}, format="json")
    # then
    assert known.status_code == unknown.status_code == 202
    strip = lambda response: {k: v for k, v in response.json().items() if k != "timestamp"}  # noqa: E731
    assert strip(known) == strip(unknown)
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]


def test_reset_request_does_the_same_work_whether_or_not_the_account_exists(
    api, user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """The request itself only queues a task with the address: no lookup that could be timed."""
    with mock.patch("accounts.tasks.password_reset_email_send_task.delay") as delay:
        for email in ["alice@example.com", "nobody@example.com"]:
            with django_assert_num_queries(0), django_capture_on_commit_callbacks(execute=True):
                assert api.post(URL, {"email": email}, format="json").status_code == 202
    # with the caller's address, for the security log's password_reset_requested
    assert [call.args for call in delay.call_args_list] == [("alice@example.com", "127.0.0.1"),
                                                            ("nobody@example.com", "127.0.0.1")]


def test_no_reset_email_for_an_inactive_account(api, user, django_capture_on_commit_callbacks):
    user.is_active = False
    user.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(URL, {"email": "alice@example.com"}, format="json").status_code == 202
    assert mail.outbox == []


def test_the_emailed_link_sets_the_new_password(api, user, login, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, {"email": "alice@example.com"}, format="json")
    # when
    response = api.post(CONFIRM, {**link_params(mail.outbox[0]), "password": NEW_PASSWORD}, format="json")
    # then
    assert_success(response)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.email_verified is True  # the link proved the inbox
    assert login("alice@example.com", NEW_PASSWORD).status_code == 200
    assert_error(login("alice@example.com"), 401, "INVALID_CREDENTIALS")


def test_a_reset_link_works_once(api, user):
    # given
    body = reset_body(user)
    assert api.post(CONFIRM, body, format="json").status_code == 200
    # when
    again = api.post(CONFIRM, {**body, "password": "Another-Secret-77"}, format="json")
    # then
    assert "token" in assert_error(again, 400, "VALIDATION_ERROR")["details"]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_weak_new_password_is_refused_and_the_link_still_works(api, user, password):
    # given
    body = reset_body(user, password="password")
    # when
    response = api.post(CONFIRM, body, format="json")
    # then
    assert assert_error(response, 400, "VALIDATION_ERROR")["details"]["password"]
    user.refresh_from_db()
    assert user.check_password(password)
    assert api.post(CONFIRM, {**body, "password": NEW_PASSWORD}, format="json").status_code == 200


@pytest.mark.parametrize("case", ["bad-token", "bad-uid", "someone-elses-token"])
def test_bad_reset_links_are_refused(api, user, user_factory, password, case):
    other = user_factory()
    body = {
        "bad-token": {**reset_body(user), "token": "nope"},
        "bad-uid": {**reset_body(user), "uid": "@@"},
        "someone-elses-token": {**reset_body(user), "token": default_token_generator.make_token(other)},
    }[case]
    assert "token" in assert_error(api.post(CONFIRM, body, format="json"), 400, "VALIDATION_ERROR")["details"]
    user.refresh_from_db()
    assert user.check_password(password)


def test_a_reset_revokes_every_refresh_token(api, user, login):
    # given
    refresh = login("alice@example.com").json()["data"]["refresh"]
    user.refresh_from_db()  # the login moved last_login, which reset tokens include
    # when
    assert api.post(CONFIRM, reset_body(user), format="json").status_code == 200
    # then
    assert_error(api.post("/api/v1/auth/refresh", {"refresh": refresh}, format="json"), 401, "INVALID_TOKEN")


def test_a_reset_lifts_a_login_lock(api, user, login, settings):
    # given
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        login("alice@example.com", "wrong")
    assert login("alice@example.com").status_code == 429
    # when
    assert api.post(CONFIRM, reset_body(user), format="json").status_code == 200
    # then
    assert login("alice@example.com", NEW_PASSWORD).status_code == 200


def test_confirm_names_missing_fields(api, db):
    error = assert_error(api.post(CONFIRM, {}, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"uid", "token", "password"}
