"""Moamalat (Libya, NPG Lightbox): the Lightbox parameters, its signed server notification, refunds by its API.

The schemes are ../shared/GATEWAYS.md "Moamalat", exactly. Keys are given as hex and hex-decoded before the
HMAC-SHA256; hashes are uppercase hex (compared without regard to case).

- Lightbox: ``SecureHash`` over ``Amount=…&DateTimeLocalTrxn=…&MerchantId=…&MerchantReference=…&TerminalId=…``
  (the order number as MerchantReference, the amount in minor units) with the secure key; the storefront gets
  ``{MID, TID, AmountTrxn, MerchantReference, TrxDateTime, SecureHash}`` (and ``script_url``, the test or live
  lightbox.js) for ``Lightbox.Checkout``. The browser's completeCallback is not trusted; only the notification is.
- Notification (``POST …/webhooks/moamalat/{store}``): ``SecureHash`` over ``Amount=…&Currency=…&DateTimeLocalTrxn=…
  &MerchantId=…&TerminalId=…`` (raw values as received) with the store's notification key (a separate secret,
  defaulting to the secure key), for the store's own merchant and terminal. Answered ``{"Message": "Success",
  "Success": true}``. The hash covers neither ``MerchantReference`` nor ``ActionCode``: the amount check the
  webhook pipeline makes against the payment is what ties a notification to an order.
- Refund API: ``POST MOAMALAT_API_BASE/RefundTransaction``, its ``SecureHash`` over ``DateTimeLocalTrxn=…
  &MerchantId=…&TerminalId=…`` with the secure key.

``Payment.reference`` for Moamalat is the notification's ``SystemReference``, which the refund API takes.
"""

import hashlib
import hmac
import json
import logging

import requests
from django.conf import settings
from django.utils import timezone

from config.money import from_minor_units, minor_units

from .base import Gateway, GatewayFailed, Notification, Outcome, PaymentStart, RefundResult, SignatureInvalid

logger = logging.getLogger(__name__)

TEST_API_BASE, LIVE_API_BASE = "https://tnpg.moamalat.net/cube/paylink.svc/api", "https://npg.moamalat.net/cube/paylink.svc/api"
TEST_SCRIPT, LIVE_SCRIPT = "https://tnpg.moamalat.net:6006/js/lightbox.js", "https://npg.moamalat.net:6006/js/lightbox.js"
MODES = ("test", "live")
# ISO 4217 numeric codes of the currencies Moamalat takes.
CURRENCY_NUMBERS = {"LYD": "434"}
CURRENCY_LETTERS = {number: letters for letters, number in CURRENCY_NUMBERS.items()}
APPROVED = "00"
SALE, REFUND, VOID_SALE, VOID_REFUND = "1", "2", "3", "4"
NOTIFICATION_FIELDS = ("Amount", "Currency", "DateTimeLocalTrxn", "MerchantId", "TerminalId")


def secure_hash(key_hex: str, fields: list[tuple[str, str]]) -> str:
    """Uppercase hex HMAC-SHA256 of ``key=value`` pairs joined by ``&`` (no encoding, empty values kept), keyed by
    the hex-decoded key. Raises ValueError for a key that is not hex."""
    message = "&".join(f"{name}={value}" for name, value in fields)
    return hmac.new(bytes.fromhex(key_hex), message.encode(), hashlib.sha256).hexdigest().upper()


def is_hex_key(value) -> bool:
    try:
        return bool(bytes.fromhex(value))
    except (TypeError, ValueError):
        return False


def trx_datetime(store=None) -> str:
    """Now as ``yyyyMMddHHmm`` in the store's time zone (a merchant's local time), as Lightbox and the refund API
    take it."""
    zone = store.zone if store is not None else None
    return timezone.localtime(timezone.now(), zone).strftime("%Y%m%d%H%M")


def _raw(value) -> str:
    return "" if value is None else str(value)


class Moamalat(Gateway):
    name = "moamalat"
    label = "Moamalat"
    fields = ("enabled", "merchant_id", "terminal_id", "mode")
    secret_fields = ("secure_key", "notification_key")
    required = ("merchant_id", "terminal_id", "secure_key")
    enabled_by_default = False
    choices = {"mode": MODES}

    # --- settings ------------------------------------------------------------
    def value_problem(self, name: str, value) -> str:
        if name in self.secret_fields and not is_hex_key(value):
            return "Must be the key in hex, as the Moamalat merchant portal shows it."
        return ""

    def _ids(self, setting) -> tuple[str, str]:
        return str(self.option(setting, "merchant_id") or ""), str(self.option(setting, "terminal_id") or "")

    def _live(self, setting) -> bool:
        return self.option(setting, "mode") == "live"

    def _secure_key(self, setting) -> str:
        return self.secret(setting, "secure_key")

    def _notification_key(self, setting) -> str:
        return self.secret(setting, "notification_key") or self.secret(setting, "secure_key")

    def api_base(self, setting) -> str:
        return (settings.MOAMALAT_API_BASE or (LIVE_API_BASE if self._live(setting) else TEST_API_BASE)).rstrip("/")

    def _configured(self, setting) -> tuple[str, str, str]:
        merchant_id, terminal_id = self._ids(setting)
        key = self._secure_key(setting)
        if not merchant_id or not terminal_id or not key:
            raise GatewayFailed("Moamalat is not configured for this store.")
        return merchant_id, terminal_id, key

    def _hash(self, key: str, fields: list[tuple[str, str]]) -> str:
        try:
            return secure_hash(key, fields)
        except ValueError:
            raise GatewayFailed("The store's Moamalat secure key is not hex.") from None

    # --- Lightbox --------------------------------------------------------------
    def start(self, *, order, payment, setting) -> PaymentStart:
        merchant_id, terminal_id, key = self._configured(setting)
        if payment.currency not in CURRENCY_NUMBERS:
            raise GatewayFailed(f"Moamalat takes {', '.join(CURRENCY_NUMBERS)} only, not {payment.currency}.")
        amount = str(minor_units(payment.amount, payment.currency))
        when = trx_datetime(order.store)
        signature = self._hash(key, [("Amount", amount), ("DateTimeLocalTrxn", when), ("MerchantId", merchant_id),
                                     ("MerchantReference", order.number), ("TerminalId", terminal_id)])
        return PaymentStart(lightbox={
            "MID": merchant_id, "TID": terminal_id, "AmountTrxn": int(amount), "MerchantReference": order.number,
            "TrxDateTime": when, "SecureHash": signature,
            "script_url": LIVE_SCRIPT if self._live(setting) else TEST_SCRIPT,
        })

    # --- the notification --------------------------------------------------------
    def notification_read(self, *, setting, body: bytes, headers) -> Notification:
        merchant_id, terminal_id = self._ids(setting)
        key = self._notification_key(setting)
        if not merchant_id or not terminal_id or not key:
            raise SignatureInvalid("Moamalat is not configured for this store.")
        try:
            # numbers kept as written: the hash covers the raw values
            data = json.loads(body, parse_int=str, parse_float=str)
        except (ValueError, UnicodeDecodeError):
            raise SignatureInvalid("Not a Moamalat notification.") from None
        if not isinstance(data, dict) or not all(name in data for name in (*NOTIFICATION_FIELDS, "SecureHash")):
            raise SignatureInvalid("Not a Moamalat notification.")
        try:
            expected = secure_hash(key, [(name, _raw(data[name])) for name in NOTIFICATION_FIELDS])
        except ValueError:
            raise SignatureInvalid("The store's Moamalat notification key is not hex.") from None
        given = data["SecureHash"]
        if not isinstance(given, str) or not hmac.compare_digest(expected.encode(), given.strip().upper().encode()):
            raise SignatureInvalid("The Moamalat signature does not match.")
        if (_raw(data["MerchantId"]), _raw(data["TerminalId"])) != (merchant_id, terminal_id):
            raise SignatureInvalid("The Moamalat notification is for another merchant or terminal.")
        system_reference = _raw(data.get("SystemReference")).strip()
        if not system_reference:
            raise SignatureInvalid("The Moamalat notification has no SystemReference.")
        return self._notification(data, system_reference)

    def _notification(self, data: dict, system_reference: str) -> Notification:
        kind = _raw(data.get("TxnType")).strip() or SALE
        approved = _raw(data.get("ActionCode")).strip() == APPROVED
        currency = CURRENCY_LETTERS.get(_raw(data["Currency"]).strip(), "")
        try:
            amount = from_minor_units(int(_raw(data["Amount"]).strip()), currency) if currency else None
        except ValueError:
            amount = None
        message = _raw(data.get("Message"))[:255]
        common = {"event_id": f"{system_reference}:{kind}", "event_type": f"txn_type_{kind}",
                  "order_number": _raw(data.get("MerchantReference")).strip(), "currency": currency}
        if kind == SALE:
            fingerprint = _raw(data.get("PayerAccount"))[:64]
            return Notification(outcome=Outcome.PAID if approved else Outcome.FAILED, reference=system_reference,
                                amount=amount, card_fingerprint=fingerprint, message="" if approved else message,
                                **common)
        if kind in (REFUND, VOID_SALE):
            # a void of the sale gives the whole sale back; a declined one is FAILED naming the refund (its amount
            # is given back), never the payment's failure
            return Notification(outcome=Outcome.REFUNDED if approved else Outcome.FAILED,
                                refund_reference=system_reference, refund_amount=amount,
                                message="" if approved else message, **common)
        return Notification(outcome=Outcome.IGNORED, amount=amount, message=message, **common)

    def notification_answer(self) -> tuple[dict, int]:
        return {"Message": "Success", "Success": True}, 200

    # --- refunds -----------------------------------------------------------------
    def refund(self, *, payment, refund, setting) -> RefundResult:
        merchant_id, terminal_id, key = self._configured(setting)
        if not payment.reference:
            raise GatewayFailed("Moamalat has not confirmed this payment yet: there is nothing to refund.")
        when = trx_datetime(payment.store)
        body = {
            "TerminalId": terminal_id, "MerchantId": merchant_id, "DateTimeLocalTrxn": when,
            "SecureHash": self._hash(key, [("DateTimeLocalTrxn", when), ("MerchantId", merchant_id),
                                           ("TerminalId", terminal_id)]),
            "AmountTrxn": minor_units(refund.amount, payment.currency), "SystemReference": payment.reference,
        }
        try:
            answer = requests.post(f"{self.api_base(setting)}/RefundTransaction", json=body,
                                   headers={"Accept": "application/json"},
                                   timeout=settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            logger.warning("Moamalat refund request failed: %s", type(exc).__name__)
            raise GatewayFailed("Moamalat could not be reached; check its portal before trying again.") from None
        try:
            result = answer.json()
        except ValueError:
            result = None
        if answer.status_code >= 500 or not isinstance(result, dict):
            raise GatewayFailed(f"Moamalat answered {answer.status_code}; check its portal before trying again.")
        if answer.ok and result.get("Success") is True:
            reference = next((_raw(result[name]) for name in ("SystemReference", "RefNumber", "SystemTxnId")
                              if result.get(name) not in (None, "")), "")
            return RefundResult(reference=reference)
        message = _raw(result.get("Message"))[:255] or "Moamalat declined the refund."
        return RefundResult(succeeded=False, message=message)
