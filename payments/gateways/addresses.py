"""The addresses a gateway is given to reach us: its webhook URL (``POST /api/v1/payments/webhooks/{gateway}/{store}``)
and where it sends the buyer back.

They start from PUBLIC_BASE_URL when it is set (production: the address the gateways and buyers reach this API at,
whatever proxy is in front), else from the host of the request being served (``Host`` is checked against
ALLOWED_HOSTS; behind a TLS proxy set SECURE_PROXY_SSL_HEADER or PUBLIC_BASE_URL, or the scheme is http). Outside a
request (a task, a command) with no PUBLIC_BASE_URL there is no address: "" — the gateway then uses what its
dashboard holds.
"""

from urllib.parse import quote

from django.conf import settings

from config.api.middleware import current_request_var


def public_base_url() -> str:
    """Where this API is reached, without a trailing slash, or "" when nothing says."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL
    request = current_request_var.get()
    if request is None:
        return ""
    return request.build_absolute_uri("/").rstrip("/")


def _address(kind: str, gateway: str, store_slug: str) -> str:
    base = public_base_url()
    return f"{base}/api/v1/payments/{kind}/{quote(gateway, safe='')}/{quote(store_slug, safe='')}" if base else ""


def webhook_url(gateway: str, store_slug: str) -> str:
    """The address the gateway posts its notifications to for this store ("" when unknown)."""
    return _address("webhooks", gateway, store_slug)


def return_url(gateway: str, store_slug: str) -> str:
    """The address the gateway sends the buyer back to for this store ("" when unknown)."""
    return _address("return", gateway, store_slug)
