"""Helpers of the isolation tests: enumerate store routes and admins, and build a row of any model in a store.

``build(model, store)`` uses FACTORIES when the model is listed there and
otherwise fills the model's required fields itself (parents are built in the
same store). When neither works the tests fail and name the model: add a
factory here. Route kwargs that are neither the view's lookup nor a parent
named after a field (``product_pk`` → ``obj.product.pk``) go in KWARG_VALUES.
"""

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from stores.models import Store

_counter = itertools.count(1)


class CannotBuild(Exception):
    pass


def _user(store: Store | None = None, role: str | None = None):
    n = next(_counter)
    user = get_user_model().objects.create_user(email=f"iso{n}@example.com", password="Iso-pass-123", name=f"Iso {n}")
    if store is not None and role is not None:
        from teams.models import Membership

        Membership.objects.create(store=store, user=user, role=role)
    return user


def _membership(store: Store):
    from teams.models import Membership

    return Membership.objects.create(store=store, user=_user(), role="staff")


def _api_key(store: Store):
    from teams.services import api_key_create

    return api_key_create(store=store, name=f"key {next(_counter)}", scopes=[])[0]


def _invitation(store: Store):
    from teams.models import Invitation

    return Invitation.objects.create(
        store=store, email=f"invitee{next(_counter)}@example.com", role="staff",
        token_hash=uuid.uuid4().hex * 2, expires_at=timezone.now() + timedelta(days=7),
    )


# model label → a function making one row of that model in the given store.
FACTORIES: dict[str, Callable[[Store], models.Model]] = {
    "stores.Store": lambda store: store,
    "teams.Membership": _membership,
    "teams.ApiKey": _api_key,
    "teams.Invitation": _invitation,
}

def _child(label: str, parent_field: str) -> Callable[[models.Model], object]:
    """A kwarg naming a child of the route's object: build one under it and answer its pk."""

    def make(obj: models.Model) -> object:
        from django.apps import apps

        store = Store.objects.get(pk=_store_id_of(obj))
        return build(apps.get_model(label), store, **{parent_field: obj}).pk

    return make


def _store_id_of(obj: models.Model) -> int:
    return obj.pk if isinstance(obj, Store) else obj.store_id


# (model label or "*", url kwarg) → the kwarg's value for a row ``obj`` of that model.
KWARG_VALUES: dict[tuple[str, str], Callable[[models.Model], object]] = {
    ("notifications.WebhookEndpoint", "delivery_id"): _child("notifications.WebhookDelivery", "endpoint"),
}


def build(model: type[models.Model], store: Store, **overrides) -> models.Model:
    """One saved row of ``model`` belonging to ``store`` (``overrides`` set fields, e.g. a parent)."""
    factory = FACTORIES.get(model._meta.label)
    if factory is not None and not overrides:
        return factory(store)
    values = dict(overrides)
    for field in model._meta.concrete_fields:
        if field.name in values:
            continue
        if isinstance(field, models.AutoField) or getattr(field, "auto_now", False) or getattr(
            field, "auto_now_add", False
        ):
            continue
        if field.is_relation:
            related = field.related_model
            if related is Store or (related is model and field.null):
                if related is Store:
                    values[field.name] = store
                continue
            if field.null:
                continue
            values[field.name] = _user() if related is get_user_model() else build(related, store)
            continue
        if field.has_default() or field.null or (field.blank and field.empty_strings_allowed):
            continue
        values[field.attname] = _value(model, field)
    try:
        obj = model(**values)
        obj.save()
    except Exception as exc:
        raise CannotBuild(
            f"Could not build a {model._meta.label} in a store ({exc!r}); add a factory for it to "
            "FACTORIES in tests/isolation.py."
        ) from exc
    return obj


def _value(model, field):
    n = next(_counter)
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.EmailField):
        return f"iso{n}@example.com"
    if isinstance(field, models.URLField):
        return f"https://example.com/{n}"
    if isinstance(field, models.SlugField | models.CharField):
        return f"iso-{n}"[: field.max_length or 50]
    if isinstance(field, models.TextField):
        return f"iso text {n}"
    if isinstance(field, models.BooleanField):
        return True
    if isinstance(field, models.DecimalField):
        return Decimal("1")
    if isinstance(field, models.FloatField):
        return 1.0
    if isinstance(field, models.IntegerField):
        return 1
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate()
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.FileField):
        return f"iso/{n}.png"
    if isinstance(field, models.BinaryField):
        return b"iso"
    raise CannotBuild(
        f"No value for {model._meta.label}.{field.name} ({type(field).__name__}); add a factory for "
        f"{model._meta.label} to FACTORIES in tests/isolation.py."
    )


@dataclass(frozen=True)
class Route:
    regex: str  # the full pattern, resolver prefixes included
    pattern: URLPattern

    @property
    def kwargs(self) -> list[str]:
        return re.findall(r"\(\?P<(\w+)>", self.regex)

    @property
    def store_kwarg(self) -> str | None:
        """The kwarg naming the store: the scoping base's ``store_url_kwarg``, else ``store``, else the
        group right after ``stores/`` (a view that names it otherwise is still found)."""
        view = self.view_class
        name = getattr(view, "store_url_kwarg", None)
        if name in self.kwargs:
            return name
        if "store" in self.kwargs:
            return "store"
        match = re.search(r"stores/\(\?P<(\w+)>", self.regex)
        return match.group(1) if match else None

    @property
    def view_class(self):
        callback = self.pattern.callback
        return getattr(callback, "cls", None) or getattr(callback, "view_class", None)

    @property
    def actions(self) -> dict[str, str]:
        return dict(getattr(self.pattern.callback, "actions", None) or {})

    @property
    def methods(self) -> list[str]:
        """The HTTP methods the route answers (other than HEAD and OPTIONS)."""
        view = self.view_class
        allowed = set(getattr(view, "http_method_names", ["get", "post", "put", "patch", "delete"]))
        if self.actions:
            return [m.upper() for m in self.actions if m in allowed and m not in {"head", "options"}]
        return [m.upper() for m in ("get", "post", "put", "patch", "delete") if m in allowed and hasattr(view, m)]

    def __str__(self) -> str:
        return self.regex

    def url(self, values: dict[str, object]) -> str:
        path = self.regex
        for name in self.kwargs:
            path = re.sub(rf"\(\?P<{name}>(?:[^()]|\([^()]*\))*\)", str(values[name]), path, count=1)
        path = path.replace("^", "").replace("$", "").replace("/?", "").replace("\\", "")
        return "/" + path


def _regex_of(pattern) -> str:
    if hasattr(pattern.pattern, "regex") and not hasattr(pattern.pattern, "_route"):
        return pattern.pattern.regex.pattern
    # a path() route: <conv:name> → a named group, so both kinds read alike
    return re.sub(r"<(?:\w+:)?(\w+)>", r"(?P<\1>[^/]+)", str(pattern.pattern))


def all_routes(resolver=None, prefix: str = "") -> list[Route]:
    resolver = resolver or get_resolver()
    routes = []
    for pattern in resolver.url_patterns:
        regex = prefix + _regex_of(pattern).lstrip("^") if prefix else _regex_of(pattern)
        if isinstance(pattern, URLResolver):
            routes += all_routes(pattern, regex.rstrip("$"))
        elif isinstance(pattern, URLPattern):
            routes.append(Route(regex, pattern))
    return routes


def store_routes() -> list[Route]:
    """Every route with a store in its path: ``{store}``, the kwarg its view's scoping base names
    (``store_url_kwarg``), or any kwarg right after ``stores/``."""
    return [route for route in all_routes() if route.store_kwarg is not None]


def make_view(route: Route, *, method: str, store: Store, user=None):
    """The route's view, set up as for a request (no dispatch): to ask its queryset and permissions."""
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.request import Request

    from teams.selectors import store_access

    view = route.view_class(**getattr(route.pattern.callback, "initkwargs", {}))
    django_request = getattr(APIRequestFactory(), method.lower())("/")
    request = Request(django_request)
    request.user = user or AnonymousUser()
    view.request, view.args, view.kwargs, view.format_kwarg = request, (), {route.store_kwarg: store.slug}, None
    view.action = route.actions.get(method.lower())
    view.store = store
    view.access = store_access(store=store, user=request.user)
    return view


def route_model(route: Route, store: Store) -> type[models.Model]:
    """The model behind a route: its view's queryset's model."""
    for method in route.methods or ["GET"]:
        view = make_view(route, method=method, store=store)
        view.swagger_fake_view = True
        try:
            return view.get_queryset().model
        except Exception:  # noqa: BLE001 - try the next method, then the class attribute
            continue
    queryset = getattr(route.view_class, "queryset", None)
    if queryset is not None:
        return queryset.model
    raise CannotBuild(f"{route}: cannot tell which model {route.view_class.__name__} serves (no get_queryset()).")


def kwarg_values(route: Route, obj: models.Model, store: Store) -> dict[str, object]:
    """Values for the route's kwargs: ``store``'s slug, and what points at ``obj`` (or its parents)."""
    view = route.view_class
    lookup_kwarg = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "pk")
    lookup_field = getattr(view, "lookup_field", "pk")
    values: dict[str, object] = {}
    for name in route.kwargs:
        label = obj._meta.label
        if name == route.store_kwarg:
            values[name] = store.slug
        elif (label, name) in KWARG_VALUES or ("*", name) in KWARG_VALUES:
            values[name] = KWARG_VALUES.get((label, name), KWARG_VALUES.get(("*", name)))(obj)
        elif name == lookup_kwarg:
            values[name] = getattr(obj, lookup_field)
        else:
            base = re.sub(r"_(pk|id)$", "", name)
            parent = getattr(obj, base, None)
            if isinstance(parent, models.Model):
                values[name] = parent.pk
            elif hasattr(obj, name) and not callable(getattr(obj, name)):
                values[name] = getattr(obj, name)
            else:
                raise CannotBuild(
                    f"{route}: no value for the kwarg {name!r} from a {label}; add it to KWARG_VALUES "
                    "in tests/isolation.py."
                )
    return values
