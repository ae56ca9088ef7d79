"""A person's account, erased (privacy.services.account_erase calls this last, in its transaction)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Consent, User
from .services import _refresh_tokens_revoke_all

DELETED_EMAIL_DOMAIN = "deleted.invalid"  # RFC 2606: never deliverable, never anyone's


@transaction.atomic
def user_anonymise(*, user: User) -> User:
    """The account keeps its row (orders, audit entries and stock movements point at it) but nothing of the person:
    no name, an address that is nobody's (so the real one is free to register again), no password, no 2FA, inactive
    (access tokens are refused at once), every refresh token revoked, every consent answer gone."""
    _refresh_tokens_revoke_all(user=user)
    Consent.objects.filter(user=user).delete()
    user.email = f"deleted-{user.pk}@{DELETED_EMAIL_DOMAIN}"
    user.name = ""
    user.set_unusable_password()
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.email_verified = False
    user.two_factor_enabled = False
    user.totp_secret = ""
    user.totp_last_counter = None
    user.last_login = None
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    return user


def unverified_accounts_prune(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Deletes accounts whose email was never verified within UNVERIFIED_ACCOUNT_RETENTION_DAYS of signing up (0:
    kept) and that never did anything that needs keeping: no order, no store, no team. Returns how many (dry:
    would)."""
    days = settings.UNVERIFIED_ACCOUNT_RETENTION_DAYS
    if not days:
        return 0
    stale = User.objects.filter(email_verified=False, is_active=True, is_staff=False, is_superuser=False,
                                date_joined__lt=(now or timezone.now()) - timedelta(days=days),
                                orders__isnull=True, memberships__isnull=True, owned_stores__isnull=True)
    if dry_run:
        return stale.count()
    ids = list(stale.values_list("pk", flat=True))
    _, deleted = User.objects.filter(pk__in=ids).delete()
    return deleted.get(User._meta.label, 0)
