"""manage.py rotate_encryption_key: every encrypted column of every model re-encrypted with the current key, row by
row, never losing a concurrent write, safe to run again."""

import base64
import io
import threading

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from accounts.models import User
from config.fields import encrypt, encrypted_fields, is_current, keyring
from notifications.models import WebhookEndpoint
from payments.models import GatewaySetting
from payments.services import gateway_setting_update
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=False)

NEW_KEY = base64.b64encode(b"r" * 32).decode()
STRANGER_KEY = base64.b64encode(b"s" * 32).decode()


def raw(model, pk, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def rotate(*args) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_key(settings):
    """FIELD_ENCRYPTION_KEY becomes NEW_KEY; the key it was (answered) becomes an old key."""
    old = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_OLD_KEYS = NEW_KEY, [old]
    return old


def test_every_encrypted_column_of_every_model_is_found():
    assert {f"{model._meta.label}.{field.name}" for model, field in encrypted_fields()} >= {
        "accounts.User.totp_secret", "notifications.WebhookEndpoint.secret", "payments.GatewaySetting.secrets",
        "social.SocialAppSecret.secret"}


def test_rotation_re_encrypts_everything_with_the_new_key_and_a_second_run_does_nothing(
        store, user_factory, settings):
    # given secrets written with the current key, one Fernet value from before AES-GCM, and an empty one
    user, empty = user_factory(), user_factory()
    User.objects.filter(pk=user.pk).update(totp_secret="JBSWY3DPEHPK3PXP")
    raw_key = base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEY.replace("+", "-").replace("/", "_"))
    legacy = Fernet(base64.urlsafe_b64encode(raw_key)).encrypt(b"whsec_legacy").decode()
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://example.com/hook", events=["order.paid"])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notifications_webhookendpoint SET secret = %s WHERE id = %s", [legacy, endpoint.pk])
    setting = GatewaySetting.objects.create(store=store, gateway="cod", secrets='{"api_key": "k-1"}')
    updated_at = GatewaySetting.objects.get(pk=setting.pk).updated_at
    old_id = keyring().current_id

    # when the key changes (the old one kept readable) and the command runs
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY, FIELD_ENCRYPTION_OLD_KEYS=[settings.FIELD_ENCRYPTION_KEY]):
        first = rotate()
        second = rotate()
        stored = [raw(User, user.pk, "totp_secret"), raw(WebhookEndpoint, endpoint.pk, "secret"),
                  raw(GatewaySetting, setting.pk, "secrets")]
        new_id = keyring().current_id
        assert all(is_current(value) for value in stored)

    # then every value names the new key; the second run found nothing to do
    assert new_id != old_id and all(value.startswith(f"aes256gcm:{new_id}:") for value in stored)
    assert "accounts.User.totp_secret: 1 re-encrypted, 0 already current, 0 unreadable." in first
    assert "notifications.WebhookEndpoint.secret: 1 re-encrypted" in first
    assert "payments.GatewaySetting.secrets: 1 re-encrypted" in first
    assert "accounts.User.totp_secret: 0 re-encrypted, 1 already current, 0 unreadable." in second
    assert raw(User, empty.pk, "totp_secret") == ""
    # and with the old key dropped, everything still reads; rows are otherwise untouched
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY, FIELD_ENCRYPTION_OLD_KEYS=[]):
        assert User.objects.get(pk=user.pk).totp_secret == "JBSWY3DPEHPK3PXP"
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "whsec_legacy"
        assert GatewaySetting.objects.get(pk=setting.pk).secrets_dict() == {"api_key": "k-1"}
        assert GatewaySetting.objects.get(pk=setting.pk).updated_at == updated_at


def test_a_dry_run_counts_and_writes_nothing(user_factory, old_key):
    user = user_factory()
    with override_settings(FIELD_ENCRYPTION_KEY=old_key, FIELD_ENCRYPTION_OLD_KEYS=[]):
        User.objects.filter(pk=user.pk).update(totp_secret="SEED")
    before = raw(User, user.pk, "totp_secret")

    output = rotate("--dry-run")

    assert "accounts.User.totp_secret: 1 to re-encrypt" in output
    assert raw(User, user.pk, "totp_secret") == before


def test_a_value_no_key_opens_is_left_alone_and_reported_after_the_others(user_factory, old_key):
    readable, stranger = user_factory(), user_factory()
    with override_settings(FIELD_ENCRYPTION_KEY=old_key, FIELD_ENCRYPTION_OLD_KEYS=[]):
        User.objects.filter(pk=readable.pk).update(totp_secret="SEED-1")
    with override_settings(FIELD_ENCRYPTION_KEY=STRANGER_KEY, FIELD_ENCRYPTION_OLD_KEYS=[]):
        unknown = encrypt("SEED-2")
    User.objects.filter(pk=stranger.pk).update(totp_secret="placeholder")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET totp_secret = %s WHERE id = %s", [unknown, stranger.pk])
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 value"):
        call_command("rotate_encryption_key", stdout=out)

    assert "accounts.User.totp_secret: 1 re-encrypted, 0 already current, 1 unreadable." in out.getvalue()
    assert is_current(raw(User, readable.pk, "totp_secret"))
    assert raw(User, stranger.pk, "totp_secret") == unknown


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rotation_never_overwrites_a_concurrent_write(store_factory, settings):
    # given 40 stores' gateway secrets written with the old key
    stores = [store_factory() for _ in range(40)]
    for store in stores:
        gateway_setting_update(store=store, gateway="cod", enabled=True)
        GatewaySetting.objects.filter(store=store).update(secrets='{"api_key": "before"}')
    old = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_OLD_KEYS = NEW_KEY, [old]
    done = threading.Event()

    def rewrite():
        # a merchant saves new credentials in every store while the rotation runs
        try:
            for store in stores:
                GatewaySetting.objects.filter(store=store).update(secrets=f'{{"api_key": "after-{store.pk}"}}')
        finally:
            done.set()

    def rotate_small_batches():
        runs = 0
        while not done.is_set() or runs == 0:
            rotate("--batch-size", "3")
            runs += 1
        return runs

    # when both run at once
    results = race(rewrite, rotate_small_batches)

    # then no write was lost to a re-encrypted older value, and a last run leaves everything current
    assert not any(isinstance(result, Exception) for result in results), results
    rotate()
    for store in stores:
        setting = GatewaySetting.objects.get(store=store)
        assert setting.secrets_dict() == {"api_key": f"after-{store.pk}"}
        assert is_current(raw(GatewaySetting, setting.pk, "secrets"))
