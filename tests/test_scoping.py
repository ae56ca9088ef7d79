"""The scoping base every store endpoint is built on (config/api/scoping.py), tested on a small viewset."""

import pytest
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from config.api.scoping import MEMBERS, StoreScopedViewSet
from teams.models import Membership
from teams.permissions import CATALOG_WRITE
from teams.services import api_key_create


class MembershipRow(serializers.ModelSerializer):
    class Meta:
        model = Membership
        fields = ["id", "role"]


class ProbeViewSet(StoreScopedViewSet):
    queryset = Membership.objects.all()
    serializer_class = MembershipRow
    write_permission = CATALOG_WRITE
    action_permissions = {"ping": None, "secret": MEMBERS}

    def create(self, request, store):
        return Response({"store": self.store.slug, "role": self.access.role}, status=status.HTTP_201_CREATED)

    def ping(self, request, store):
        return Response({"pong": True}, status=status.HTTP_201_CREATED)

    def secret(self, request, store):
        return Response({"secret": True})


class MembersOnlyViewSet(StoreScopedViewSet):
    queryset = Membership.objects.all()
    serializer_class = MembershipRow
    members_only = True


factory = APIRequestFactory()


def call(view_class, actions, method, store_slug, user=None, key=None, pk=None):
    view = view_class.as_view(actions)
    headers = {"HTTP_X_API_KEY": key} if key else {}
    request = getattr(factory, method)("/", {}, format="json", **headers)
    if user is not None:
        force_authenticate(request, user=user)
    kwargs = {"store": store_slug}
    if pk is not None:
        kwargs["pk"] = pk
    return view(request, **kwargs)


def test_unknown_store_is_404(db):
    assert call(ProbeViewSet, {"get": "list"}, "get", "nope").status_code == 404


def test_public_read_is_scoped_to_the_store(store, other_store):
    response = call(ProbeViewSet, {"get": "list"}, "get", store.slug)
    assert response.status_code == 200
    own = set(Membership.objects.filter(store=store).values_list("id", flat=True))
    assert {row["id"] for row in response.data["data"]} == own


def test_another_stores_object_is_404(store, other_store):
    foreign = Membership.objects.get(store=other_store)
    assert call(ProbeViewSet, {"get": "retrieve"}, "get", store.slug, pk=foreign.pk).status_code == 404
    own = Membership.objects.get(store=store)
    assert call(ProbeViewSet, {"get": "retrieve"}, "get", store.slug, pk=own.pk).status_code == 200


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("outsider", 404), ("viewer", 403),
                                               ("staff", 201), ("superuser", 201)])
def test_write_permission(store, member_factory, user_factory, who, expected):
    user = {
        "anonymous": None,
        "outsider": user_factory(),
        "viewer": member_factory(store, "viewer"),
        "staff": member_factory(store, "staff"),
        "superuser": user_factory(is_superuser=True, is_staff=True),
    }[who]
    response = call(ProbeViewSet, {"post": "create"}, "post", store.slug, user=user)
    assert response.status_code == expected
    if expected == 403:
        assert response.data["error"]["code"] == "PERMISSION_DENIED"


def test_action_opt_out_and_members_marker(store, user_factory, member_factory):
    assert call(ProbeViewSet, {"post": "ping"}, "post", store.slug).status_code == 201
    assert call(ProbeViewSet, {"get": "secret"}, "get", store.slug).status_code == 401
    assert call(ProbeViewSet, {"get": "secret"}, "get", store.slug, user=user_factory()).status_code == 404
    assert call(ProbeViewSet, {"get": "secret"}, "get", store.slug,
                user=member_factory(store, "viewer")).status_code == 200


def test_members_only_reads(store, user_factory, member_factory):
    assert call(MembersOnlyViewSet, {"get": "list"}, "get", store.slug).status_code == 401
    assert call(MembersOnlyViewSet, {"get": "list"}, "get", store.slug, user=user_factory()).status_code == 404
    assert call(MembersOnlyViewSet, {"get": "list"}, "get", store.slug,
                user=member_factory(store, "viewer")).status_code == 200


def test_inactive_store_is_404_except_for_members(store, user_factory):
    store.is_active = False
    store.save()
    assert call(ProbeViewSet, {"get": "list"}, "get", store.slug).status_code == 404
    assert call(ProbeViewSet, {"post": "ping"}, "post", store.slug).status_code == 404
    assert call(ProbeViewSet, {"get": "list"}, "get", store.slug, user=user_factory()).status_code == 404
    assert call(ProbeViewSet, {"get": "list"}, "get", store.slug, user=store.owner).status_code == 200


def test_api_key_scopes_and_store(store, other_store):
    _, writer = api_key_create(store=store, name="w", scopes=[CATALOG_WRITE])
    _, reader = api_key_create(store=store, name="r", scopes=[])
    created = call(ProbeViewSet, {"post": "create"}, "post", store.slug, key=writer)
    assert created.status_code == 201 and created.data["role"] == "api_key"
    assert call(ProbeViewSet, {"post": "create"}, "post", store.slug, key=reader).status_code == 403
    assert call(ProbeViewSet, {"get": "secret"}, "get", store.slug, key=reader).status_code == 200
    assert call(ProbeViewSet, {"post": "create"}, "post", other_store.slug, key=writer).status_code == 404
    assert call(MembersOnlyViewSet, {"get": "list"}, "get", other_store.slug, key=writer).status_code == 404
