"""Who a request acts as, in the one form services take (docs/ARCHITECTURE.md "Actor").

Services take ``actor``: a User, an ApiKey, or None (anonymous or the system), never the
request. Views and admins turn their request into that actor here; the audit log reads
IP, user agent and request id from the request being served (config.api.middleware).
Duck-typed so the ground floor imports no app.
"""

import ipaddress
from typing import Any

from django.conf import settings


def request_actor(request) -> Any:
    """The request's API key, else its authenticated user, else None (anonymous or no request)."""
    if request is None:
        return None
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return api_key
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def request_ip(request) -> str | None:
    """The client's IP address: REMOTE_ADDR, or with ``NUM_PROXIES`` proxies in front the address the outermost of
    them saw (X-Forwarded-For read from the right, as DRF's throttles read it; what a client writes further left is
    ignored). None when there is none or it is no IP (a unix socket)."""
    if request is None:
        return None
    meta = getattr(request, "META", {})
    value = meta.get("REMOTE_ADDR")
    proxies = settings.NUM_PROXIES
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        value = hops[-min(proxies, len(hops))]
    if not value or not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
