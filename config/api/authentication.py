from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication


class JWTAuthentication(BaseJWTAuthentication):
    """`Authorization: Bearer <access>`; any bad token answers 401 INVALID_TOKEN."""

    www_authenticate_realm = "api"
