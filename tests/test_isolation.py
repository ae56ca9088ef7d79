"""Tenant isolation, for every store route and every store-scoped admin, found by walking the URL conf
and the admin registry: new endpoints and admins are covered without touching this file.

API, for each route with ``{store}``: with store A's owner, a key of store A holding every
scope, and an anonymous caller,
- A's URL with B's object → 404 (405 for a method the route lacks) for every method;
- A's lists (routes with no other kwarg) answer the same before and after B's row exists;
- B's URLs → a write is 404 for A's owner and key and 401/404 for anonymous, unless the
  view declares that write public (then they get what anonymous gets, or, when anonymous
  is asked to log in, A's owner gets what a logged-in stranger of both stores gets);
  a read is what anonymous gets, status and data (404 for members-only ones);
- B deactivated → 404 for everything.
Admin, for each StoreScopedAdmin: A's staff and owner see none of B's rows in the
changelist, search or autocompletes (or are refused them), get "doesn't exist" for
B's change, history and delete pages, find nothing of B among the add form's
choices, and no admin action run on B's row changes or deletes it.
"""

import pytest
from django.contrib.admin.sites import site as admin_site
from django.contrib.auth import get_user_model
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from stores.models import Store
from stores.services import store_deactivate
from teams.admin_base import StoreScopedAdmin, object_store_id
from teams.permissions import ALL_PERMISSIONS
from teams.scoping import StoreScopedMixin
from teams.services import api_key_create

from .isolation import CannotBuild, _user, build, kwarg_values, make_view, route_model, store_routes

# Views that take a {store} in their path but are not store-scoped endpoints (e.g. a payment
# gateway's webhook, which authenticates by signature). Each needs a reason.
NOT_STORE_SCOPED: dict[str, str] = {
    "payments.views.PaymentWebhookView": "a gateway's notification: no caller to scope; the store's own gateway "
                                         "secret verifies it, and it moves only that store's payments",
}

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ROUTES = store_routes()


def _path(view_class) -> str:
    return f"{view_class.__module__}.{view_class.__qualname__}"


@pytest.fixture(autouse=True)
def _no_throttling(monkeypatch):
    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.allow_request", lambda self, r, v: True)


@pytest.fixture
def stores(store_factory):
    return store_factory(name="Store A", slug="store-a"), store_factory(name="Store B", slug="store-b")


def _call(client: APIClient, method: str, url: str):
    # no body: the view reads it as `{}`, whatever content type it takes (JSON, or multipart for an
    # upload), so a write reaches its lookup; a body of a type it does not take would be 415 first
    return getattr(client, method.lower())(url)


def _declared_public(route, method: str, store: Store) -> bool:
    return make_view(route, method=method, store=store).required_permission() is None


def test_the_walk_finds_the_store_routes():
    found = {str(route) for route in ROUTES}
    for expected in ["stores/(?P<store>", "/members/(?P<user_id>", "/api-keys/(?P<pk>", "/invites"]:
        assert any(expected in route for route in found), expected


def test_every_route_with_a_store_uses_the_scoping_base():
    unscoped = [
        f"{route} → {_path(route.view_class)}" for route in ROUTES
        if not issubclass(route.view_class, StoreScopedMixin) and _path(route.view_class) not in NOT_STORE_SCOPED
    ]
    assert not unscoped, (
        "These routes take {store} but do not use teams.scoping (StoreScopedMixin); scope them, or list "
        f"them with a reason in NOT_STORE_SCOPED: {unscoped}"
    )


def _data(response):
    """What an answer says, without its timestamp: enveloped data and pagination (or the error code); a streamed
    answer (a CSV export), all of it."""
    if response.streaming:
        return b"".join(response.streaming_content)
    try:
        body = response.json()
    except ValueError:
        return response.content
    if not isinstance(body, dict):
        return body
    return body.get("data"), body.get("pagination"), (body.get("error") or {}).get("code")


@pytest.mark.parametrize("route", [r for r in ROUTES if issubclass(r.view_class, StoreScopedMixin)], ids=str)
def test_api_isolation(route, stores):
    store_a, store_b = stores
    member_a = APIClient()
    member_a.force_authenticate(store_a.owner)
    key_a = APIClient()
    key_a.credentials(HTTP_X_API_KEY=api_key_create(store=store_a, name="A's key", scopes=list(ALL_PERMISSIONS))[1])
    anonymous = APIClient()
    stranger = APIClient()
    stranger.force_authenticate(_user())
    insiders = [("A's owner", member_a), ("A's key", key_a)]
    store_kwarg = route.store_kwarg
    is_list = route.kwargs == [store_kwarg] and "GET" in route.methods
    url_a = route.url({store_kwarg: store_a.slug}) if is_list else None
    key_a.get(url_a or "/api/v1/stores")  # the key's first use writes its last_used_at, listed by api-keys
    lists_before = {who: _data(client.get(url_a)) for who, client in insiders} if is_list else {}
    try:
        model = route_model(route, store_b)
        obj_b = build(model, store_b)
        values_b = kwarg_values(route, obj_b, store_b)
    except CannotBuild as exc:
        pytest.fail(str(exc))
    url_b = route.url(values_b)
    url_a_with_b_object = route.url({**values_b, store_kwarg: store_a.slug})
    has_object = len(route.kwargs) > 1
    problems = []

    def expect(method, url, who, response, allowed):
        if response.status_code not in allowed:
            problems.append(f"{method} {url} as {who}: {response.status_code}, expected one of {sorted(allowed)}")

    def target(method: str) -> str:
        # a public write may change or delete the row it is given: each caller writes to a row of its own
        if method == "GET" or not has_object:
            return url_b
        return route.url(kwarg_values(route, build(model, store_b), store_b))

    # A's own lists must not pick up B's row
    for who, client in insiders if is_list else []:
        if _data(client.get(url_a)) != lists_before[who]:
            problems.append(f"GET {url_a} as {who} changed when a row was added to store B")

    for method in METHODS:
        if has_object:
            for who, client in [*insiders, ("anonymous", anonymous)]:
                expected = ({404, 401} if who == "anonymous" else {404}) if method in route.methods else {405}
                expect(method, url_a_with_b_object, who, _call(client, method, url_a_with_b_object), expected)
        if method not in route.methods:
            continue
        public = _declared_public(route, method, store_b)
        if method == "GET" or public:
            anonymous_response = _call(anonymous, method, target(method))
            anonymous_status = anonymous_response.status_code
            if anonymous_status >= 500:
                problems.append(f"{method} {url_b} as anonymous: {anonymous_status}")
            # a public action that needs a login, not a membership (merging a cart, one's own orders): A's owner
            # gets what a logged-in stranger of both stores gets
            stranger_response = None
            if public and anonymous_status == 401:
                stranger_response = _call(stranger, method, target(method))
            for who, client in insiders:
                reference = stranger_response if stranger_response is not None and who == "A's owner" \
                    else anonymous_response
                url = target(method)
                response = _call(client, method, url)
                expect(method, url, who, response, {reference.status_code} if public else {404})
                if public and method == "GET" and _data(response) != _data(reference):
                    problems.append(f"GET {url} as {who} answers other data than to "
                                    f"{'a stranger' if reference is stranger_response else 'anonymous'}")
            if not public:
                expect(method, url_b, "anonymous", anonymous_response, {401, 404})
        else:
            for who, client in insiders:
                expect(method, url_b, who, _call(client, method, url_b), {404})
            expect(method, url_b, "anonymous", _call(anonymous, method, url_b), {401, 404})

    # a deactivated store is gone for everyone but its members
    store_deactivate(store=store_b)
    for method in route.methods:
        for who, client in [*insiders, ("anonymous", anonymous)]:
            expect(method, url_b + " (B inactive)", who, _call(client, method, url_b), {404})

    assert not problems, "\n".join(problems)


# --- the admin ---------------------------------------------------------------

SCOPED_ADMINS = sorted(
    (admin for admin in admin_site._registry.values() if isinstance(admin, StoreScopedAdmin)),
    key=lambda admin: admin.model._meta.label,
)


def _admin_url(model, suffix: str) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


def test_every_admin_of_store_rows_is_store_scoped():
    plain = [
        model._meta.label for model, admin in admin_site._registry.items()
        if not isinstance(admin, StoreScopedAdmin)
        and any(getattr(field, "related_model", None) is Store for field in model._meta.concrete_fields)
    ]
    assert not plain, f"Admins of store-owned models must extend teams.admin_base.StoreScopedAdmin: {plain}"


def _rows_of(queryset, store: Store, other: Store):
    """The rows of a choice queryset that belong to ``store`` (and not to ``other``); None: not store-owned."""
    model = queryset.model
    if model is Store:
        return queryset.filter(pk=store.pk)
    if model is get_user_model():
        return queryset.filter(memberships__store=store).exclude(memberships__store=other)
    related_admin = admin_site._registry.get(model)
    if isinstance(related_admin, StoreScopedAdmin):
        return queryset.filter(**{related_admin.store_field: store})
    if any(field.name == "store" and field.related_model is Store for field in model._meta.concrete_fields):
        return queryset.filter(store=store)
    return None


def _choice_fields(response):
    forms = []
    if response.context.get("adminform") is not None:
        forms.append(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets") or []:
        forms.append(inline.formset.empty_form)
    for form in forms:
        for name, field in form.fields.items():
            if isinstance(field, ModelChoiceField | ModelMultipleChoiceField):
                yield name, field


def _actions_for(model_admin, user) -> list[str]:
    request = RequestFactory().get(_admin_url(model_admin.model, ""))
    request.user = user
    return list(model_admin.get_actions(request))


@pytest.mark.parametrize("role", ["staff", "owner"])
@pytest.mark.parametrize("model_admin", SCOPED_ADMINS, ids=lambda admin: admin.model._meta.label)
def test_admin_isolation(model_admin, role, stores, member_factory):
    store_a, store_b = stores
    model = model_admin.model
    try:
        obj_b = build(model, store_b)
        build(model, store_a)
    except CannotBuild as exc:
        pytest.fail(str(exc))
    user = store_a.owner if role == "owner" else member_factory(store_a, "staff")
    client = Client()
    client.force_login(user)
    problems = []

    # changelist, and a search for B's row
    for params in [{}, {"q": str(obj_b)[:20]}]:
        response = client.get(_admin_url(model, ""), params)
        if response.status_code == 403:  # an admin this role may not read at all shows no rows either
            continue
        if response.status_code != 200:
            problems.append(f"changelist {params}: {response.status_code}")
            continue
        leaked = [row.pk for row in response.context["cl"].result_list
                  if object_store_id(row, model_admin.store_field) != store_a.pk]
        if leaked:
            problems.append(f"changelist {params} shows rows of another store: {leaked}")

    # B's object pages
    for page in ["change/", "history/", "delete/"]:
        response = client.get(_admin_url(model, f"{obj_b.pk}/{page}"), follow=True)
        messages = " ".join(str(message) for message in response.context["messages"]) if response.context else ""
        if not (response.status_code in {403, 404} or "doesn’t exist" in messages or "doesn't exist" in messages):
            problems.append(f"{page} of B's row answered {response.status_code} without 'doesn't exist'")

    # every admin action this user is offered, run on B's row (confirmed, as delete_selected asks)
    before = model._base_manager.filter(pk=obj_b.pk).values().first()
    for name in _actions_for(model_admin, user):
        response = client.post(_admin_url(model, ""), {"action": name, "_selected_action": [obj_b.pk],
                                                      "index": 0, "post": "yes"})
        after = model._base_manager.filter(pk=obj_b.pk).values().first()
        if response.status_code >= 500 or after != before:
            problems.append(f"action {name!r} on B's row: {response.status_code}, "
                            f"{'deleted' if after is None else 'changed' if after != before else 'unchanged'}")

    # the add form's choices
    response = client.get(_admin_url(model, "add/"))
    if response.status_code == 200:
        for name, field in _choice_fields(response):
            rows = _rows_of(field.queryset, store_b, store_a)
            if rows is not None and rows.exists():
                problems.append(f"add form field {name!r} offers rows of another store: {list(rows[:5])}")
    elif response.status_code != 403:
        problems.append(f"add form: {response.status_code}")

    # autocompletes of every foreign key whose target has a searchable admin
    for field in model._meta.concrete_fields:
        target_admin = admin_site._registry.get(getattr(field, "related_model", None))
        if not field.is_relation or target_admin is None or not target_admin.get_search_fields(None):
            continue
        response = client.get("/admin/autocomplete/", {"app_label": model._meta.app_label,
                                                       "model_name": model._meta.model_name,
                                                       "field_name": field.name, "term": ""})
        if response.status_code == 200:
            ids = [row["id"] for row in response.json()["results"]]
            rows = _rows_of(field.related_model._default_manager.filter(pk__in=ids), store_b, store_a)
            if rows is not None and rows.exists():
                problems.append(f"autocomplete of {field.name!r} offers rows of another store")
        elif response.status_code != 403:
            problems.append(f"autocomplete of {field.name!r}: {response.status_code}")

    assert not problems, "\n".join(problems)


def test_the_walk_finds_a_store_however_the_route_names_it():
    from django.urls import re_path

    from .isolation import Route

    class ShopView(StoreScopedMixin):
        store_url_kwarg = "shop"

    def view():
        pass

    view.view_class = ShopView
    scoped = Route(r"api/v1/shops/(?P<shop>[-\w]+)/things/?$", re_path(r"^x$", view))
    plain = Route(r"api/v1/stores/(?P<store_slug>[-\w]+)/things/?$", re_path(r"^x$", lambda request: None))
    assert scoped.store_kwarg == "shop"
    assert plain.store_kwarg == "store_slug"
    assert Route(r"api/v1/notifications/?$", re_path(r"^x$", lambda request: None)).store_kwarg is None
