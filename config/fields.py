"""Model fields for secrets at rest: encrypted with FIELD_ENCRYPTION_KEY (Fernet)."""

import base64
import binascii
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(key: str) -> Fernet:
    """A Fernet for a 32-byte key given in base64 (standard or URL-safe alphabet)."""
    try:
        raw = base64.urlsafe_b64decode(key.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be base64") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must decode to 32 bytes")
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt(value: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY") from exc


def mask(value: str | None) -> str:
    """How a secret is shown after it is saved: "••••" and its last four characters."""
    return "••••" + value[-4:] if value else ""


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plain string."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
