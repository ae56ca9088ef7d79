from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication


class JWTAuthentication(BaseJWTAuthentication):
    """`Authorization: Bearer <access>`; any bad token answers 401 INVALID_TOKEN."""

    www_authenticate_realm = "api"


# The OpenAPI document names the Bearer scheme for our subclass too (spectacular matches exact classes).
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme  # noqa: E402


class JWTScheme(SimpleJWTScheme):
    target_class = "config.api.authentication.JWTAuthentication"
