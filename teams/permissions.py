"""The one permission map: which role may do what in a store (DESIGN.md "Tenancy")."""

STORE_MANAGE = "store.manage"
TEAM_MANAGE = "team.manage"
CATALOG_WRITE = "catalog.write"
ORDERS_MANAGE = "orders.manage"
PAYMENTS_REFUND = "payments.refund"
AUDIT_READ = "audit.read"
WEBHOOKS_MANAGE = "webhooks.manage"

ALL_PERMISSIONS: tuple[str, ...] = (
    STORE_MANAGE, TEAM_MANAGE, CATALOG_WRITE, ORDERS_MANAGE, PAYMENTS_REFUND, AUDIT_READ, WEBHOOKS_MANAGE,
)

OWNER, ADMIN, STAFF, VIEWER = "owner", "admin", "staff", "viewer"
ROLE_CHOICES = [(OWNER, "Owner"), (ADMIN, "Admin"), (STAFF, "Staff"), (VIEWER, "Viewer")]

# Admins hold every permission; what they may not do to owners is a rule of the team services.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    OWNER: frozenset(ALL_PERMISSIONS),
    ADMIN: frozenset(ALL_PERMISSIONS),
    STAFF: frozenset({CATALOG_WRITE, ORDERS_MANAGE}),
    VIEWER: frozenset(),
}

# Roles that may sign in to the merchant admin.
ADMIN_SITE_ROLES = frozenset({OWNER, ADMIN, STAFF})


def role_permissions(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())
