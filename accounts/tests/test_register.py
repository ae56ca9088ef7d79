import pytest
from django.core import mail

from accounts.models import User

from .helpers import assert_error, assert_success, bearer

URL = "/api/v1/auth/register"


@pytest.mark.django_db
def test_register_creates_the_account_and_logs_in(api, django_capture_on_commit_callbacks):
    # given
    body = {"email": "New.User@Example.com", "password": "Tangerine-Walrus-81", "name": "New User"}
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, body, format="json")
    # then
    data = assert_success(response, 201)
    user = User.objects.get()
    assert user.email == "new.user@example.com"
    assert user.name == "New User"
    assert user.check_password("Tangerine-Walrus-81")
    assert user.email_verified is False
    assert data["user"] == {
        "id": user.pk, "email": "new.user@example.com", "name": "New User", "email_verified": False,
        "two_factor_enabled": False, "date_joined": data["user"]["date_joined"],
    }
    me = api.get("/api/v1/auth/me", **bearer(data["access"]))
    assert assert_success(me)["id"] == user.pk
    assert api.post("/api/v1/auth/refresh", {"refresh": data["refresh"]}, format="json").status_code == 200
    assert [message.to for message in mail.outbox] == [["new.user@example.com"]]


@pytest.mark.django_db
def test_register_accepts_a_trailing_slash(api):
    response = api.post(URL + "/", {"email": "a@example.com", "password": "Tangerine-Walrus-81", "name": "A"},
                        format="json")
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    "weak_password",
    ["short1!", "password123", "12345678901", "new.user@example.com"],
    ids=["too-short", "common", "numeric", "like-the-email"],
)
def test_weak_passwords_are_refused(api, weak_password):
    # when
    response = api.post(URL, {"email": "new.user@example.com", "password": weak_password, "name": "N"}, format="json")
    # then
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["details"]["password"]
    assert all(isinstance(message, str) for message in error["details"]["password"])
    assert not User.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["alice@example.com", "ALICE@Example.COM", "  alice@example.com"])
def test_duplicate_email_is_409_in_any_case(api, user, email, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, {"email": email, "password": "Tangerine-Walrus-81", "name": "X"}, format="json")
    # then
    error = assert_error(response, 409, "ALREADY_EXISTS")
    assert "email" in error["details"]
    assert User.objects.count() == 1
    assert mail.outbox == []


@pytest.mark.django_db
def test_missing_fields_are_named(api):
    response = api.post(URL, {}, format="json")
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"email", "password"}


@pytest.mark.django_db
def test_name_is_optional(api):
    response = api.post(URL, {"email": "a@example.com", "password": "Tangerine-Walrus-81"}, format="json")
    assert assert_success(response, 201)["user"]["name"] == ""


@pytest.mark.django_db
def test_unknown_fields_are_ignored_and_cannot_grant_anything(api):
    # given: fields that are not part of the input
    body = {"email": "a@example.com", "password": "Tangerine-Walrus-81", "name": "A",
            "is_staff": True, "is_superuser": True, "email_verified": True, "favourite_colour": "red"}
    # when
    response = api.post(URL, body, format="json")
    # then
    assert response.status_code == 201
    user = User.objects.get()
    assert (user.is_staff, user.is_superuser, user.email_verified) == (False, False, False)


@pytest.mark.django_db
def test_password_is_not_trimmed(api, login):
    # given
    api.post(URL, {"email": "a@example.com", "password": "  Tangerine-Walrus-81  ", "name": "A"}, format="json")
    # then
    assert User.objects.get().check_password("  Tangerine-Walrus-81  ")
    assert login("a@example.com", "Tangerine-Walrus-81").status_code == 401
