"""Secrets at rest (config/fields.py): AES-256-GCM naming its key, old keys and older Fernet values still read."""

import base64
import os

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from accounts.models import User
from config import fields
from config.fields import SecretUnreadable, decrypt, encrypt, is_current, mask, stored_key_id

NEW_KEY = base64.b64encode(b"n" * 32).decode()


def raw_column(model, pk, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_a_value_is_aes_gcm_naming_its_key_and_never_the_same_twice():
    first, second = encrypt("sk_test_abc"), encrypt("sk_test_abc")

    assert first.startswith(f"aes256gcm:{fields.keyring().current_id}:")
    assert first != second  # a fresh nonce each time
    assert "sk_test_abc" not in first
    assert decrypt(first) == decrypt(second) == "sk_test_abc"
    assert is_current(first)


def test_an_altered_value_or_relabelled_key_id_is_refused_without_showing_it():
    token = encrypt("whsec_live_value")
    body = token.rsplit(":", 1)[1]
    flipped = token[:-len(body)] + body[:10] + ("A" if body[10] != "A" else "B") + body[11:]

    with pytest.raises(SecretUnreadable) as altered:
        decrypt(flipped)
    with pytest.raises(SecretUnreadable, match="key id 000000000000"):
        decrypt(f"aes256gcm:000000000000:{body}")

    assert "whsec_live_value" not in str(altered.value)


def test_a_rotated_key_reads_old_values_and_writes_new_ones(settings):
    old_token = encrypt("totp-seed")
    old_id = stored_key_id(old_token)

    settings.FIELD_ENCRYPTION_OLD_KEYS = [settings.FIELD_ENCRYPTION_KEY]
    settings.FIELD_ENCRYPTION_KEY = NEW_KEY
    new_token = encrypt("totp-seed")

    assert decrypt(old_token) == "totp-seed"
    assert not is_current(old_token)
    assert stored_key_id(new_token) != old_id and is_current(new_token)
    # once the old key is dropped, its values are refused (naming the key id, not the value)
    settings.FIELD_ENCRYPTION_OLD_KEYS = []
    with pytest.raises(SecretUnreadable, match=old_id):
        decrypt(old_token)


def test_values_written_with_fernet_before_are_still_read(settings):
    raw = base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEY.replace("+", "-").replace("/", "_"))
    legacy = Fernet(base64.urlsafe_b64encode(raw)).encrypt(b"legacy-secret").decode()

    assert stored_key_id(legacy) is None and not is_current(legacy)
    assert decrypt(legacy) == "legacy-secret"
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY, FIELD_ENCRYPTION_OLD_KEYS=[settings.FIELD_ENCRYPTION_KEY]):
        assert decrypt(legacy) == "legacy-secret"  # under an old key too
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY, FIELD_ENCRYPTION_OLD_KEYS=[]), \
            pytest.raises(SecretUnreadable):
        decrypt(legacy)


@pytest.mark.django_db
def test_the_field_stores_ciphertext_and_answers_plain_text(user_factory):
    user = user_factory()
    User.objects.filter(pk=user.pk).update(totp_secret="JBSWY3DPEHPK3PXP")

    stored = raw_column(User, user.pk, "totp_secret")

    assert stored.startswith("aes256gcm:") and "JBSWY3DPEHPK3PXP" not in stored
    assert User.objects.get(pk=user.pk).totp_secret == "JBSWY3DPEHPK3PXP"
    assert User.objects.values_list("totp_secret", flat=True).get(pk=user.pk) == "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize("value, shown", [("", ""), (None, ""), ("abcd", "••••"), ("11111", "••••"),
                                          ("sk_test_4eC39HqLyjWD", "••••yjWD")])
def test_mask_shows_the_last_four_of_a_long_secret_only(value, shown):
    assert mask(value) == shown


def test_startup_refuses_an_old_key_that_is_not_32_bytes():
    from config.api.tests.test_settings import load_settings

    short = base64.b64encode(os.urandom(16)).decode()
    result = load_settings(DEBUG="1", FIELD_ENCRYPTION_OLD_KEYS=f"{NEW_KEY},{short}")

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_OLD_KEYS must be 32 random bytes" in result.stderr
