"""Response headers a view asks for."""

from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

# For a view method whose answer carries a token or a secret (login, refresh, 2FA setup, a new API key or webhook
# endpoint, a payment's client_secret): Django's never_cache, so neither the browser nor a proxy keeps it
# (Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private). Put it above @idempotent, so a
# replayed answer carries it too.
no_store = method_decorator(never_cache)


def response_no_store(response):
    """The same headers as ``no_store``, on one answer a view decides carries a secret (an order whose pending
    payment shows its Stripe ``client_secret``)."""
    add_never_cache_headers(response)
    return response
