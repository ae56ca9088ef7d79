"""Erasure: a customer deleting their account (POST /me/delete), a store erasing a guest's data (POST
…/customers/erase) and the guest orders past their retention. Every table that holds a person's name, email, phone,
address or free text about them is listed in docs/PRIVACY.md; this module is the one place that erases them, so a new
such column gets a line here and there.

Orders stay whole for the merchants' books (number, status, amounts, tax, lines, payments' amounts): only the buyer's
details go, the buyer shown as "deleted customer". Every erasure is recorded (``Erasure``, and an audit entry
``customer.erased`` in each store concerned) without the erased data.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.erasure import user_anonymise
from accounts.models import User
from accounts.services import user_authenticate
from analytics.models import Export
from analytics.services import exports_storage
from auditlog.security import security_person_erase
from auditlog.services import actor_describe, audit_person_erase, audit_record
from billing.services import billing_events_person_erase
from catalog.services import movements_actor_erase, reviews_of_user_erase
from config.api.models import IdempotencyKey
from config.emails import email_enqueue
from config.erasure import inbound_events_scrub, scrub
from maker.services import uploads_of_user_erase
from notifications.models import Notification, NotificationPreference, WebhookDelivery
from orders.models import Cart, CouponUse, Order, OrderEvent
from payments.models import Payment, WebhookEvent
from social.services import login_code_reauthenticate, social_accounts_erase
from stores.models import Store
from teams.errors import LastOwner
from teams.models import ApiKey, Invitation, Membership
from teams.permissions import OWNER

from ..models import DataExport, Erasure, ErasureKind

ERASED_NAME = "deleted customer"  # the buyer of an erased order
DELETED_LABEL = "deleted user"  # who acted, in the logs, when that was an erased account
ERASED_INVITATION_EMAIL = "erased@deleted.invalid"
# the address keys a guest order keeps after erasure: where the goods went, for the books' tax (no street, no name)
KEPT_ADDRESS_KEYS = ("country",)
BATCH = 500


# --- A customer deletes their account -----------------------------------------------------------------------------


def account_delete_check(*, user: User) -> None:
    """Raises LastOwner (409, details.stores: their slugs) while ``user`` is the only owner of a store: its
    ownership must pass to someone first."""
    owned = Membership.objects.filter(user=user, role=OWNER).values_list("store_id", flat=True)
    co_owned = Membership.objects.filter(store_id__in=owned, role=OWNER).exclude(user=user).values_list("store_id",
                                                                                                         flat=True)
    alone = list(Store.objects.filter(pk__in=owned).exclude(pk__in=co_owned).order_by("slug")
                 .values_list("slug", flat=True))
    if alone:
        raise LastOwner("You are the last owner of a store: make another member its owner before you delete "
                        "your account.", stores=alone)


def account_delete(*, user: User, password: str = "", otp: str | None = None, social_code: str = "") -> Erasure:
    """The customer's own request: their password again (and a TOTP code when 2FA is on), as at login (the same
    lock after repeated failures), or, for an account without a password, a fresh social login's one-time code; then
    ``account_erase``. Raises InvalidCredentials, InvalidToken (a code not theirs or used), OtpRequired, InvalidOtp
    (401), AccountLocked (429) and LastOwner (409)."""
    account_delete_check(user=user)  # before the password: the answer names what to do first
    if social_code:
        login_code_reauthenticate(user=user, code=social_code, otp=otp)
    else:
        user_authenticate(email=user.email, password=password, otp=otp)
    return account_erase(user=user, requested_by="the customer")


@transaction.atomic
def account_erase(*, user: User, requested_by: str = "the customer") -> Erasure:
    """Erases the person behind ``user`` from every table (docs/PRIVACY.md) in one transaction: their orders keep
    their amounts with the buyer erased; their reviews, carts, notifications, consents, data exports, memberships
    and social login links go; API keys they created are revoked; log entries they made name "deleted user"; the
    account keeps its row but nothing of them (``accounts.erasure.user_anonymise``: the email is free to register again,
    every token refused). Raises LastOwner (409) as ``account_delete_check``."""
    user = User.objects.select_for_update().get(pk=user.pk)
    account_delete_check(user=user)
    email, now = user.email, timezone.now()
    orders = Order.objects.filter(user_id=user.pk)
    store_ids = set(orders.values_list("store_id", flat=True))
    store_ids |= set(Membership.objects.filter(user_id=user.pk).values_list("store_id", flat=True))
    names = [user.name, *orders.exclude(customer_name="").values_list("customer_name", flat=True).distinct()]
    counts = orders_erase(order_ids=list(orders.values_list("pk", flat=True)), texts=[email])
    counts.pop("by_store")
    counts["reviews"] = reviews_of_user_erase(user_id=user.pk)
    counts["maker_uploads"] = uploads_of_user_erase(user_id=user.pk)
    counts["carts"] = Cart.objects.filter(user_id=user.pk).delete()[0]
    counts["notifications"] = Notification.objects.filter(user_id=user.pk).delete()[0]
    NotificationPreference.objects.filter(user_id=user.pk).delete()
    counts["memberships"] = _memberships_leave(user=user)
    counts["api_keys"] = ApiKey.objects.filter(created_by_id=user.pk, revoked_at__isnull=True).update(revoked_at=now)
    invitations = Invitation.objects.filter(email__iexact=email)
    invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    counts["invitations"] = invitations.update(email=ERASED_INVITATION_EMAIL)
    IdempotencyKey.objects.filter(owner=f"user:{user.pk}").delete()  # stored answers: orders with the address
    Export.objects.filter(requested_by_id=user.pk).update(requested_by_label=DELETED_LABEL)
    counts["data_exports"] = _data_exports_delete(user_id=user.pk)
    counts["mentions"] = _mentions_erase(texts=[email])
    counts["gateway_notifications"] += _gateway_notifications_erase(email=email, names=names)
    counts["billing_events"] = billing_events_person_erase(email=email, names=[user.name])  # a merchant's contact
    OrderEvent.objects.filter(actor_user_id=user.pk).update(actor_label=DELETED_LABEL)
    movements_actor_erase(user_id=user.pk, label=DELETED_LABEL)
    counts["audit_entries"] = audit_person_erase(texts=[email], user_id=user.pk, label=DELETED_LABEL)
    counts["security_events"] = security_person_erase(user_id=user.pk, email=email)
    counts["social_accounts"] = social_accounts_erase(user_id=user.pk)  # with allauth's tokens and email records
    user_anonymise(user=user)
    for store in Store.objects.filter(pk__in=store_ids):
        audit_record(store=store, actor=None, action="customer.erased", object_type="accounts.user",
                     object_id=str(user.pk), changes={"kind": ErasureKind.ACCOUNT, "requested_by": requested_by})
    erasure = Erasure.objects.create(kind=ErasureKind.ACCOUNT, subject=f"user:{user.pk}", actor_label=requested_by,
                                     counts=counts)
    email_enqueue(template="account_deleted", to=[email], context={})  # to the address, once, after COMMIT
    return erasure


def _memberships_leave(*, user: User) -> int:
    """The person leaves every store's team; a store they own with others passes to another owner."""
    for store in Store.objects.filter(owner_id=user.pk):
        heir = (Membership.objects.filter(store=store, role=OWNER).exclude(user_id=user.pk).order_by("created_at", "id")
                .values_list("user_id", flat=True).first())
        if heir is not None:
            Store.objects.filter(pk=store.pk).update(owner_id=heir)
    return Membership.objects.filter(user_id=user.pk).delete()[0]


def _data_exports_delete(*, user_id: int) -> int:
    exports = list(DataExport.objects.filter(user_id=user_id).values_list("pk", "file"))
    names = [name for _, name in exports if name]
    transaction.on_commit(partial(_files_delete, names))  # the files go once the rows have
    return DataExport.objects.filter(user_id=user_id).delete()[0]


def _files_delete(names: list[str]) -> None:
    storage = exports_storage()
    for name in names:
        storage.delete(name)


# --- A store erases a guest's data --------------------------------------------------------------------------------


@transaction.atomic
def guest_erase(*, store: Store, email: str, actor=None) -> Erasure:
    """Erases what ``store`` holds about the guest buying as ``email`` (orders placed without an account): the
    orders keep their amounts and lines, the buyer erased; coupon uses, payments, the store's notifications,
    webhook deliveries and audit entries lose the address. Nothing of any other store changes; a customer with an
    account deletes it themselves. Returns the record (its counts: orders 0 when there were none)."""
    email = User.objects.normalize_email(email)
    orders = Order.objects.filter(store=store, user__isnull=True, email__iexact=email)
    names = list(orders.exclude(customer_name="").values_list("customer_name", flat=True).distinct())
    counts = orders_erase(order_ids=list(orders.values_list("pk", flat=True)), texts=[email])
    counts.pop("by_store")
    counts["coupon_uses"] += CouponUse.objects.filter(coupon__store=store, user__isnull=True,
                                                      email__iexact=email).update(email="")
    counts["mentions"] = _mentions_erase(texts=[email], store=store)
    counts["gateway_notifications"] += _gateway_notifications_erase(email=email, names=names, store=store)
    # answers kept for a retry with the same Idempotency-Key (a day): a checkout's carries the order with its address
    IdempotencyKey.objects.annotate(_body=Cast("response_body", TextField())).filter(
        path__startswith=f"/api/v1/stores/{store.slug}/", _body__icontains=email).delete()
    counts["audit_entries"] = audit_person_erase(texts=[email], store=store)
    audit_record(store=store, actor=actor, action="customer.erased", changes={"kind": ErasureKind.GUEST,
                                                                               "orders": counts["orders"]})
    return Erasure.objects.create(kind=ErasureKind.GUEST, store=store, actor_label=actor_describe(actor)[1][:255],
                                  counts=counts)


# --- Guest orders past their retention ----------------------------------------------------------------------------


def guest_orders_erase_expired(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Erases the buyer's details of guest orders placed more than GUEST_ORDER_PERSONAL_DATA_YEARS ago (0: kept),
    in batches of one transaction each; returns how many orders (dry: would). Already erased ones are not counted
    again."""
    years = settings.GUEST_ORDER_PERSONAL_DATA_YEARS
    if not years:
        return 0
    due = Order.objects.filter(user__isnull=True, created_at__lt=(now or timezone.now()) - timedelta(days=365 * years)
                               ).exclude(email="")
    if dry_run:
        return due.count()
    erased = 0
    while True:
        ids = list(due.order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            return erased
        with transaction.atomic():
            counts = orders_erase(order_ids=ids, texts=[])
            for store_id, count in counts.pop("by_store").items():
                audit_record(store=Store(pk=store_id), actor=None, action="customer.erased",
                             changes={"kind": ErasureKind.GUEST_RETENTION, "orders": count})
            Erasure.objects.create(kind=ErasureKind.GUEST_RETENTION, actor_label="system", counts=counts)
        erased += len(ids)


# --- The orders' side, shared ---------------------------------------------------------------------------------------


def orders_erase(*, order_ids: list[int], texts: list[str]) -> dict:
    """The buyer's details of these orders, erased wherever they are copied: the order (email, name → "deleted
    customer", addresses but their country, the tie to the account), its history's notes, its coupon use, its
    payments (email, IP, card fingerprint) and the gateways' notifications about them (raw bodies), and the payloads
    of its store's notifications and webhook deliveries about it. Amounts, tax, lines and statuses stay. In the
    caller's transaction. Returns rows changed per table (and ``by_store``: orders per store id)."""
    orders = list(Order.objects.filter(pk__in=order_ids).only("pk", "store_id", "number", "email",
                                                              "shipping_address", "billing_address"))
    now = timezone.now()
    numbers: dict[int, list[str]] = defaultdict(list)
    emails: dict[int, set[str]] = defaultdict(set)
    for order in orders:
        numbers[order.store_id].append(order.number)
        emails[order.store_id].add(order.email)
        Order.objects.filter(pk=order.pk).update(
            email="", customer_name=ERASED_NAME, user=None, updated_at=now,
            shipping_address=_address_kept(order.shipping_address),
            billing_address=_address_kept(order.billing_address))
    payments = Payment.objects.filter(order_id__in=order_ids)
    counts = {
        "orders": len(orders),
        "order_notes": OrderEvent.objects.filter(order_id__in=order_ids).exclude(note="").update(note=""),
        "coupon_uses": CouponUse.objects.filter(order_id__in=order_ids).update(email="", user=None),
        "payments": payments.update(email="", ip=None, card_fingerprint=""),
        "gateway_notifications": WebhookEvent.objects.filter(payment__in=payments).update(payload={"erased": True},
                                                                                         error=""),
        "notifications": 0, "webhook_deliveries": 0,
        "by_store": {store_id: len(found) for store_id, found in numbers.items()},
    }
    for store_id, found in numbers.items():
        mentioned = sorted({*texts, *emails[store_id]} - {""})  # "{email} placed order #…" in a notice's body
        for start in range(0, len(found), BATCH):
            chunk = found[start:start + BATCH]
            for note in Notification.objects.filter(store_id=store_id, data__number__in=chunk):
                counts["notifications"] += _notification_scrub(note, texts=mentioned, keys=True)
            deliveries = WebhookDelivery.objects.filter(endpoint__store_id=store_id, payload__data__number__in=chunk)
            for delivery in deliveries:
                WebhookDelivery.objects.filter(pk=delivery.pk).update(
                    payload=scrub(delivery.payload, texts=mentioned, keys=True))
                counts["webhook_deliveries"] += 1
    return counts


def _address_kept(address) -> dict:
    return {key: address[key] for key in KEPT_ADDRESS_KEYS if isinstance(address, dict) and key in address}


def _mentions_erase(*, texts: list[str], store: Store | None = None) -> int:
    """Other people's in-app notifications and webhook deliveries that mention one of ``texts`` (an email) in
    their text or payload: the mention becomes "[erased]". Only ``store``'s when given."""
    changed = 0
    for text in texts:
        notes = Notification.objects.annotate(_data=Cast("data", TextField())).filter(
            Q(_data__icontains=text) | Q(body__icontains=text) | Q(title__icontains=text))
        deliveries = WebhookDelivery.objects.annotate(_payload=Cast("payload", TextField())).filter(
            _payload__icontains=text)
        if store is not None:
            notes, deliveries = notes.filter(store=store), deliveries.filter(endpoint__store=store)
        for note in notes:
            changed += _notification_scrub(note, texts=texts, keys=False)
        for delivery in deliveries:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=scrub(delivery.payload, texts=texts))
            changed += 1
    return changed


def _gateway_notifications_erase(*, email: str, names: list[str], store: Store | None = None) -> int:
    """The gateways' notifications that mention ``email`` but are tied to none of the person's payments (one that
    matched no payment, a failed one naming them in its error): the person's details in the raw body (their email,
    ``names``, PERSONAL_KEYS' values) and in the error become "[erased]". Only ``store``'s when given."""
    events = WebhookEvent.objects.all() if store is None else WebhookEvent.objects.filter(store=store)
    return inbound_events_scrub(events, email=email, names=names)


def _notification_scrub(note: Notification, *, texts: list[str], keys: bool) -> int:
    Notification.objects.filter(pk=note.pk).update(
        title=scrub(note.title, texts=texts), body=scrub(note.body, texts=texts),
        data=scrub(note.data, texts=texts, keys=keys))
    return 1
