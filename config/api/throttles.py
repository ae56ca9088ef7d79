"""Throttles keyed in the cache (Redis when REDIS_URL is set), rates from THROTTLE_RATES."""

from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle


class AnonThrottle(AnonRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if getattr(request, "api_key", None) is not None:
            return None  # a store's key is counted by UserThrottle, per key, not by client IP
        return super().get_cache_key(request, view)


class UserThrottle(UserRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            return self.cache_format % {"scope": self.scope, "ident": f"key-{api_key.pk}"}
        return super().get_cache_key(request, view)


class ScopedThrottle(ScopedRateThrottle):
    """Views set ``throttle_scope`` to one of auth, payments, uploads."""


# For a view with ``throttle_scope`` set: the general limits plus its scope's.
SCOPED_THROTTLES = [AnonThrottle, UserThrottle, ScopedThrottle]
