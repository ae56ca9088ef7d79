"""A test-only card gateway: HMAC-SHA256 (hex) of the raw body with the store's ``secret``, in ``X-Test-Signature``.

Registered in REGISTRY by the ``signed_gateway`` fixture (payments/tests/conftest.py) so the webhook pipeline is
tested end to end (the view, the storage, the worker's processing) exactly as the real gateways use it.
"""

import hashlib
import hmac
import json
from decimal import Decimal

from orders.models import OrderStatus
from payments.gateways.base import Gateway, Notification, Outcome, PaymentStart, SignatureInvalid

NAME = "signedpay"
HEADER = "X-Test-Signature"
OUTCOMES = {"payment.succeeded": Outcome.PAID, "payment.failed": Outcome.FAILED,
            "payment.processing": Outcome.PROCESSING, "refund.succeeded": Outcome.REFUNDED}


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_body(event_id: str, event_type: str, *, order: str = "", reference: str = "", amount: str | None = None,
               currency: str = "", refund: str = "", refund_amount: str | None = None, message: str = "",
               card: str = "") -> bytes:
    return json.dumps({"id": event_id, "type": event_type, "order": order, "reference": reference,
                       "amount": amount, "currency": currency, "refund": refund, "refund_amount": refund_amount,
                       "message": message, "card": card}).encode()


class SignedGateway(Gateway):
    name = NAME
    label = "Signed test gateway"
    fields = ("enabled",)
    secret_fields = ("secret",)
    required = ("secret",)
    enabled_by_default = False
    order_status = OrderStatus.PENDING

    def start(self, *, order, payment, setting) -> PaymentStart:
        return PaymentStart(reference=f"sp_{order.number}", redirect_url=f"https://pay.test/{order.number}")

    def notification_read(self, *, setting, body: bytes, headers) -> Notification:
        secret = setting.secrets_dict().get("secret", "")
        given = headers.get(HEADER, "")
        if not secret or not hmac.compare_digest(sign(secret, body).encode(), given.encode()):
            raise SignatureInvalid("The signature does not match.")
        data = json.loads(body)
        amount = data.get("amount")
        refund_amount = data.get("refund_amount")
        return Notification(
            event_id=data["id"], event_type=data["type"], outcome=OUTCOMES.get(data["type"], Outcome.IGNORED),
            order_number=data.get("order") or "", reference=data.get("reference") or "",
            amount=None if amount is None else Decimal(amount), currency=data.get("currency") or "",
            refund_reference=data.get("refund") or "",
            refund_amount=None if refund_amount is None else Decimal(refund_amount),
            card_fingerprint=data.get("card") or "", message=data.get("message") or "")

    def notification_answer(self) -> tuple[dict, int]:
        return {"received": "yes"}, 200
