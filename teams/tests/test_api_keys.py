from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from teams.models import ApiKey
from teams.services import api_key_create, token_hash


def keys_url(store, pk=None):
    return f"/api/v1/stores/{store.slug}/api-keys" + (f"/{pk}" if pk else "")


def test_create_shows_the_key_once_and_stores_its_hash(client_for, store):
    # when
    response = client_for(store.owner).post(keys_url(store), {"name": "ERP", "scopes": ["catalog.write"]},
                                            format="json")
    # then
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    key = data["key"]
    api_key = ApiKey.objects.get()
    assert key.startswith(api_key.prefix + ".") and len(key) > 50
    assert api_key.hashed_key == token_hash(key) and key not in api_key.hashed_key
    assert api_key.scopes == ["catalog.write"] and api_key.created_by == store.owner
    listed = client_for(store.owner).get(keys_url(store)).json()["data"]
    assert listed[0]["prefix"] == api_key.prefix
    assert "key" not in listed[0] and "hashed_key" not in listed[0]
    assert key not in str(listed)


def test_unknown_scope_is_400(client_for, store):
    response = client_for(store.owner).post(keys_url(store), {"name": "x", "scopes": ["root"]}, format="json")
    assert response.status_code == 400
    assert "scopes" in response.json()["error"]["details"]
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_keys_need_team_manage(client_for, store, member_factory, role):
    client = client_for(member_factory(store, role))
    assert client.get(keys_url(store)).status_code == 403
    assert client.post(keys_url(store), {"name": "x", "scopes": []}, format="json").status_code == 403
    assert not ApiKey.objects.exists()


def test_a_key_authenticates_for_its_store_only(api, store, other_store):
    # given
    api_key, key = api_key_create(store=store, name="ERP", scopes=["store.manage"])
    api.credentials(HTTP_X_API_KEY=key)
    # when / then: its own store, with its scopes
    response = api.get(f"/api/v1/stores/{store.slug}/members")
    assert response.status_code == 200
    assert api.patch(f"/api/v1/stores/{store.slug}", {"name": "Renamed"}, format="json").status_code == 200
    # but not what its scopes lack, nor another store
    assert api.post(keys_url(store), {"name": "x", "scopes": []}, format="json").status_code == 403
    assert api.get(f"/api/v1/stores/{other_store.slug}/members").status_code == 404
    assert api.patch(f"/api/v1/stores/{other_store.slug}", {"name": "x"}, format="json").status_code == 404
    other_store.refresh_from_db()
    assert other_store.name == "Beta"


def test_a_key_cannot_mint_a_stronger_key(api, store):
    _, key = api_key_create(store=store, name="team", scopes=["team.manage"])
    api.credentials(HTTP_X_API_KEY=key)
    response = api.post(keys_url(store), {"name": "x", "scopes": ["store.manage"]}, format="json")
    assert response.status_code == 403
    assert ApiKey.objects.count() == 1


@pytest.mark.parametrize("header", ["nonsense", "sk_000000000000.wrong", "sk_abc", "sk_\x00.abc",
                                    "sk_000000000000." + "a" * 43 + "\x00", "sk_" + "0" * 5000 + ".x"])
def test_bad_key_is_401_invalid_api_key(api, store, header):
    api_key_create(store=store, name="x", scopes=[])
    response = api.get(f"/api/v1/stores/{store.slug}", HTTP_X_API_KEY=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_API_KEY"


def test_wrong_secret_with_a_real_prefix_is_401(api, store):
    api_key, key = api_key_create(store=store, name="x", scopes=[])
    response = api.get(f"/api/v1/stores/{store.slug}", HTTP_X_API_KEY=key[:-2] + "zz")
    assert response.status_code == 401


def test_revoked_key_is_401(client_for, api, store):
    api_key, key = api_key_create(store=store, name="x", scopes=[])
    assert client_for(store.owner).delete(keys_url(store, api_key.pk)).status_code == 204
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    response = api.get(f"/api/v1/stores/{store.slug}", HTTP_X_API_KEY=key)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_API_KEY"


def test_last_used_is_recorded_at_most_once_a_minute(api, store, django_assert_max_num_queries):
    api_key, key = api_key_create(store=store, name="x", scopes=[])
    api.get(f"/api/v1/stores/{store.slug}", HTTP_X_API_KEY=key)
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None
    api.get(f"/api/v1/stores/{store.slug}", HTTP_X_API_KEY=key)
    api_key.refresh_from_db()
    assert api_key.last_used_at == first
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    api.get(f"/api/v1/stores/{store.slug}", HTTP_X_API_KEY=key)
    api_key.refresh_from_db()
    assert api_key.last_used_at > first


def test_request_api_key_is_set_on_the_django_request(rf, store):
    from rest_framework.request import Request

    from teams.authentication import ApiKeyAuthentication

    api_key, key = api_key_create(store=store, name="x", scopes=[])
    django_request = rf.get("/", HTTP_X_API_KEY=key)
    request = Request(django_request, authenticators=[ApiKeyAuthentication()])
    assert request.user.is_authenticated is False
    assert request.auth == api_key
    assert request.api_key == api_key and django_request.api_key == api_key


def test_another_stores_key_id_is_404(client_for, store, other_store):
    other_key, _ = api_key_create(store=other_store, name="x", scopes=[])
    assert client_for(store.owner).delete(keys_url(store, other_key.pk)).status_code == 404
    other_key.refresh_from_db()
    assert other_key.revoked_at is None


def test_create_api_key_command_prints_the_key(store):
    out = StringIO()
    call_command("create_api_key", store="alpha", name="cli", scopes="catalog.write,orders.manage", stdout=out,
                 stderr=StringIO())
    key = out.getvalue().strip()
    api_key = ApiKey.objects.get()
    assert api_key.hashed_key == token_hash(key)
    assert api_key.scopes == ["catalog.write", "orders.manage"]
    with pytest.raises(CommandError):
        call_command("create_api_key", store="alpha", name="cli", scopes="bogus", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("create_api_key", store="nope", name="cli", stdout=StringIO())


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_create_api_key_command_refuses_a_bad_name(store, name):
    # a name the column cannot hold was a database error on PostgreSQL, an empty one a nameless key
    with pytest.raises(CommandError, match="--name"):
        call_command("create_api_key", store="alpha", name=name, stdout=StringIO(), stderr=StringIO())
    assert not ApiKey.objects.exists()
