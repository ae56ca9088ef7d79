"""Team writes: members, invitations and API keys. Each service owns its transaction and writes its
audit entry in it (``actor``: the user or API key acting, None for the system)."""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from auditlog.services import audit_record
from config.api.errors import AlreadyExists, PermissionDenied, ValidationFailed
from config.emails import email_enqueue
from plans.services import plan_limit_check
from stores.models import Store

from .errors import InvitationInvalid, LastOwner
from .models import ApiKey, Invitation, Membership
from .permissions import ALL_PERMISSIONS, OWNER
from .selectors import StoreAccess

User = get_user_model()

INVITATION_LIFETIME = timedelta(days=7)
API_KEY_PREFIX = "sk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
# What api_key_create makes: anything else is no key, and is refused before it reaches the database
# (a NUL in the header would make PostgreSQL raise: a 500 for a client's typo).
API_KEY_FORMAT = re.compile(rf"{API_KEY_PREFIX}[0-9a-f]{{12}}\.[-A-Za-z0-9_]{{20,100}}")
# Only these may make, demote or remove owners; admins hold every other team power.
OWNER_MANAGERS = frozenset({OWNER, "superuser"})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_may_grant(*, access: StoreAccess, role: str) -> None:
    if role == OWNER and access.role not in OWNER_MANAGERS:
        raise PermissionDenied("Only an owner can make someone an owner.")


def _check_may_touch(*, access: StoreAccess, membership: Membership) -> None:
    if membership.role == OWNER and access.role not in OWNER_MANAGERS:
        raise PermissionDenied("Only an owner can demote or remove an owner.")


def _lock_owners(*, store: Store) -> list[int]:
    """Locks the store's owner rows (PostgreSQL) so two demotions cannot both pass the last-owner check."""
    return list(
        Membership.objects.select_for_update().filter(store=store, role=OWNER).values_list("user_id", flat=True)
    )


def member_add_check(*, store: Store, email: str, role: str, access: StoreAccess):
    """The rules of adding a member, without writing; returns the user to add. Raises PermissionDenied (403)
    when a non-owner makes an owner, ValidationFailed (400) for an unknown email, AlreadyExists (409) for a member,
    PlanLimitReached (403) when the plan's staff seats are all taken.
    """
    _check_may_grant(access=access, role=role)
    plan_limit_check(store=store, limit="staff")
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise ValidationFailed(
            "No account uses this email; send an invitation instead.",
            email=["No account uses this email; send an invitation instead."],
        )
    if Membership.objects.filter(store=store, user=user).exists():
        raise AlreadyExists("This user is already a member of the store.", email=[email])
    return user


@transaction.atomic
def member_add(*, store: Store, email: str, role: str, access: StoreAccess, actor=None) -> Membership:
    """Adds an existing user to ``store`` with ``role`` and records ``member.added``.

    Raises ValidationFailed (400) for an unknown email, PermissionDenied (403) when a
    non-owner makes an owner, AlreadyExists (409) when the user is already a member, PlanLimitReached (403)
    when the plan's staff seats are all taken.
    """
    user = member_add_check(store=store, email=email, role=role, access=access)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(store=store, user=user, role=role)
    except IntegrityError:
        raise AlreadyExists("This user is already a member of the store.", email=[email]) from None
    audit_record(store=store, actor=actor, action="member.added", target=membership,
                 changes={"user": user.pk, "email": user.email, "role": [None, role]})
    return membership


def member_change_check(*, membership: Membership, role: str, access: StoreAccess) -> None:
    """The rules of a role change, without writing: 403 for owner rules an admin breaks, 409 for the last owner."""
    _check_may_touch(access=access, membership=membership)
    _check_may_grant(access=access, role=role)
    if membership.role == OWNER and role != OWNER:
        owners = Membership.objects.filter(store_id=membership.store_id, role=OWNER).count()
        if owners <= 1:
            raise LastOwner("The last owner cannot be demoted.")


@transaction.atomic
def member_role_change(
    *, membership: Membership, role: str, access: StoreAccess, actor=None
) -> Membership:
    """Changes a member's role and records ``member.role_changed`` (nothing when the role is the same).

    Raises PermissionDenied (403) or LastOwner (409); changes nothing then.
    """
    _check_may_touch(access=access, membership=membership)
    _check_may_grant(access=access, role=role)
    if membership.role == OWNER and role != OWNER:
        owners = _lock_owners(store=membership.store)
        if len(owners) <= 1:
            raise LastOwner("The last owner cannot be demoted.")
    previous = membership.role
    Membership.objects.filter(pk=membership.pk).update(role=role)
    membership.role = role
    if role != previous:
        audit_record(store=membership.store, actor=actor, action="member.role_changed",
                     target=membership, changes={"user": membership.user_id, "role": [previous, role]})
    return membership


def member_remove_check(*, membership: Membership, access: StoreAccess) -> None:
    """The rules of a removal, without writing (the admin uses it to hide the delete button)."""
    _check_may_touch(access=access, membership=membership)
    if membership.role == OWNER:
        if Membership.objects.filter(store_id=membership.store_id, role=OWNER).count() <= 1:
            raise LastOwner("The last owner cannot be removed.")


@transaction.atomic
def member_remove(*, membership: Membership, access: StoreAccess, actor=None) -> None:
    """Removes a member and records ``member.removed``.

    Raises PermissionDenied (403) or LastOwner (409); removes nothing then.
    """
    _check_may_touch(access=access, membership=membership)
    if membership.role == OWNER:
        owners = _lock_owners(store=membership.store)
        if len(owners) <= 1:
            raise LastOwner("The last owner cannot be removed.")
    removed, _ = Membership.objects.filter(pk=membership.pk).delete()
    if removed:
        audit_record(store=membership.store, actor=actor, action="member.removed",
                     target=membership, changes={"user": membership.user_id, "role": [membership.role, None]})


@transaction.atomic
def invitation_create(
    *, store: Store, email: str, role: str, access: StoreAccess, invited_by=None, actor=None
) -> Invitation:
    """Stores a pending invitation (its token's hash only), records ``invitation.created`` and emails the
    token after commit.

    Raises PermissionDenied (403) when a non-owner invites an owner, AlreadyExists (409)
    when the email already belongs to a member, PlanLimitReached (403) when the plan's staff seats are all taken
    (accepting checks again).
    """
    _check_may_grant(access=access, role=role)
    plan_limit_check(store=store, limit="staff")
    email = email.strip().lower()
    if Membership.objects.filter(store=store, user__email__iexact=email).exists():
        raise AlreadyExists("This email already belongs to a member of the store.", email=[email])
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        store=store, email=email, role=role, token_hash=token_hash(token),
        invited_by=invited_by if invited_by is not None and invited_by.is_authenticated else None,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit_record(store=store, actor=actor, action="invitation.created", target=invitation,
                 changes={"email": email, "role": role})
    email_enqueue(
        template="invitation",
        to=[email],
        context={
            "store_name": store.name, "store_slug": store.slug, "role": role, "token": token,
            "inviter": getattr(invitation.invited_by, "name", "") or getattr(invitation.invited_by, "email", ""),
            "expires_at": invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """Makes ``user`` a member with the invited role, uses the invitation up and records
    ``invitation.accepted`` (the actor is ``user``).

    Raises InvitationInvalid (400) for an unknown, expired, revoked or used token or a deactivated
    store (the invitation stays pending: usable again once the store is back on), AlreadyExists
    (409) when the user is already a member and PlanLimitReached (403) when the plan's staff seats are all taken
    (in both the invitation stays unused).
    """
    invitation = Invitation.objects.select_related("store").filter(token_hash=token_hash(token)).first()
    if invitation is None or invitation.status != "pending":
        raise InvitationInvalid()
    if not invitation.store.is_active:
        raise InvitationInvalid("This invitation's store is deactivated; it cannot be accepted now.")
    if Membership.objects.filter(store_id=invitation.store_id, user=user).exists():
        raise AlreadyExists("You are already a member of this store.")
    plan_limit_check(store=invitation.store, limit="staff")
    now = timezone.now()
    # Check and use in one statement: two concurrent accepts cannot both succeed, and a store
    # deactivated since the read above is seen. The store is a subquery, not a join: a join would
    # make Django move every condition into ``pk IN (SELECT …)``, which PostgreSQL does not check
    # again on the row a concurrent accept has just used.
    used = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now,
        store_id__in=Store.objects.filter(pk=invitation.store_id, is_active=True).values("pk"),
    ).update(accepted_at=now, accepted_by=user)
    if not used:
        raise InvitationInvalid()
    try:
        with transaction.atomic():
            membership = Membership.objects.create(store_id=invitation.store_id, user=user, role=invitation.role)
    except IntegrityError:
        raise AlreadyExists("You are already a member of this store.") from None
    audit_record(store=invitation.store, actor=user, action="invitation.accepted",
                 target=invitation, changes={"user": user.pk, "email": invitation.email, "role": invitation.role})
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor=None) -> None:
    """Makes a pending invitation unusable and records ``invitation.revoked``; a used or revoked one is
    left as it is (and nothing is recorded)."""
    revoked = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if revoked:
        audit_record(store=invitation.store, actor=actor, action="invitation.revoked",
                     target=invitation, changes={"email": invitation.email, "revoked": [False, True]})


def _check_scopes(*, scopes: list[str], access: StoreAccess | None) -> list[str]:
    unknown = sorted(set(scopes) - set(ALL_PERMISSIONS))
    if unknown:
        raise ValidationFailed("Unknown scopes.", scopes=[f"Unknown scope: {name}" for name in unknown])
    if access is not None:
        beyond = sorted(set(scopes) - access.permissions)
        if beyond:
            raise PermissionDenied("A key cannot hold permissions its creator lacks.", scopes=beyond)
    return sorted(set(scopes), key=ALL_PERMISSIONS.index)


@transaction.atomic
def api_key_create(
    *, store: Store, name: str, scopes: list[str], created_by=None, access: StoreAccess | None = None,
    actor=None,
) -> tuple[ApiKey, str]:
    """Creates a key, records ``api_key.created`` (name, prefix and scopes; never the key nor its hash)
    and returns it with the clear key, which is never stored nor shown again.

    Raises ValidationFailed (400) for an unknown scope, PermissionDenied (403) for a
    scope the creator (``access``; None for platform commands) does not hold and PlanLimitReached (403) when
    the store has as many active keys as its plan allows.
    """
    scopes = _check_scopes(scopes=scopes, access=access)
    plan_limit_check(store=store, limit="api_keys")
    prefix = API_KEY_PREFIX + secrets.token_hex(6)
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        store=store, name=name, prefix=prefix, hashed_key=token_hash(key), scopes=scopes,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    audit_record(store=store, actor=actor, action="api_key.created", target=api_key,
                 changes={"name": name, "prefix": prefix, "scopes": scopes})
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor=None) -> None:
    """Revokes a key at once and records ``api_key.revoked``; revoking twice keeps (and records) the first time."""
    revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        audit_record(store=api_key.store, actor=actor, action="api_key.revoked", target=api_key,
                     changes={"name": api_key.name, "prefix": api_key.prefix, "revoked": [False, True]})


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """The active key matching ``key``, or None; records its use at most once a minute."""
    if not API_KEY_FORMAT.fullmatch(key):
        return None
    prefix = key.partition(".")[0]
    api_key = ApiKey.objects.select_related("store").filter(prefix=prefix, revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, token_hash(key)):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
