"""The scoping base every store endpoint is built on (teams/scoping.py), tested on a small viewset."""

import pytest
from django.urls import resolve
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from teams.models import Membership
from teams.permissions import CATALOG_WRITE
from teams.scoping import MEMBERS, StoreScopedGenericView, StoreScopedMixin, StoreScopedViewSet
from teams.services import api_key_create

from .isolation import store_routes

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


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


# --- a method the route does not offer: 405 before the store, the caller or a permission -----------

class ProbeGenericView(StoreScopedGenericView):
    queryset = Membership.objects.all()
    serializer_class = MembershipRow
    members_only = True

    def get(self, request, store):
        return Response({"store": self.store.slug})


def call_generic(method, store_slug, user=None):
    request = getattr(factory, method)("/", {}, format="json")
    if user is not None:
        force_authenticate(request, user=user)
    return ProbeGenericView.as_view()(request, store=store_slug)


def assert_method_not_allowed(response, allowed: set[str]):
    assert response.status_code == 405, response.data
    assert response.data["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(response["Allow"].split(", ")) == allowed


@pytest.mark.parametrize("store_slug", ["known", "nope"])
@pytest.mark.parametrize("who", ["anonymous", "outsider"])
def test_a_method_the_viewset_does_not_map_is_405_before_the_store(store, user_factory, store_slug, who):
    slug = store.slug if store_slug == "known" else store_slug
    user = user_factory() if who == "outsider" else None
    for method in ["post", "put", "patch", "delete"]:
        assert_method_not_allowed(call(ProbeViewSet, {"get": "list"}, method, slug, user=user),
                                  {"GET", "HEAD", "OPTIONS"})
    assert_method_not_allowed(call(ProbeViewSet, {"post": "create"}, "get", slug, user=user), {"POST", "OPTIONS"})


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
def test_a_method_the_generic_view_lacks_is_405_before_the_store(store, user_factory, who):
    user = user_factory() if who == "outsider" else None
    for slug in [store.slug, "nope"]:
        for method in ["post", "put", "patch", "delete"]:
            assert_method_not_allowed(call_generic(method, slug, user=user), {"GET", "HEAD", "OPTIONS"})


def test_the_methods_a_route_offers_still_resolve_the_store_first(store, user_factory, member_factory):
    assert call_generic("get", "nope").status_code == 404
    assert call_generic("get", store.slug).status_code == 401
    assert call_generic("get", store.slug, user=user_factory()).status_code == 404
    assert call_generic("get", store.slug, user=member_factory(store, "viewer")).status_code == 200
    assert call(ProbeViewSet, {"post": "create"}, "post", "nope").status_code == 404
    store.is_active = False
    store.save()
    assert call(ProbeViewSet, {"post": "ping"}, "post", store.slug).status_code == 404


# Every store route in the URL conf: an anonymous caller using a method the route lacks gets 405 with
# Allow, whether or not the store exists, without a query (no store lookup, no key or session read).
STORE_ROUTES = [route for route in store_routes() if issubclass(route.view_class, StoreScopedMixin)]


def _url(route, store_slug: str) -> str:
    url = route.url({name: store_slug if name == route.store_kwarg else "1" for name in route.kwargs})
    assert resolve(url).func is route.pattern.callback, f"{route}: pick a value its kwargs accept in _url()"
    return url


def test_the_route_walk_finds_routes_lacking_methods():
    assert len(STORE_ROUTES) > 10
    assert all(set(METHODS) - set(route.methods) for route in STORE_ROUTES)


@pytest.mark.parametrize("route", STORE_ROUTES, ids=str)
def test_every_store_route_answers_405_for_a_method_it_lacks(route, store, api, django_assert_num_queries):
    missing = [method for method in METHODS if method not in route.methods]
    for store_slug in [store.slug, "no-such-store"]:
        url = _url(route, store_slug)
        for method in missing:
            with django_assert_num_queries(0):
                response = getattr(api, method.lower())(url, {}, format="json")
            assert response.status_code == 405, (method, url, response.status_code)
            body = response.json()
            assert body["success"] is False and body["error"]["code"] == "METHOD_NOT_ALLOWED", (method, url)
            allowed = set(response["Allow"].split(", "))
            assert set(route.methods) <= allowed and method not in allowed, (method, url, response["Allow"])
