import pyotp
import pytest


@pytest.fixture
def two_factor_user(user_factory):
    """A user with 2FA on; ``.secret`` holds their TOTP secret."""
    user = user_factory(email="bob@example.com", name="Bob")
    user.totp_secret = pyotp.random_base32()
    user.two_factor_enabled = True
    user.save()
    user.secret = user.totp_secret
    return user


@pytest.fixture
def login(api, password):
    """POSTs to /auth/login; returns the response."""

    def do(email: str, password: str = password, **extra):
        return api.post("/api/v1/auth/login", {"email": email, "password": password, **extra}, format="json")

    return do
