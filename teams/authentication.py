"""`X-API-Key: <key>`: a store's integration key (API.md "Conventions")."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from auditlog.security import api_key_address_seen
from config.api.actor import request_ip

from .services import api_key_authenticate

HEADER = "X-API-Key"


class InvalidApiKey(exceptions.AuthenticationFailed):
    error_code = "INVALID_API_KEY"
    default_detail = "The API key is invalid or revoked."


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a store's key: ``request.user`` stays anonymous, ``request.auth`` and
    ``request.api_key`` are the key. What it may do is decided per store by
    ``teams.selectors.store_access`` (its scopes, in its own store only)."""

    def authenticate(self, request):
        raw = request.headers.get(HEADER)
        if raw is None:
            return None
        api_key = api_key_authenticate(key=raw.strip())
        if api_key is None:
            raise InvalidApiKey()
        # On the Django request too: DRF's Request proxies attribute reads to it, and
        # code holding the plain HttpRequest (middleware, logging) sees the key as well.
        request._request.api_key = api_key
        # the security log's api_key_new_address; a known address costs nothing (auditlog.security)
        api_key_address_seen(api_key_id=api_key.pk, store_id=api_key.store_id, ip=request_ip(request))
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        return HEADER


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "teams.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": HEADER}
