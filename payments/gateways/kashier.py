"""Kashier (Egypt): the hosted payment page, its signed server webhook and signed redirect, refunds by its API.

The schemes are ../shared/GATEWAYS.md "Kashier", exactly:

- the page: ``KASHIER_CHECKOUT_URL?merchantId=…&orderId=<order number>&amount=<as hashed>&currency=…&hash=…&mode=…
  &merchantRedirect=…[&serverWebhook=…]``; ``hash`` is HMAC-SHA256 (the Payment API key) of
  ``/?payment=<mid>.<order number>.<amount>.<currency>``, the amount written with the currency's places.
- the server webhook (``POST …/webhooks/kashier/{store}``, header ``x-kashier-signature``): the keys named in
  ``data.signatureKeys``, sorted (the store's ``signature_keys_sorted``, on by default; older plugins sign them in
  the order given), as ``key=<RFC 3986 encoded value>`` joined by ``&``. Only signed values are read: a field the
  signature does not cover is treated as absent. This is what moves the order.
- the redirect back (``GET …/return/kashier/{store}``): every parameter but ``signature`` and ``mode``, in the order
  received, as ``key=value`` (decoded) joined by ``&``. It only tells the buyer's page what happened.

Which key signs the webhook and the redirect is the store's ``signature_key``: ``api_key`` (the Payment API key,
the default) or ``secret_key`` (the account secret key some older flows used). Refunds use the secret key.

``Payment.reference`` for Kashier is ``<kashierOrderId>:<transactionId>``: the refund API needs both.
"""

import hashlib
import hmac
import json
import logging
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import requests
from django.conf import settings

from config.money import money_str

from .addresses import return_url, webhook_url
from .base import Gateway, GatewayFailed, Notification, Outcome, PaymentStart, RefundResult, SignatureInvalid

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-kashier-signature"
TEST_API_BASE, LIVE_API_BASE = "https://test-api.kashier.io", "https://api.kashier.io"
MODES = ("test", "live")
SIGNATURE_KEYS = ("api_key", "secret_key")


def _hmac_hex(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _same(expected_hex: str, given) -> bool:
    """Constant-time comparison over bytes; hex case does not matter."""
    if not isinstance(given, str) or not given.strip():
        return False
    return hmac.compare_digest(expected_hex.lower().encode(), given.strip().lower().encode())


def order_hash(*, merchant_id: str, order_id: str, amount: str, currency: str, api_key: str) -> str:
    """The hosted page's ``hash``: ``amount`` exactly as it is sent (``150`` and ``150.00`` differ)."""
    return _hmac_hex(api_key, f"/?payment={merchant_id}.{order_id}.{amount}.{currency}")


def value_text(value) -> str:
    """A JSON value as Kashier writes it before encoding: as JavaScript's ``String(value)`` would (a whole number
    without ``.0``, ``true``/``false``, ``null``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal | float):
        number = Decimal(str(value)) if isinstance(value, float) else value
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def webhook_signed_string(data: dict, keys: list[str], *, sort: bool = True) -> str:
    """``key=<RFC 3986 encoded value>`` for each signature key (sorted unless ``sort`` is off), joined by ``&``."""
    names = sorted(keys) if sort else list(keys)
    return "&".join(f"{name}={quote(value_text(data[name]), safe='')}" for name in names)


def redirect_signed_string(params: list[tuple[str, str]]) -> str:
    """The redirect's parameters in the order received, without ``signature`` and ``mode``: ``key=value`` by ``&``."""
    return "&".join(f"{name}={value}" for name, value in params if name not in ("signature", "mode"))


def is_web_address(value) -> bool:
    """An absolute http(s) address with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _header(headers, name: str) -> str:
    """A header's value whatever the case of its name (a request's ``headers`` or a plain dict)."""
    value = next((value for key, value in (headers or {}).items() if str(key).lower() == name), "")
    return value if isinstance(value, str) else ""


def _message(value) -> str:
    """Kashier's messages come as text or as ``{"en": …, "ar": …}``."""
    if isinstance(value, dict):
        value = value.get("en") or next(iter(value.values()), "")
    return str(value or "")[:255]


def _decimal(value) -> Decimal | None:
    try:
        amount = Decimal(value_text(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


class Kashier(Gateway):
    name = "kashier"
    label = "Kashier"
    # signature_keys_sorted and signature_key are GATEWAYS.md's two "(open)" points; return_url is the store's own
    # page the buyer lands on after the redirect is verified (none: the verified result is answered as JSON).
    fields = ("enabled", "merchant_id", "mode", "signature_keys_sorted", "signature_key", "return_url")
    secret_fields = ("api_key", "secret_key")
    required = ("merchant_id", "api_key")
    enabled_by_default = False
    choices = {"mode": MODES, "signature_key": SIGNATURE_KEYS}
    flags = ("signature_keys_sorted",)
    defaults = {"signature_keys_sorted": True}

    # --- settings ------------------------------------------------------------
    def value_problem(self, name: str, value) -> str:
        if name == "return_url" and not is_web_address(value):
            return "Must be a full http(s) address, e.g. https://shop.example.com/thanks."
        return ""

    def _mode(self, setting) -> str:
        return "live" if self.option(setting, "mode") == "live" else "test"

    def _signing_key(self, setting) -> str:
        name = self.option(setting, "signature_key")
        return self.secret(setting, name if name in SIGNATURE_KEYS else "api_key")

    def api_base(self, setting) -> str:
        return (settings.KASHIER_API_BASE or (LIVE_API_BASE if self._mode(setting) == "live" else TEST_API_BASE)
                ).rstrip("/")

    # --- the hosted page -------------------------------------------------------
    def start(self, *, order, payment, setting) -> PaymentStart:
        merchant_id = str(self.option(setting, "merchant_id") or "")
        api_key = self.secret(setting, "api_key")
        if not merchant_id or not api_key:
            raise GatewayFailed("Kashier is not configured for this store.")
        amount = money_str(payment.amount, payment.currency)
        store_slug = order.store.slug
        params = {
            "merchantId": merchant_id, "orderId": order.number, "amount": amount, "currency": payment.currency,
            "hash": order_hash(merchant_id=merchant_id, order_id=order.number, amount=amount,
                               currency=payment.currency, api_key=api_key),
            "mode": self._mode(setting),
            "merchantRedirect": return_url(self.name, store_slug),
            "serverWebhook": webhook_url(self.name, store_slug),
        }
        query = urlencode({name: value for name, value in params.items() if value})
        return PaymentStart(redirect_url=f"{settings.KASHIER_CHECKOUT_URL.rstrip('/')}/?{query}")

    # --- the server webhook ----------------------------------------------------
    def notification_read(self, *, setting, body: bytes, headers) -> Notification:
        key = self._signing_key(setting)
        if not key:
            raise SignatureInvalid("Kashier is not configured for this store.")
        try:
            event = json.loads(body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise SignatureInvalid("Not a Kashier notification.") from None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise SignatureInvalid("Not a Kashier notification.")
        data = event.get("data")
        keys = data.get("signatureKeys") if isinstance(data, dict) else None
        if not isinstance(keys, list) or not keys or not all(isinstance(name, str) and name in data for name in keys):
            raise SignatureInvalid("Not a Kashier notification.")
        signed = webhook_signed_string(data, keys, sort=self.option(setting, "signature_keys_sorted") is not False)
        if not _same(_hmac_hex(key, signed), _header(headers, SIGNATURE_HEADER)):
            raise SignatureInvalid("The Kashier signature does not match.")
        values = {name: data[name] for name in keys}  # what the signature covers, nothing else
        transaction_id = value_text(values.get("transactionId", "")) if "transactionId" in values else ""
        if not transaction_id:
            raise SignatureInvalid("The Kashier notification signs no transactionId.")
        return self._notification(event["event"], values, data, transaction_id)

    def _notification(self, kind: str, values: dict, data: dict, transaction_id: str) -> Notification:
        status = str(values.get("status", "")).upper()
        amount = _decimal(values["amount"]) if "amount" in values else None
        currency = str(values.get("currency", "")).upper()
        order_id = str(values.get("kashierOrderId", ""))
        message = _message(data.get("transactionResponseMessage") or data.get("message")) or status.lower()
        common = {"event_id": f"{transaction_id}:{kind}", "event_type": kind,
                  "order_number": str(values.get("merchantOrderId", "")), "currency": currency}
        if kind == "pay":
            if status == "SUCCESS":
                outcome = Outcome.PAID
            elif status in ("PENDING", "INITIATED"):
                outcome = Outcome.PROCESSING
            else:
                outcome = Outcome.FAILED
            card = data.get("card") if isinstance(data.get("card"), dict) else {}
            info = card.get("cardInfo") if isinstance(card.get("cardInfo"), dict) else {}
            fingerprint = str(values.get("maskedCard") or info.get("maskedCard") or "")[:64]
            return Notification(outcome=outcome, reference=f"{order_id}:{transaction_id}" if order_id else "",
                                amount=amount, card_fingerprint=fingerprint,
                                message="" if outcome == Outcome.PAID else message, **common)
        if kind == "refund" and status not in ("PENDING", "INITIATED"):
            # a failed refund is FAILED naming the refund (its amount is given back), never the payment's failure
            succeeded = status == "SUCCESS"
            return Notification(outcome=Outcome.REFUNDED if succeeded else Outcome.FAILED,
                                refund_reference=transaction_id, refund_amount=amount,
                                message="" if succeeded else message, **common)
        return Notification(outcome=Outcome.IGNORED, amount=amount, message=message, **common)

    # --- the redirect back -----------------------------------------------------
    def return_read(self, *, setting, query: str) -> Notification:
        """Verifies the buyer's redirect (``query``: the raw query string, or the form body with
        ``redirectMethod=post``) and reads it. It moves nothing: the server webhook does. Raises SignatureInvalid."""
        key = self._signing_key(setting)
        params = parse_qsl(query, keep_blank_values=True)
        given = next((value for name, value in params if name == "signature"), "")
        if not key or not _same(_hmac_hex(key, redirect_signed_string(params)), given):
            raise SignatureInvalid("The Kashier signature does not match.")
        values = dict(params)
        status = values.get("paymentStatus", "").upper()
        outcome = {"SUCCESS": Outcome.PAID, "FAILURE": Outcome.FAILED, "CANCELLED": Outcome.FAILED}.get(
            status, Outcome.IGNORED)
        return Notification(event_id=f"{values.get('transactionId', '')}:redirect", event_type="redirect",
                            outcome=outcome, order_number=values.get("merchantOrderId", ""),
                            amount=_decimal(values.get("amount", "")), currency=values.get("currency", "").upper(),
                            message=status.lower())

    # --- refunds -----------------------------------------------------------------
    def refund(self, *, payment, refund, setting) -> RefundResult:
        secret_key = self.secret(setting, "secret_key")
        if not secret_key:
            raise GatewayFailed("Set the store's Kashier secret key to refund through Kashier.")
        order_id, _, transaction_id = (payment.reference or "").partition(":")
        if not order_id or not transaction_id:
            raise GatewayFailed("Kashier has not confirmed this payment yet: there is nothing to refund.")
        url = (f"{self.api_base(setting)}/orders/{quote(order_id, safe='')}/transactions/"
               f"{quote(transaction_id, safe='')}")
        amount = money_str(refund.amount, payment.currency)
        try:
            answer = requests.put(url, params={"operation": "refund"}, json={"amount": amount, "reason": refund.reason},
                                  headers={"Authorization": secret_key, "Accept": "application/json"},
                                  timeout=settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            logger.warning("Kashier refund request failed: %s", type(exc).__name__)
            raise GatewayFailed("Kashier could not be reached; check its dashboard before trying again.") from None
        if answer.status_code in (401, 403):
            raise GatewayFailed("Kashier did not accept the store's secret key.")
        try:
            result = answer.json()
        except ValueError:
            result = None
        if answer.status_code >= 500 or not isinstance(result, dict):
            raise GatewayFailed(f"Kashier answered {answer.status_code}; check its dashboard before trying again.")
        inner = result.get("response") if isinstance(result.get("response"), dict) else {}
        status = str(inner.get("status") or result.get("status") or "").upper()
        if answer.ok and status == "SUCCESS":
            return RefundResult(reference=str(inner.get("transactionId") or inner.get("refundId") or ""))
        message = (_message(inner.get("gatewayMessage") or inner.get("message") or result.get("messages")
                            or result.get("message")) or "Kashier declined the refund.")
        return RefundResult(succeeded=False, message=message)
