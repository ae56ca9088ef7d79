"""Throttles keyed in the cache (Redis when REDIS_URL is set), rates from THROTTLE_RATES."""

from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle

from .actor import request_ip


class ClientAddress:
    """Counts an anonymous caller by the client address the fraud checks use (config.api.actor.request_ip):
    REMOTE_ADDR, or with NUM_PROXIES set the address the outermost proxy saw. DRF's own reading takes the whole
    X-Forwarded-For header when NUM_PROXIES is unset, so a client writing a new one each time was never limited."""

    def get_ident(self, request):
        return request_ip(request) or request.META.get("REMOTE_ADDR") or ""


class AnonThrottle(ClientAddress, AnonRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if getattr(request, "api_key", None) is not None:
            return None  # a store's key is counted by UserThrottle, per key, not by client IP
        return super().get_cache_key(request, view)


class UserThrottle(ClientAddress, UserRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            return self.cache_format % {"scope": self.scope, "ident": f"key-{api_key.pk}"}
        return super().get_cache_key(request, view)


class ScopedThrottle(ClientAddress, ScopedRateThrottle):
    """Views set ``throttle_scope`` to one of auth, payments, uploads."""


class PaymentsThrottle(ClientAddress, SimpleRateThrottle):
    """The ``payments`` scope, counted only on requests that start a payment: the view's ``starts_payment(request)``
    says which (a checkout with a card gateway, POST payments). Per API key, per user, else per client IP."""

    scope = "payments"

    def allow_request(self, request, view):
        if not view.starts_payment(request):
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            ident = f"key-{api_key.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


# For a view with ``throttle_scope`` set: the general limits plus its scope's.
SCOPED_THROTTLES = [AnonThrottle, UserThrottle, ScopedThrottle]
# For a view that starts payments (``starts_payment``): the general limits plus the payments scope's.
PAYMENT_THROTTLES = [AnonThrottle, UserThrottle, PaymentsThrottle]
