from dataclasses import dataclass

from stores.models import Store

from .models import Membership
from .permissions import ALL_PERMISSIONS, role_permissions


@dataclass(frozen=True)
class Grant:
    """What a caller may do in one store."""

    role: str  # "owner" … "viewer"; "api_key" for a key of this store; "superuser"
    permissions: frozenset[str]


@dataclass(frozen=True)
class StoreAccess:
    """What the caller of a request may do in one store."""

    store: Store
    role: str | None  # "owner" … "viewer"; "api_key" for a key of this store; None for outsiders
    permissions: frozenset[str]

    @property
    def is_member(self) -> bool:
        return self.role is not None


def store_grants(*, user, api_key=None, store_id: int | None = None,
                 roles: frozenset[str] | None = None) -> dict[int, Grant] | None:
    """The one tenancy rule: the stores the caller may act in, store id → role and permissions (the
    map in teams.permissions); None means every store with every permission (a platform superuser).

    A member holds their role's permissions; an API key its scopes, in its own store only; anyone
    else nothing. ``store_id`` asks about one store, ``roles`` keeps only members with one of them
    (the admin site: owner, admin, staff). One query at most. The API base (``store_access``), the
    admin base and the audit log all read it.
    """
    if api_key is not None:
        if store_id is not None and api_key.store_id != store_id:
            return {}
        return {api_key.store_id: Grant("api_key", frozenset(api_key.scopes) & frozenset(ALL_PERMISSIONS))}
    if user is None or not user.is_authenticated:
        return {}
    if user.is_superuser:
        return None
    memberships = Membership.objects.filter(user=user)
    if store_id is not None:
        memberships = memberships.filter(store_id=store_id)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return {sid: Grant(role, role_permissions(role)) for sid, role in memberships.values_list("store_id", "role")}


def store_ids_with(grants: dict[int, Grant] | None, permission: str | None) -> list[int] | None:
    """The stores of ``grants`` (``store_grants``) where ``permission`` is held (None: any grant);
    None means every store."""
    if grants is None:
        return None
    return [sid for sid, grant in grants.items() if permission is None or permission in grant.permissions]


def store_access(*, store: Store, user, api_key=None) -> StoreAccess:
    """The caller's role and permissions in ``store`` (``store_grants`` for one store)."""
    grants = store_grants(user=user, api_key=api_key, store_id=store.pk)
    if grants is None:
        return StoreAccess(store, "superuser", frozenset(ALL_PERMISSIONS))
    grant = grants.get(store.pk)
    return StoreAccess(store, None, frozenset()) if grant is None else StoreAccess(store, grant.role, grant.permissions)


def user_store_permissions(*, user) -> list[dict]:
    """Each store the user is a member of, with their role and its permissions (sorted), by slug.

    Platform superusers get no special list: their reach is not a store membership.
    """
    memberships = Membership.objects.filter(user=user).select_related("store").order_by("store__slug")
    return [
        {"store": membership.store.slug, "role": membership.role,
         "permissions": sorted(role_permissions(membership.role))}
        for membership in memberships
    ]
