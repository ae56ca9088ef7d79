"""Model fields for secrets at rest: AES-256-GCM under FIELD_ENCRYPTION_KEY, each value naming its key.

A stored value is ``aes256gcm:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`` with a fresh 96-bit nonce per write
and the header as associated data (a value cannot be relabelled with another key id). The key id is derived from
the key (a truncated SHA-256 that reveals nothing of it), so operators name no ids. Reading takes the key the value
names: FIELD_ENCRYPTION_KEY or one of FIELD_ENCRYPTION_OLD_KEYS. Values written before this format (Fernet tokens,
``gAAAA…``) are still read, with any of the keys. Writing always uses FIELD_ENCRYPTION_KEY, and
``manage.py rotate_encryption_key`` rewrites every stored value that names another key (config/api/management).
"""

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

SCHEME = "aes256gcm"
NONCE_BYTES = 12


class SecretUnreadable(ImproperlyConfigured):
    """A stored secret no configured key decrypts (its key was dropped from the settings, or it was altered)."""


def _key_bytes(key: str) -> bytes:
    """A 32-byte key given in base64 (standard or URL-safe alphabet)."""
    try:
        raw = base64.urlsafe_b64decode(key.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be base64") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must decode to 32 bytes")
    return raw


def key_id(raw: bytes) -> str:
    """The id a value encrypted with ``raw`` carries: 12 hex characters of a hash of it."""
    return hashlib.sha256(b"field-encryption-key-id:" + raw).hexdigest()[:12]


@dataclass(frozen=True)
class Keyring:
    current_id: str
    ciphers: dict[str, AESGCM]  # key id → cipher: the current key and the old ones
    fernets: tuple[Fernet, ...]  # the same keys, for values written before AES-GCM


@cache
def _keyring(current: str, old: tuple[str, ...]) -> Keyring:
    raws = [_key_bytes(current), *(_key_bytes(key) for key in old)]
    ciphers: dict[str, AESGCM] = {}
    for raw in raws:
        ciphers.setdefault(key_id(raw), AESGCM(raw))
    return Keyring(current_id=key_id(raws[0]), ciphers=ciphers,
                   fernets=tuple(Fernet(base64.urlsafe_b64encode(raw)) for raw in raws))


def keyring() -> Keyring:
    """The configured keys (FIELD_ENCRYPTION_KEY first, then FIELD_ENCRYPTION_OLD_KEYS)."""
    return _keyring(settings.FIELD_ENCRYPTION_KEY, tuple(getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", ())))


def _header(kid: str) -> bytes:
    return f"{SCHEME}:{kid}:".encode()


def encrypt(value: str) -> str:
    """``value`` encrypted with the current key, as stored."""
    keys = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = keys.ciphers[keys.current_id].encrypt(nonce, value.encode(), _header(keys.current_id))
    return _header(keys.current_id).decode() + base64.urlsafe_b64encode(nonce + sealed).decode()


def stored_key_id(token: str) -> str | None:
    """The key id a stored value names; None for a value written before AES-GCM (Fernet)."""
    scheme, _, rest = token.partition(":")
    return rest.partition(":")[0] if scheme == SCHEME else None


def is_current(token: str) -> bool:
    """Whether a stored value is encrypted with the current key (``rotate_encryption_key`` skips it)."""
    return stored_key_id(token) == keyring().current_id


def decrypt(token: str) -> str:
    """The plain text of a stored value. Raises SecretUnreadable (never showing the value) when no configured key
    opens it."""
    keys = keyring()
    kid = stored_key_id(token)
    if kid is None:
        for fernet in keys.fernets:
            try:
                return fernet.decrypt(token.encode()).decode()
            except InvalidToken:
                continue
        raise SecretUnreadable("A stored secret (an older Fernet value) opens with none of FIELD_ENCRYPTION_KEY and "
                               "FIELD_ENCRYPTION_OLD_KEYS.")
    cipher = keys.ciphers.get(kid)
    if cipher is None:
        raise SecretUnreadable(f"A stored secret was encrypted with key id {kid}, which is neither "
                               "FIELD_ENCRYPTION_KEY nor in FIELD_ENCRYPTION_OLD_KEYS.")
    try:
        sealed = base64.urlsafe_b64decode(token[len(_header(kid)):])
        return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _header(kid)).decode()
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise SecretUnreadable(f"A stored secret under key id {kid} does not decrypt: it was altered.") from exc


def reencrypt(token: str) -> str:
    """A stored value, encrypted again with the current key."""
    return encrypt(decrypt(token))


MASK = "••••"
MASK_SHOWS_FROM = 12  # a shorter secret shows none of its characters: the last four would give most of it away


def mask(value: str | None) -> str:
    """How a secret is shown after it is saved: "••••" and its last four characters ("••••" alone for a short
    one; "" when none is set)."""
    if not value:
        return ""
    return MASK + value[-4:] if len(value) >= MASK_SHOWS_FROM else MASK


class EncryptedTextField(models.TextField):
    """Stores AES-256-GCM ciphertext naming its key; Python code sees the plain string. Empty stays empty."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value


# --- key rotation (manage.py rotate_encryption_key) ---------------------------------
@dataclass
class RotationCount:
    rotated: int = 0  # re-encrypted with the current key
    current: int = 0  # already under it (or rewritten by someone else meanwhile)
    unreadable: int = 0  # no configured key opens it: left as it is


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every EncryptedTextField column of every installed model."""
    from django.apps import apps

    return [(model, field) for model in apps.get_models() for field in model._meta.local_concrete_fields
            if isinstance(field, EncryptedTextField)]


def field_rotate(model: type[models.Model], field: EncryptedTextField, *, batch_size: int = 500,
                 dry_run: bool = False) -> RotationCount:
    """Re-encrypts with the current key every value of one column that names another key (or is Fernet).

    Row by row, each a compare-and-swap (``UPDATE … WHERE pk = %s AND column = <the ciphertext read>``) in its own
    transaction: a value someone rewrites meanwhile is never overwritten with the older one re-encrypted; it is read
    again instead. Reads raw ciphertext (the field's converters would decrypt it), in primary-key order, a batch at
    a time. Safe to run again: current values are skipped. Values no key opens are counted, never changed.
    """
    from django.db import connections, router, transaction

    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    table, column, pk = quote(model._meta.db_table), quote(field.column), quote(model._meta.pk.column)
    count = RotationCount()
    last = None
    while True:
        with connection.cursor() as cursor:
            where = f"WHERE {pk} > %s " if last is not None else ""
            cursor.execute(f"SELECT {pk}, {column} FROM {table} {where}ORDER BY {pk} LIMIT %s",
                           [*([last] if last is not None else []), batch_size])
            rows = cursor.fetchall()
        if not rows:
            return count
        last = rows[-1][0]
        for row_pk, token in rows:
            for _ in range(10):  # rewritten meanwhile: read it again (10 rewrites in a row: leave it for a re-run)
                if not token or is_current(token):
                    count.current += bool(token)
                    break
                try:
                    fresh = reencrypt(token)
                except SecretUnreadable:
                    count.unreadable += 1
                    break
                if dry_run:
                    count.rotated += 1
                    break
                with transaction.atomic(using=using), connection.cursor() as cursor:
                    cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",
                                   [fresh, row_pk, token])
                    swapped = cursor.rowcount == 1
                    if not swapped:
                        cursor.execute(f"SELECT {column} FROM {table} WHERE {pk} = %s", [row_pk])
                        found = cursor.fetchone()
                if swapped:
                    count.rotated += 1
                    break
                if found is None:
                    break  # deleted meanwhile
                token = found[0]
