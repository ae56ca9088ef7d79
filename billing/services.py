"""Billing the merchants through Stripe Billing (the platform's own Stripe account, the official SDK).

- ``subscription_change`` (POST …/subscription): a Stripe customer per store (made once), a subscription with the
  plan's Stripe price (a second call changes the price of the one subscription), and the answer applied at once
  (``subscription_apply``). Moving to a plan without a price (Free) cancels the paid subscription at the end of the
  period paid for. Stripe is called with no transaction open; what it answered is written in one.
- Stripe's events (POST /api/v1/billing/webhooks/stripe) are verified over the raw body with the platform's
  endpoint secret (``payments.gateways.stripe.stripe_event_verify``: the SDK's HMAC, compared in constant time),
  stored once per Stripe event id (a replay is a no-op) and processed by a Celery task after COMMIT
  (``billing_event_process``, under the event's row lock: a duplicate task does nothing).
  ``customer.subscription.created/updated/deleted`` and ``invoice.payment_failed`` / ``invoice.paid`` move the
  subscription's status and the store's plan; an event older than the newest one applied changes nothing.
- Statuses: ``active`` (the paid plan), ``incomplete`` (the first payment is not through: the plan does not change
  yet), ``past_due`` (an invoice failed: the plan stays for BILLING_GRACE_DAYS, then the store falls back to the
  default plan until a payment goes through), ``cancelled`` (the plan stays until the period paid for ends, then the
  default plan). ``subscriptions_expire`` (hourly, Celery beat) makes the two fallbacks happen on time.
- Without BILLING_STRIPE_SECRET_KEY billing is off: platform superusers assign plans by hand (the admin's store page
  or this POST), merchants cannot choose one.
"""

import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from auditlog.models import SecurityKind
from auditlog.security import record_security_event
from config.api.errors import NotFound, PermissionDenied, ValidationFailed
from config.celery import task_publish_on_commit
from config.erasure import inbound_events_scrub
from config.money import from_minor_units, money_str
from notifications import events
from notifications.services import members_notify
from payments.gateways.base import SignatureInvalid
from payments.gateways.stripe import stripe_event_verify
from plans.models import Plan
from plans.services import store_plan, store_plan_set, store_usage
from stores.models import Store

from .errors import BillingUnavailable, SubscriptionChangeInProgress
from .models import BillingEvent, BillingEventStatus, Subscription, SubscriptionStatus

logger = logging.getLogger("billing")
security_logger = logging.getLogger("security")

S = SubscriptionStatus
E = BillingEventStatus
# Stripe's subscription statuses → ours.
STATUSES = {
    "active": S.ACTIVE,
    "trialing": S.ACTIVE,
    "past_due": S.PAST_DUE,
    "unpaid": S.PAST_DUE,
    "paused": S.PAST_DUE,
    "incomplete": S.INCOMPLETE,
    "canceled": S.CANCELLED,
    "incomplete_expired": S.CANCELLED,
}
SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
INVOICE_FAILED = "invoice.payment_failed"
INVOICE_PAID = ("invoice.paid", "invoice.payment_succeeded")
MAX_NETWORK_RETRIES = 1
CHANGE_CLAIM_SLACK = 10  # seconds a change's claim outlives its Stripe calls' timeouts
INVOICES_LISTED = 24

_http_clients: dict[float, stripe.HTTPClient] = {}


# --- Stripe ---------------------------------------------------------------------------------------------------
def billing_enabled() -> bool:
    """Whether the platform bills through Stripe (BILLING_STRIPE_SECRET_KEY set)."""
    return bool(settings.BILLING_STRIPE_SECRET_KEY)


def billing_client() -> stripe.StripeClient:
    """The platform's Stripe client (STRIPE_API_BASE: a localstripe in tests)."""
    timeout = settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS
    if timeout not in _http_clients:
        _http_clients[timeout] = stripe.RequestsClient(timeout=timeout)
    addresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.BILLING_STRIPE_SECRET_KEY,
        base_addresses=addresses,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=_http_clients[timeout],
    )


def _failed(exc: stripe.StripeError, doing: str) -> BillingUnavailable:
    """A message safe to show, and a log line with what support needs (never the key, never Stripe's text)."""
    logger.warning(
        "Stripe Billing refused or failed to %s: %s (code %s, HTTP status %s, request %s)",
        doing,
        type(exc).__name__,
        exc.code or "none",
        exc.http_status,
        exc.request_id or "none",
    )
    if isinstance(exc, stripe.CardError):
        return BillingUnavailable(exc.user_message or "The card was declined.")
    if isinstance(exc, stripe.InvalidRequestError):
        return BillingUnavailable(f"Stripe refused to {doing}" + (f" ({exc.code})." if exc.code else "."))
    return BillingUnavailable(f"Stripe could not {doing}; try again in a moment.")


def _stamp(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _first_item(obj: dict) -> dict:
    items = obj.get("items") or {}
    data = items.get("data") if isinstance(items, dict) else None
    return data[0] if data else {}


def _price_id(obj: dict) -> str:
    """The subscription's price: its first item's price (or plan, which Stripe answers for a price too)."""
    item = _first_item(obj)
    for holder in (item.get("price"), item.get("plan"), obj.get("plan")):
        if isinstance(holder, dict) and holder.get("id"):
            return holder["id"]
    return ""


def _period_end(obj: dict) -> datetime | None:
    # on the subscription before Stripe's API version 2025-03-31, on its items since
    return _stamp(obj.get("current_period_end") or _first_item(obj).get("current_period_end"))


# --- reading --------------------------------------------------------------------------------------------------
def subscription_state(*, store: Store) -> dict:
    """What GET …/subscription answers: the plan the store is on, the subscription's status, its period, what
    the store uses of each limit, and whether billing is on."""
    subscription = Subscription.objects.filter(store=store).select_related("plan").first()
    plan = store_plan(store)
    grace_until = None
    if subscription is not None and subscription.status == S.PAST_DUE and subscription.past_due_since:
        grace_until = subscription.past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)
    return {
        "plan": plan,
        "status": subscription.status if subscription is not None else S.ACTIVE,
        "current_period_end": subscription.current_period_end if subscription is not None else None,
        "cancel_at_period_end": bool(subscription and subscription.cancel_at_period_end),
        "grace_until": grace_until,
        "usage": store_usage(store),
        "billing": "stripe" if billing_enabled() else "off",
    }


def subscription_invoices(*, store: Store) -> list[dict]:
    """The store's latest Stripe invoices (newest first; none without a customer). Raises BillingUnavailable
    (402) when Stripe cannot answer, NotFound (404) when billing is off."""
    subscription = _billing_subscription(store)
    if not subscription.stripe_customer_id:
        return []
    try:
        found = billing_client().v1.invoices.list(
            params={"customer": subscription.stripe_customer_id, "limit": INVOICES_LISTED}
        )
    except stripe.StripeError as exc:
        raise _failed(exc, "list the invoices") from None
    invoices = []
    for invoice in (item.to_dict() for item in found.data):
        currency = (invoice.get("currency") or "usd").upper()
        invoices.append(
            {
                "id": invoice.get("id"),
                "number": invoice.get("number") or "",
                "status": invoice.get("status") or "",
                "currency": currency,
                "amount_due": money_str(from_minor_units(int(invoice.get("amount_due") or 0), currency), currency),
                "amount_paid": money_str(from_minor_units(int(invoice.get("amount_paid") or 0), currency), currency),
                "created": _stamp(invoice.get("created")),
                "period_start": _stamp(invoice.get("period_start")),
                "period_end": _stamp(invoice.get("period_end")),
                "hosted_invoice_url": invoice.get("hosted_invoice_url") or "",
                "invoice_pdf": invoice.get("invoice_pdf") or "",
            }
        )
    return invoices


def billing_portal_url(*, store: Store, return_url: str = "") -> str:
    """A Stripe customer portal session for the store's customer (cards, invoices, cancelling), valid a few
    minutes. Raises NotFound (404) when billing is off, ValidationFailed (400) before the store subscribed once,
    BillingUnavailable (402) when Stripe refuses."""
    subscription = _billing_subscription(store)
    if not subscription.stripe_customer_id:
        raise ValidationFailed(
            "The store has no billing account yet: subscribe to a plan first.", plan=["Subscribe to a plan first."]
        )
    params = {
        "customer": subscription.stripe_customer_id,
        "return_url": return_url or settings.BILLING_RETURN_URL or settings.FRONTEND_URL,
    }
    try:
        session = billing_client().v1.billing_portal.sessions.create(params=params)
    except stripe.StripeError as exc:
        raise _failed(exc, "open the billing portal") from None
    return session.url


def _billing_subscription(store: Store) -> Subscription:
    if not billing_enabled():
        raise NotFound("Billing is off on this platform.")
    return Subscription.objects.filter(store=store).first() or Subscription(store=store)


# --- choosing a plan ------------------------------------------------------------------------------------------
def _platform(actor) -> bool:
    return bool(getattr(actor, "is_superuser", False) and getattr(actor, "is_active", False))


def subscription_change(*, store: Store, plan_code: str, payment_method: str = "", actor=None) -> None:
    """Puts the store on the plan ``plan_code`` names. With billing on: through a Stripe subscription (a paid plan
    becomes the store's once Stripe says it is paid: at once for a card that pays, else by the webhooks); a plan
    without a price cancels the paid subscription at the end of its period. With billing off: only a platform
    superuser may, and the plan changes at once.

    Raises ValidationFailed (400, ``details.plan``) for an unknown plan or a paid one without a Stripe price,
    PermissionDenied (403) when billing is off and the caller is not a platform superuser, BillingUnavailable (402)
    when Stripe refuses (a declined card included), SubscriptionChangeInProgress (409 CONFLICT) while another change
    of the store's subscription is under way (two at once would each make a Stripe customer and subscription: the
    row is claimed by a conditional UPDATE for the change's length, no transaction held open over Stripe's calls)."""
    plan = Plan.objects.filter(code=plan_code, is_public=True).first() if isinstance(plan_code, str) else None
    if plan is None:
        raise ValidationFailed("Unknown plan.", plan=["Choose one of GET /api/v1/plans."])
    if not billing_enabled():
        if not _platform(actor):
            raise PermissionDenied("Billing is off: the platform assigns plans (ask its staff).")
        store_plan_set(store=store, plan=plan, actor=actor, reason="assigned by the platform")
        return
    if not plan.stripe_price_id and plan.price:
        raise ValidationFailed("This plan is not sold through billing yet.", plan=["Not for sale yet."])
    subscription = _subscription_row(store)
    claimed_until = _change_claim(subscription)
    try:
        subscription.refresh_from_db()  # what a change that finished before the claim left
        if not plan.stripe_price_id:
            _subscription_cancel_at_period_end(store=store, subscription=subscription, plan=plan, actor=actor)
        else:
            _subscription_subscribe(
                store=store, subscription=subscription, plan=plan, payment_method=payment_method, actor=actor
            )
    finally:
        Subscription.objects.filter(pk=subscription.pk, change_claimed_until=claimed_until).update(
            change_claimed_until=None
        )


def _change_claim(subscription: Subscription) -> datetime:
    """Claims the row for one change (a conditional UPDATE: of two at once, one gets it), for at most as long as
    the change's Stripe calls may take; raises SubscriptionChangeInProgress when another change holds it."""
    now = timezone.now()
    calls = 5  # the customer, the card's attach and default, the subscription read and its change
    until = now + timedelta(
        seconds=calls * settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS * (MAX_NETWORK_RETRIES + 1) + CHANGE_CLAIM_SLACK
    )
    claimed = (
        Subscription.objects.filter(pk=subscription.pk)
        .filter(Q(change_claimed_until__isnull=True) | Q(change_claimed_until__lte=now))
        .update(change_claimed_until=until)
    )
    if not claimed:
        raise SubscriptionChangeInProgress()
    return until


def _subscription_subscribe(*, store: Store, subscription: Subscription, plan: Plan, payment_method: str,
                            actor) -> None:
    client = billing_client()
    customer = subscription.stripe_customer_id or _customer_create(
        store=store, subscription=subscription, client=client
    )
    metadata = {"store_id": str(store.pk), "store": store.slug, "plan": plan.code}
    try:
        if payment_method:
            client.v1.payment_methods.attach(payment_method, params={"customer": customer})
            client.v1.customers.update(
                customer, params={"invoice_settings": {"default_payment_method": payment_method}}
            )
        if subscription.stripe_subscription_id and subscription.status != S.CANCELLED:
            current = client.v1.subscriptions.retrieve(subscription.stripe_subscription_id).to_dict()
            item = _first_item(current)
            answer = client.v1.subscriptions.update(
                subscription.stripe_subscription_id,
                params={
                    "items": [{"id": item["id"], "plan": plan.stripe_price_id}]
                    if item.get("id")
                    else [{"plan": plan.stripe_price_id}],
                    "cancel_at_period_end": False,
                    "metadata": metadata,
                },
            )
        else:
            # ``plan`` takes the plan's price id (Stripe answers a recurring price as a plan; localstripe reads only
            # ``plan``)
            answer = client.v1.subscriptions.create(
                params={"customer": customer, "items": [{"plan": plan.stripe_price_id}], "metadata": metadata}
            )
    except stripe.StripeError as exc:
        raise _failed(exc, "start the subscription") from None
    subscription_apply(store=store, obj=answer.to_dict(), actor=actor)


def _subscription_row(store: Store) -> Subscription:
    try:
        with transaction.atomic():
            subscription, _ = Subscription.objects.get_or_create(store=store)
    except IntegrityError:  # a concurrent first call made it
        subscription = Subscription.objects.get(store=store)
    return subscription


def _customer_create(*, store: Store, subscription: Subscription, client: stripe.StripeClient) -> str:
    owner_email = store.owner.email if store.owner_id else ""
    try:
        customer = client.v1.customers.create(
            params={
                "name": store.name,
                "email": store.contact_email or owner_email,
                "metadata": {"store_id": str(store.pk), "store": store.slug},
            },
            options={"idempotency_key": f"billing-customer-{store.pk}-{subscription.pk}"},
        )
    except stripe.StripeError as exc:
        raise _failed(exc, "create the billing customer") from None
    # kept at once: a failure further on must not make a second customer next time
    Subscription.objects.filter(pk=subscription.pk, stripe_customer_id="").update(stripe_customer_id=customer.id)
    subscription.refresh_from_db()
    return subscription.stripe_customer_id


def _subscription_cancel_at_period_end(*, store: Store, subscription: Subscription, plan: Plan, actor) -> None:
    if not subscription.stripe_subscription_id or subscription.status == S.CANCELLED:
        store_plan_set(store=store, plan=plan, actor=actor, reason="moved to a plan without a price")
        return
    try:
        answer = billing_client().v1.subscriptions.update(
            subscription.stripe_subscription_id, params={"cancel_at_period_end": True}
        )
    except stripe.StripeError as exc:
        raise _failed(exc, "cancel the subscription") from None
    subscription_apply(store=store, obj=answer.to_dict(), actor=actor)


# --- applying what Stripe says --------------------------------------------------------------------------------
@transaction.atomic
def subscription_apply(
    *,
    store: Store,
    obj: dict,
    actor=None,
    event_at: datetime | None = None,
    deleted: bool = False,
    now: datetime | None = None,
) -> Subscription:
    """Writes a Stripe subscription object onto the store's subscription row and moves the store's plan with its
    status (module docstring), under the row's lock. ``event_at``: when Stripe made the event (an event older than
    the newest applied changes nothing)."""
    now = now or timezone.now()
    subscription = Subscription.objects.select_for_update().filter(store=store).first()
    if subscription is None:
        subscription = Subscription.objects.create(store=store)
    if event_at is not None and subscription.last_event_at is not None and event_at < subscription.last_event_at:
        return subscription
    status = S.CANCELLED if deleted else STATUSES.get(obj.get("status") or "", subscription.status)
    price = _price_id(obj)
    plan = Plan.objects.filter(stripe_price_id=price).first() if price else None
    subscription.plan = plan or subscription.plan
    subscription.stripe_subscription_id = obj.get("id") or subscription.stripe_subscription_id
    customer = obj.get("customer")
    if isinstance(customer, str) and customer:
        subscription.stripe_customer_id = customer
    subscription.current_period_end = _period_end(obj) or subscription.current_period_end
    subscription.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    if event_at is not None:
        subscription.last_event_at = event_at
    previous = subscription.status
    subscription.status = status
    if status == S.ACTIVE:
        subscription.past_due_since = None
        if subscription.plan is not None:
            store_plan_set(store=store, plan=subscription.plan, actor=actor, reason="subscription active")
    elif status == S.PAST_DUE:
        subscription.past_due_since = subscription.past_due_since or now
        _grace_over_apply(subscription=subscription, now=now, actor=actor)
    elif status == S.CANCELLED:
        subscription.past_due_since = None
        if subscription.current_period_end is None or subscription.current_period_end <= now:
            store_plan_set(store=store, plan=None, actor=actor, reason="subscription cancelled")
    subscription.save()
    if status != previous:
        logger.info("store %s subscription %s → %s", store.pk, previous, status)
    return subscription


def _grace_over_apply(*, subscription: Subscription, now: datetime, actor=None) -> bool:
    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    store = subscription.store
    if (
        subscription.past_due_since is not None
        and subscription.past_due_since + grace <= now
        and store.plan_id is not None
        and store.plan_id == subscription.plan_id
    ):
        store_plan_set(store=store, plan=None, actor=actor, reason="payment past due after the grace period")
        return True
    return False


def subscriptions_expire(*, now: datetime | None = None) -> int:
    """The periodic job: past_due subscriptions past their grace period, and cancelled ones whose paid period
    ended, put their stores back on the default plan (only stores still on the subscription's plan: a plan the
    platform assigned by hand since stays). Safe to run twice. Returns how many stores moved."""
    now = now or timezone.now()
    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    moved = 0
    due = Subscription.objects.filter(status=S.PAST_DUE, past_due_since__lte=now - grace, store__plan__isnull=False)
    ended = Subscription.objects.filter(status=S.CANCELLED, store__plan__isnull=False).exclude(
        current_period_end__gt=now
    )
    for subscription_id in [*due.values_list("pk", flat=True), *ended.values_list("pk", flat=True)]:
        with transaction.atomic():
            subscription = (
                Subscription.objects.select_for_update(of=("self",)).select_related("store").get(pk=subscription_id)
            )
            store = subscription.store
            if store.plan_id is None or store.plan_id != subscription.plan_id:
                continue
            if subscription.status == S.PAST_DUE and _grace_over_apply(subscription=subscription, now=now):
                moved += 1
            elif subscription.status == S.CANCELLED and (
                subscription.current_period_end is None or subscription.current_period_end <= now
            ):
                store_plan_set(store=store, plan=None, reason="subscription ended")
                moved += 1
    return moved


# --- Stripe's events ------------------------------------------------------------------------------------------
def billing_event_receive(*, body: bytes, headers) -> BillingEvent:
    """Verifies a Stripe billing event over the raw ``body`` with BILLING_STRIPE_WEBHOOK_SECRET and stores it once,
    enqueuing its processing after COMMIT (a replay of a processed event is a no-op; one still pending is enqueued
    again). Raises NotFound (404) when billing has no webhook secret, ValidationFailed (400,
    ``details.signature``) when the signature does not verify: nothing is stored, a ``security`` warning logged and
    the platform's security log written (``webhook_signature_invalid``, no store)."""
    secret = settings.BILLING_STRIPE_WEBHOOK_SECRET
    if not secret:
        raise NotFound("Billing webhooks are off on this platform.")
    try:
        data = stripe_event_verify(body=body, headers=headers, secret=secret)
    except SignatureInvalid as exc:
        security_logger.warning("billing webhook refused: the signature does not verify (%s)", str(exc)[:200])
        record_security_event(SecurityKind.WEBHOOK_SIGNATURE_INVALID,
                              details={"source": "billing webhook", "gateway": "stripe", "reason": str(exc)})
        raise ValidationFailed(
            "The event's signature does not verify.", signature=["Invalid or expired signature."]
        ) from exc
    from .tasks import billing_event_process_task

    with transaction.atomic():
        try:
            with transaction.atomic():
                event = BillingEvent.objects.create(
                    event_id=data["id"][:255], event_type=(data.get("type") or "")[:64], payload=data
                )
        except IntegrityError:  # a replay, or the same event twice at once: the first stored wins
            event = BillingEvent.objects.get(event_id=data["id"][:255])
            if event.status != E.PENDING:
                return event
        task_publish_on_commit(billing_event_process_task, event.pk)
    return event


def billing_event_process(*, event_id: int, now: datetime | None = None) -> BillingEvent | None:
    """Applies a stored event once (under its row lock: a duplicate task, or a second worker, finds it done) and
    records the outcome: processed, ignored (not about a subscription of ours) or failed (logged, kept for a look;
    the store's state is as before it)."""
    now = now or timezone.now()
    with transaction.atomic():
        event = BillingEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.status != E.PENDING:
            return event
        event.attempts += 1
        try:
            with transaction.atomic():
                event.status = _event_apply(event=event, now=now)
        except Exception as exc:  # kept failed, with its kind (never the payload) in the log
            logger.exception("billing event %s (%s) failed", event.event_id, event.event_type)
            event.status, event.error = E.FAILED, type(exc).__name__[:255]
        event.processed_at = now
        event.save(update_fields=["status", "error", "attempts", "processed_at"])
    return event


def _subscription_for(obj: dict, *, subscription_id: str = "") -> Subscription | None:
    """Ours by Stripe's subscription id, else by the store the metadata names (with the same customer), else by
    the customer."""
    subscription_id = subscription_id or (obj.get("id") if obj.get("object") == "subscription" else "")
    if subscription_id:
        found = Subscription.objects.filter(stripe_subscription_id=subscription_id).first()
        if found is not None:
            return found
    customer = obj.get("customer") if isinstance(obj.get("customer"), str) else ""
    store_id = str((obj.get("metadata") or {}).get("store_id") or "")
    if store_id.isdigit() and customer:
        found = Subscription.objects.filter(store_id=int(store_id), stripe_customer_id=customer).first()
        if found is not None:
            return found
    return Subscription.objects.filter(stripe_customer_id=customer).first() if customer else None


def _invoice_subscription_id(invoice: dict) -> str:
    # on the invoice before Stripe's API version 2025-03-31, under parent.subscription_details since
    value = invoice.get("subscription")
    if isinstance(value, dict):
        value = value.get("id")
    if not value:
        value = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    return value if isinstance(value, str) else ""


def _event_apply(*, event: BillingEvent, now: datetime) -> str:
    data = event.payload
    obj = (data.get("data") or {}).get("object") or {}
    event_at = _stamp(data.get("created")) or now
    if event.event_type in SUBSCRIPTION_EVENTS:
        subscription = _subscription_for(obj)
        if subscription is None:
            return E.IGNORED
        subscription_apply(
            store=subscription.store,
            obj=obj,
            event_at=event_at,
            now=now,
            deleted=event.event_type == "customer.subscription.deleted",
        )
        return E.PROCESSED
    if event.event_type == INVOICE_FAILED or event.event_type in INVOICE_PAID:
        subscription = _subscription_for(obj, subscription_id=_invoice_subscription_id(obj))
        if subscription is None:
            return E.IGNORED
        failed = event.event_type == INVOICE_FAILED
        _invoice_apply(
            subscription_id=subscription.pk, failed=failed, event_at=event_at, now=now, event_id=event.event_id
        )
        return E.PROCESSED
    return E.IGNORED


def _invoice_apply(*, subscription_id: int, failed: bool, event_at: datetime, now: datetime, event_id: str) -> None:
    subscription = (
        Subscription.objects.select_for_update(of=("self",)).select_related("store", "plan").get(pk=subscription_id)
    )
    if subscription.last_event_at is not None and event_at < subscription.last_event_at:
        return
    if subscription.status == S.CANCELLED:
        return
    subscription.last_event_at = event_at
    store = subscription.store
    if failed:
        subscription.status = S.PAST_DUE
        subscription.past_due_since = subscription.past_due_since or now
        subscription.save()
        _grace_over_apply(subscription=subscription, now=now)
        members_notify(
            store=store,
            event_type=events.BILLING_PAYMENT_FAILED,
            event_id=f"billing-{event_id}",
            only_user_ids=list(store.memberships.filter(role="owner").values_list("user_id", flat=True)),
            payload={
                "plan": subscription.plan.name if subscription.plan else "",
                "grace_days": settings.BILLING_GRACE_DAYS,
            },
        )
        return
    if subscription.status in (S.PAST_DUE, S.INCOMPLETE):
        subscription.status, subscription.past_due_since = S.ACTIVE, None
        subscription.save()
        if subscription.plan is not None:
            store_plan_set(store=store, plan=subscription.plan, reason="invoice paid")
        return
    subscription.save()


# --- privacy --------------------------------------------------------------------------------------------------
def billing_events_person_erase(*, email: str, names: list[str]) -> int:
    """Stripe's billing events as stored (raw: an invoice's ``customer_email``, ``customer_name``, address) that
    mention ``email``: the email, ``names`` and the values of config.erasure.PERSONAL_KEYS become "[erased]" (ids,
    amounts, statuses stay, for the books and a replay's dedup). In the caller's transaction; returns how many."""
    return inbound_events_scrub(BillingEvent.objects.all(), email=email, names=names)


def billing_events_prune(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """The privacy retention kind ``billing_events``: deletes Stripe's billing events settled (processed, ignored,
    failed) more than BILLING_EVENT_RETENTION_DAYS ago (0: kept); pending ones stay. Their payloads carry the
    merchant's billing contact (email, name, address). Stripe retries an event for 3 days, and one older than the
    newest applied changes nothing, so a pruned event's late copy is harmless. Returns how many (dry: would)."""
    days = settings.BILLING_EVENT_RETENTION_DAYS
    if not days:
        return 0
    settled = BillingEvent.objects.filter(status__in=[E.PROCESSED, E.IGNORED, E.FAILED],
                                          received_at__lt=(now or timezone.now()) - timedelta(days=days))
    if dry_run:
        return settled.count()
    return settled.delete()[0]
