from teams.models import Membership
from teams.permissions import role_permissions

from .models import User


def user_store_permissions(*, user: User) -> list[dict]:
    """Each store the user is a member of, with their role and its permissions (sorted), by slug.

    Platform superusers get no special list: their reach is not a store membership.
    """
    memberships = Membership.objects.filter(user=user).select_related("store").order_by("store__slug")
    return [
        {"store": membership.store.slug, "role": membership.role,
         "permissions": sorted(role_permissions(membership.role))}
        for membership in memberships
    ]
