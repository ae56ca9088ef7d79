"""Stripe: a PaymentIntent per payment through the official SDK (stripe-python 16, ``StripeClient`` with the store's
secret key); the buyer's page confirms it with the ``client_secret`` (Stripe.js) and Stripe tells us the outcome by a
signed webhook (``Stripe-Signature``, verified by the SDK with the store's endpoint secret, 5 minutes' tolerance).

``settings.STRIPE_API_BASE`` points the SDK elsewhere than api.stripe.com (tests: a localstripe on 127.0.0.1).

What a notification says (``notification_read``):
- ``payment_intent.succeeded`` → PAID (``amount_received``), ``payment_intent.payment_failed`` → FAILED (the
  card's message; the card fingerprint when Stripe includes the payment method), ``payment_intent.processing``
  → PROCESSING, ``payment_intent.canceled`` → FAILED ("cancelled: <reason>").
- ``charge.refunded`` → REFUNDED. When the event includes the charge's refunds (API versions before 2022-11-15),
  about the newest: its ``refund_reference`` and ``refund_amount``; otherwise ``refund_amount`` is everything
  refunded on the charge so far (``amount_refunded``) and there is no ``refund_reference``: subscribe to
  ``refund.*`` too, whose events each name their refund.
- ``refund.created`` / ``refund.updated`` / ``refund.failed`` → one refund: ``refund_reference`` and this refund's
  ``refund_amount``; REFUNDED once it succeeded, FAILED when it failed or was cancelled (``message``: Stripe's
  reason), IGNORED while it is pending.
- Any other event type → IGNORED. ``reference`` is always the PaymentIntent id.
"""

import logging
from decimal import Decimal

import stripe
from django.conf import settings

from config.money import from_minor_units, minor_units
from orders.models import OrderStatus

from .base import Gateway, GatewayFailed, Notification, Outcome, PaymentStart, RefundResult, SignatureInvalid

logger = logging.getLogger(__name__)

# Stripe retries a failed request itself (connection errors, 409/429/5xx), with an idempotency key of its own so
# the retry cannot charge twice; once, because checkout waits for it with its stock rows locked.
MAX_NETWORK_RETRIES = 1
SIGNATURE_HEADER = "Stripe-Signature"

_http_clients: dict[float, stripe.HTTPClient] = {}


def _http_client() -> stripe.HTTPClient:
    """One HTTP client per timeout, shared (its requests sessions are per thread), so connections are reused."""
    timeout = settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS
    if timeout not in _http_clients:
        _http_clients[timeout] = stripe.RequestsClient(timeout=timeout)
    return _http_clients[timeout]


def _client(secret_key: str) -> stripe.StripeClient:
    if not secret_key:
        raise GatewayFailed("Stripe is not configured for this store (no secret key).")
    addresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(secret_key, base_addresses=addresses, max_network_retries=MAX_NETWORK_RETRIES,
                               http_client=_http_client())


def _failed(exc: stripe.StripeError, doing: str) -> GatewayFailed:
    """A message safe to show for a Stripe error (never Stripe's own text but a card's: an authentication error's
    names part of the key), and a log line with what support needs (the error's kind, code, status, request id)."""
    logger.warning("Stripe refused or failed to %s: %s (code %s, HTTP status %s, request %s)", doing,
                   type(exc).__name__, exc.code or "none", exc.http_status, exc.request_id or "none")
    if isinstance(exc, stripe.CardError):
        return GatewayFailed(exc.user_message or "The card was declined.")
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return GatewayFailed("Stripe refused the store's API key: check its Stripe settings.")
    if isinstance(exc, stripe.RateLimitError):
        return GatewayFailed("Stripe is busy: try again in a moment.")
    if isinstance(exc, stripe.APIConnectionError):
        return GatewayFailed("Stripe could not be reached: try again in a moment.")
    if isinstance(exc, stripe.InvalidRequestError):
        return GatewayFailed(f"Stripe refused to {doing}" + (f" ({exc.code})." if exc.code else "."))
    return GatewayFailed(f"Stripe could not {doing}.")


# Stripe takes these three-decimal currencies in minor units, but only whole multiples of 10 (the last digit 0); it
# refuses the rest. Zero-decimal ones (JPY, KRW) go as whole units: config.money's places say so already.
TENS_ONLY = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def _stripe_amount(amount: Decimal, currency: str) -> int:
    """``amount`` in the minor units Stripe takes. Raises GatewayFailed (nothing sent to Stripe) for a three-decimal
    amount whose last digit is not 0, which Stripe would refuse."""
    units = minor_units(amount, currency)
    if currency.upper() in TENS_ONLY and units % 10:
        raise GatewayFailed(f"Stripe takes {currency.upper()} amounts in steps of 0.010 only, so it cannot take "
                            f"{amount:f} {currency.upper()}: choose another payment method.")
    return units


def stripe_event_verify(*, body: bytes, headers, secret: str, tolerance: int | None = 300) -> dict:
    """A Stripe event from a webhook's raw ``body``, once its ``Stripe-Signature`` verifies with the endpoint's
    ``secret`` (the SDK's ``Webhook.construct_event``: HMAC-SHA256 compared in constant time, any of several v1
    signatures, the timestamp within ``tolerance`` seconds). The stores' Stripe webhooks and the platform's billing
    webhooks (billing.services) both verify here. Raises SignatureInvalid (nothing to store) when it does not verify
    or is not an event; the dict has ``id``, ``type`` and ``data.object`` (a dict)."""
    try:
        event = stripe.Webhook.construct_event(body, _header(headers, SIGNATURE_HEADER), secret, tolerance=tolerance)
    except stripe.SignatureVerificationError as exc:
        stale = "tolerance" in str(exc)
        raise SignatureInvalid("The Stripe-Signature timestamp is too old." if stale
                               else "The Stripe-Signature does not match.") from None
    except (ValueError, TypeError, AttributeError):  # signed, but not UTF-8, not JSON, or JSON but no event
        raise SignatureInvalid("The body is not a Stripe event.") from None
    data = event.to_dict()
    obj = (data.get("data") or {}).get("object") or {}
    if not data.get("id") or not isinstance(obj, dict):
        raise SignatureInvalid("The body is not a Stripe event.")
    data["data"] = {**(data.get("data") or {}), "object": obj}
    return data


def _header(headers, name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for key, v in headers.items() if key.lower() == name.lower()), None)
    return value


def _amount(units, currency: str) -> Decimal | None:
    return None if units is None or not currency else from_minor_units(units, currency)


def _fingerprint(intent: dict) -> str:
    """The card's fingerprint, where the event carries it: the failed payment method, or an expanded charge."""
    method = ((intent.get("last_payment_error") or {}).get("payment_method")) or {}
    if isinstance(method, dict) and (method.get("card") or {}).get("fingerprint"):
        return method["card"]["fingerprint"]
    charge = intent.get("latest_charge")
    if isinstance(charge, dict):
        return ((charge.get("payment_method_details") or {}).get("card") or {}).get("fingerprint") or ""
    return ""


class Stripe(Gateway):
    name = "stripe"
    label = "Stripe"
    # publishable_key: the storefront's Stripe.js key (public); secret_key: the API key (sk_… or a restricted rk_…);
    # webhook_secret: the endpoint's signing secret (whsec_…), without which no payment could ever be marked paid.
    fields = ("enabled", "publishable_key")
    secret_fields = ("secret_key", "webhook_secret")
    required = ("secret_key", "webhook_secret")
    enabled_by_default = False
    order_status = OrderStatus.PENDING
    tolerance_seconds: int | None = 300  # how old a signed notification may be (Stripe's own default)
    prefixes = {"publishable_key": ("pk_",), "secret_key": ("sk_", "rk_"), "webhook_secret": ("whsec_",)}

    def value_problem(self, name: str, value) -> str:
        """A key of another kind (a publishable key pasted as the secret one…) is refused before Stripe is asked."""
        prefixes = self.prefixes.get(name)
        if prefixes and value and not value.startswith(prefixes):
            return "Stripe's key for this starts with " + " or ".join(prefixes) + "."
        return ""

    def start(self, *, order, payment, setting) -> PaymentStart:
        """Creates a card PaymentIntent for the payment's amount in minor units, the order number and store slug in
        its metadata; the buyer's page confirms it with the client secret."""
        client = _client(self.secret(setting, "secret_key"))
        params = {
            "amount": _stripe_amount(payment.amount, payment.currency),
            "currency": payment.currency.lower(),
            "payment_method_types": ["card"],
            "metadata": {"order_number": order.number, "store": order.store.slug},
        }
        try:
            intent = client.v1.payment_intents.create(params=params)
        except stripe.StripeError as exc:
            raise _failed(exc, "start the payment") from None
        return PaymentStart(reference=intent.id, client_secret=intent.client_secret)

    def notification_read(self, *, setting, body: bytes, headers) -> Notification:
        secret = self.secret(setting, "webhook_secret")
        if not secret:
            raise SignatureInvalid("The store has no Stripe webhook secret.")
        data = stripe_event_verify(body=body, headers=headers, secret=secret, tolerance=self.tolerance_seconds)
        return _notification(event_id=data["id"], event_type=data.get("type") or "", obj=data["data"]["object"])

    def refund(self, *, payment, refund, setting) -> RefundResult:
        """Refunds ``refund.amount`` of the payment's PaymentIntent. Stripe's idempotency key is the refund's id, so
        a retried call cannot refund twice."""
        if not payment.reference:
            raise GatewayFailed("This payment never reached Stripe: there is nothing to refund there.")
        amount = _stripe_amount(refund.amount, payment.currency)
        client = _client(self.secret(setting, "secret_key"))
        params = {
            "payment_intent": payment.reference,
            "amount": amount,
            "metadata": {"payment": str(payment.pk), "refund": str(refund.pk)},
        }
        options = {"idempotency_key": f"refund-{payment.reference}-{refund.pk}"} if refund.pk else {}
        try:
            created = client.v1.refunds.create(params=params, options=options)
        except stripe.StripeError as exc:
            raise _failed(exc, "refund the payment") from None
        answer = created.to_dict()
        if answer.get("status") in ("failed", "canceled"):
            reason = answer.get("failure_reason") or answer["status"]
            return RefundResult(reference=created.id, succeeded=False,
                                message=f"Stripe could not refund it ({reason}).")
        return RefundResult(reference=created.id, succeeded=True)


def _notification(*, event_id: str, event_type: str, obj: dict) -> Notification:
    currency = (obj.get("currency") or "").upper()
    metadata = obj.get("metadata") or {}
    order_number = str(metadata.get("order_number") or "")
    common = {"event_id": event_id, "event_type": event_type, "order_number": order_number, "currency": currency}

    if obj.get("object") == "payment_intent" and event_type.startswith("payment_intent."):
        intent_common = {**common, "reference": obj.get("id") or "", "card_fingerprint": _fingerprint(obj)}
        if event_type == "payment_intent.succeeded":
            received = obj.get("amount_received") or obj.get("amount")
            return Notification(outcome=Outcome.PAID, amount=_amount(received, currency), **intent_common)
        amount = _amount(obj.get("amount"), currency)
        if event_type == "payment_intent.payment_failed":
            error = obj.get("last_payment_error") or {}
            message = error.get("message") or error.get("code") or "The payment failed."
            return Notification(outcome=Outcome.FAILED, amount=amount, message=message[:255], **intent_common)
        if event_type == "payment_intent.processing":
            return Notification(outcome=Outcome.PROCESSING, amount=amount, **intent_common)
        if event_type == "payment_intent.canceled":
            reason = obj.get("cancellation_reason") or "no reason given"
            return Notification(outcome=Outcome.FAILED, amount=amount, message=f"cancelled: {reason}", **intent_common)

    elif obj.get("object") == "charge" and event_type == "charge.refunded":
        charge_common = {**common, "reference": obj.get("payment_intent") or "",
                         "amount": _amount(obj.get("amount"), currency)}
        refunds = [r for r in ((obj.get("refunds") or {}).get("data") or []) if isinstance(r, dict) and r.get("id")]
        if refunds:  # older API versions include the charge's refunds: the newest is the one this event is about
            latest = max(refunds, key=lambda r: r.get("created") or 0)
            return Notification(outcome=Outcome.REFUNDED, refund_reference=latest["id"],
                                refund_amount=_amount(latest.get("amount"), currency), **charge_common)
        return Notification(outcome=Outcome.REFUNDED, refund_amount=_amount(obj.get("amount_refunded"), currency),
                            **charge_common)

    elif obj.get("object") == "refund" and event_type.startswith("refund."):
        status = obj.get("status") or ""
        refund_common = {**common, "reference": obj.get("payment_intent") or "",
                         "refund_reference": obj.get("id") or "", "refund_amount": _amount(obj.get("amount"), currency)}
        if status == "succeeded":
            return Notification(outcome=Outcome.REFUNDED, **refund_common)
        if status in ("failed", "canceled"):
            reason = obj.get("failure_reason") or status
            return Notification(outcome=Outcome.FAILED, message=f"refund {status}: {reason}", **refund_common)
        return Notification(outcome=Outcome.IGNORED, **refund_common)

    return Notification(outcome=Outcome.IGNORED, **common)
