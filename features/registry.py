"""The known feature flags, in one list: their name, default, scope and what switching them off does. The README's
"Feature flags" section, the admin's choices and GET …/features read it; a new flag is a line here (no migration)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    name: str
    default: bool
    platform_only: bool  # True: one switch for the whole platform (superusers); False: a store may switch it off too
    description: str


FLAGS: tuple[Flag, ...] = (
    Flag("analytics", True, False,
         "Storefront analytics: POST …/analytics/events and GET …/dashboard (off: both 404, the admin index shows "
         "no figures)."),
    Flag("reviews", True, False,
         "Product reviews: …/products/{id}/reviews (off: 404; the admin hides the store's reviews)."),
    Flag("coupons", True, False,
         "Coupons: …/coupons, …/carts/{id}/coupon (off: 404), a cart's `coupon` and an order's `coupon_code` "
         "absent, a coupon already on a cart dropped (checkout refuses it); the admin hides the store's coupons."),
    Flag("guest_checkout", True, False,
         "Checkout without signing in (off: an anonymous POST …/checkout is 401 AUTHENTICATION_REQUIRED; guests "
         "may still fill carts, merged when they sign in)."),
    Flag("social_login", True, True,
         "Signing in with Google, GitHub or an OpenID Connect provider (off: its routes 404)."),
)

REGISTRY: dict[str, Flag] = {flag.name: flag for flag in FLAGS}
STORE_FLAGS: tuple[str, ...] = tuple(flag.name for flag in FLAGS if not flag.platform_only)


def flag_get(name: str) -> Flag:
    """The registry's entry for ``name``; an unknown name is a programming error (ValueError)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown feature flag {name!r}; known: {', '.join(REGISTRY)}") from None
