from dataclasses import dataclass

from stores.models import Store

from .models import Membership
from .permissions import ALL_PERMISSIONS, role_permissions


@dataclass(frozen=True)
class StoreAccess:
    """What the caller of a request may do in one store."""

    store: Store
    role: str | None  # "owner" … "viewer"; "api_key" for a key of this store; None for outsiders
    permissions: frozenset[str]

    @property
    def is_member(self) -> bool:
        return self.role is not None


def store_access(*, store: Store, user, api_key=None) -> StoreAccess:
    """The caller's role and permissions in ``store``: a member's role, a key's scopes, or none.

    Platform superusers hold every permission in every store.
    """
    if api_key is not None:
        if api_key.store_id == store.pk:
            return StoreAccess(store, "api_key", frozenset(api_key.scopes) & frozenset(ALL_PERMISSIONS))
        return StoreAccess(store, None, frozenset())
    if user is None or not user.is_authenticated:
        return StoreAccess(store, None, frozenset())
    if user.is_superuser:
        return StoreAccess(store, "superuser", frozenset(ALL_PERMISSIONS))
    role = Membership.objects.filter(store=store, user=user).values_list("role", flat=True).first()
    return StoreAccess(store, role, role_permissions(role) if role else frozenset())


def store_ids_for_user(user, *, roles: frozenset[str] | None = None) -> list[int]:
    """Ids of the stores where ``user`` has a membership (optionally with one of ``roles``)."""
    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return list(memberships.values_list("store_id", flat=True))
