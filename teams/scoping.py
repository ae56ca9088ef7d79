"""The one way every store-scoped endpoint resolves ``{store}``, scopes and checks permissions.

- A method the route does not offer is 405 (with ``Allow``) before anything else: no store
  lookup, no authentication, no permission check.
- ``{store}`` (the slug) resolves to the store; an unknown slug, or an inactive
  store for anyone but its members, is 404.
- ``get_queryset`` is limited to that store (``store_field``), so another store's
  object is 404.
- The caller's role and permissions in the store come from the one tenancy rule
  (``teams.selectors.store_access``, built on ``store_grants``, as the admin base is).
- An action needing a permission: anonymous → 401, not a member → 404,
  a member lacking it → 403 PERMISSION_DENIED.
- A view of a feature that can be switched off names its flag (``feature``, or per action
  ``action_features``): while it is off for the store (``features.flags.is_enabled``), the route
  answers 404 to everyone, members included.
- Writes need ``write_permission`` (store.manage unless a view says otherwise):
  scoping fails closed. Public writes (carts, reviews) opt out per action with
  ``action_permissions = {"create": None}``.
"""

import functools

from django.db import connection
from django.http import Http404
from rest_framework import exceptions, generics, viewsets
from rest_framework.permissions import SAFE_METHODS

from auditlog.models import SecurityKind
from auditlog.security import record_security_event
from config.api.errors import NotFound
from config.db import statement_cursor
from features.flags import is_enabled
from stores.models import Store
from teams.permissions import STORE_MANAGE
from teams.selectors import StoreAccess, store_access

MEMBERS = "members"  # a marker permission: any member (or key) of the store, no specific permission


def store_by_slug(slug) -> Store | None:
    """The store row for ``{store}``, read fresh on every request (a deactivated store must 404 at
    once). The slug is unique: no ORDER BY (``.first()`` sorted by the model's name, id). On
    PostgreSQL one fixed statement read into the model (Store has no converted columns): every
    store-scoped request pays this, and compiling the queryset was most of its cost."""
    if connection.vendor != "postgresql":
        return next(iter(Store.objects.filter(slug=slug).order_by()[:1]), None)
    if not isinstance(slug, str) or "\x00" in slug:  # PostgreSQL text cannot hold NUL: no such store
        return None
    sql, attnames = _store_select()
    cursor = statement_cursor()
    cursor.execute(sql, [slug])
    row = cursor.fetchone()
    return None if row is None else Store.from_db(connection.alias, attnames, row)


@functools.cache
def _store_select() -> tuple[str, list[str]]:
    fields = Store._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    return f"SELECT {columns} FROM {Store._meta.db_table} WHERE slug = %s", [field.attname for field in fields]


class StoreScopedMixin:
    store_url_kwarg = "store"
    store_field = "store"
    members_only = False
    write_permission: str | None = STORE_MANAGE
    action_permissions: dict[str, str | None] = {}
    feature: str | None = None  # a flag of features.registry: off for the store, the view answers 404
    action_features: dict[str, str | None] = {}  # per action, over ``feature``

    store: Store
    access: StoreAccess

    def initial(self, request, *args, **kwargs):
        if not self.offers_method(request.method):
            # DRF would only find this out after initial(): an anonymous PUT would be 401, a
            # non-member's 404. Nothing about the store or the caller decides a 405. (The error's
            # renderer is negotiated when the response is finalized, with this format kwarg.)
            self.format_kwarg = self.get_format_suffix(**kwargs)
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
        slug = kwargs.get(self.store_url_kwarg)
        self.store = store_by_slug(slug)
        if self.store is None:
            raise Http404
        self.access = store_access(store=self.store, user=request.user, api_key=getattr(request, "api_key", None))
        if not self.store.is_active and not self.access.is_member:
            raise Http404
        feature = self.required_feature()
        if feature is not None and not is_enabled(feature, store=self.store):
            raise NotFound("This feature is switched off for this store.", feature=feature)
        permission = self.required_permission()
        if permission is None:
            return
        if not self.access.is_member:
            if not (request.user.is_authenticated or getattr(request, "api_key", None)):
                raise exceptions.NotAuthenticated()
            raise Http404
        if permission != MEMBERS and permission not in self.access.permissions:
            self.permission_denial_record(permission)
            raise exceptions.PermissionDenied(f"You need the {permission} permission in this store.")

    def permission_denial_record(self, permission: str) -> None:
        """Writes ``permission_denied`` to the store's security log: which permission, route and method, who."""
        request = self.request
        api_key = getattr(request, "api_key", None)
        match = getattr(request, "resolver_match", None)
        record_security_event(
            SecurityKind.PERMISSION_DENIED, store_id=self.store.pk, api_key_id=getattr(api_key, "pk", None),
            user_id=request.user.pk if api_key is None and request.user.is_authenticated else None,
            details={"permission": permission, "route": getattr(match, "route", "") or "", "method": request.method,
                     "role": self.access.role},
        )

    def offers_method(self, method: str) -> bool:
        """Whether dispatch() would find a handler for ``method``: a viewset's action map binds
        one per mapped method (HEAD with GET), a generic view defines them."""
        name = method.lower()
        return name in self.http_method_names and hasattr(self, name)

    def required_feature(self) -> str | None:
        action = getattr(self, "action", None)
        if action in self.action_features:
            return self.action_features[action]
        return self.feature

    def required_permission(self) -> str | None:
        action = getattr(self, "action", None)
        if action in self.action_permissions:
            return self.action_permissions[action]
        if self.request.method in SAFE_METHODS:
            return MEMBERS if self.members_only else None
        return self.write_permission

    def has_store_permission(self, permission: str) -> bool:
        return permission in self.access.permissions

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.filter(**{self.store_field: self.store})

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["store"] = getattr(self, "store", None)
        context["access"] = getattr(self, "access", None)
        return context


class StoreScopedViewSet(StoreScopedMixin, viewsets.ModelViewSet):
    pass


class StoreScopedReadOnlyViewSet(StoreScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass


class StoreScopedGenericView(StoreScopedMixin, generics.GenericAPIView):
    pass
