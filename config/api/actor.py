"""Who a request acts as, in the one form services take (docs/ARCHITECTURE.md "Actor").

Services take ``actor``: a User, an ApiKey, or None (anonymous or the system), never the
request. Views and admins turn their request into that actor here; the audit log reads
IP, user agent and request id from the request being served (config.api.middleware).
Duck-typed so the ground floor imports no app.
"""

import ipaddress
from typing import Any


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
    """The client's IP address as the server saw it (REMOTE_ADDR, as the audit log records it: X-Forwarded-For is
    the client's to write unless a proxy rewrites it), or None when there is none or it is no IP (a unix socket)."""
    value = getattr(request, "META", {}).get("REMOTE_ADDR") if request is not None else None
    if not value or not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
