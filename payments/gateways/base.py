"""What every gateway is: its settings, the order status it starts from, how a payment starts, how its
notifications are verified and read, how it refunds.

A gateway is a subclass in its own module plus one line in ``REGISTRY`` (payments/gateways/__init__.py). It never
touches the database: the services (payments.services) read and write payments, refunds and orders, and hand a
gateway the store's ``GatewaySetting`` (``setting.options`` for public settings, ``setting.secrets_dict()`` for
credentials) and the payment or refund it works on.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from orders.models import OrderStatus


class SignatureInvalid(Exception):
    """An inbound notification whose signature (or timestamp) does not verify: answered 400, nothing stored."""


class GatewayFailed(Exception):
    """The gateway refused or could not be reached; the message is safe to show (no secrets, no stack)."""


@dataclass(frozen=True)
class PaymentStart:
    """What a gateway's ``start`` gives a new payment.

    ``reference`` is the gateway's id for it (Stripe PaymentIntent id); the rest is what the buyer's page needs and
    the checkout answer shows, the non-empty parts only: ``instructions`` (bank_transfer), ``client_secret``
    (stripe), ``redirect_url`` (kashier), ``lightbox`` (moamalat's Lightbox.Checkout parameters).
    """

    instructions: str = ""
    reference: str = ""
    client_secret: str = ""
    redirect_url: str = ""
    lightbox: dict = field(default_factory=dict)

    def action(self) -> dict:
        """The buyer's part, stored on the payment (``Payment.action``)."""
        parts = {"client_secret": self.client_secret, "redirect_url": self.redirect_url, "lightbox": self.lightbox}
        return {name: value for name, value in parts.items() if value}


class Outcome:
    """What a notification says happened."""

    PAID = "paid"
    FAILED = "failed"
    PROCESSING = "processing"
    REFUNDED = "refunded"  # a refund the gateway reports (``refund_amount`` says how much in all or this time)
    IGNORED = "ignored"  # verified, nothing for us to do


@dataclass(frozen=True)
class Notification:
    """A verified inbound notification, read: what the webhook pipeline needs, whatever the gateway."""

    event_id: str  # unique per gateway: a replay of the same event is a no-op
    event_type: str
    outcome: str  # an Outcome
    order_number: str = ""  # the reference we sent (Kashier merchantOrderId, Moamalat MerchantReference, metadata)
    reference: str = ""  # the gateway's payment id
    amount: Decimal | None = None  # in the currency's major units
    currency: str = ""  # ISO 4217 letters
    refund_reference: str = ""
    refund_amount: Decimal | None = None
    card_fingerprint: str = ""
    message: str = ""  # the gateway's reason, for a failure


@dataclass(frozen=True)
class RefundResult:
    reference: str = ""  # the gateway's refund id
    succeeded: bool = True  # False: the gateway declined (``message`` says why); pending ones say so by a webhook
    message: str = ""


class Gateway:
    """One way to pay.

    ``fields`` are the public settings a store sets for it and ``secret_fields`` its credentials (``GET/PUT
    payment-gateways/{name}``; secrets are stored encrypted and answered masked), each checked by
    ``payments.services.gateway_setting_check``. ``required`` lists the settings without which the store cannot
    offer it (checkout then refuses it: "configured and enabled").

    Besides ``enabled`` (a column) and ``instructions`` (a column), a public setting is text (at most 255
    characters, "" clears it) unless ``choices`` lists its values (the first is the default) or ``flags`` names it
    (true/false, default false); ``defaults`` overrides a default. ``value_problem`` may refuse a value (a key's
    format). Read them with ``option(setting, name)`` and ``secret(setting, name)``.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ("enabled",)
    secret_fields: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[tuple[str, ...]] = ()
    choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    flags: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[dict[str, object]] = {}
    enabled_by_default: ClassVar[bool] = True
    # The merchant confirms the money arrived (``mark-paid``) and pays refunds out himself; no gateway tells us.
    offline: ClassVar[bool] = False
    # The order's status once checkout has placed it.
    order_status: ClassVar[str] = OrderStatus.PENDING

    def default(self, name: str):
        """A public setting's value until the store sets it."""
        if name in self.defaults:
            return self.defaults[name]
        if name in self.choices:
            return self.choices[name][0]
        return False if name in self.flags else ""

    def option(self, setting, name: str):
        """The store's public setting ``name`` (its default when unset)."""
        return setting.options.get(name, self.default(name))

    def secret(self, setting, name: str) -> str:
        """The store's credential ``name`` in clear ("" when unset). Never log it or put it in a message."""
        return setting.secrets_dict().get(name, "")

    def value_problem(self, name: str, value) -> str:
        """Why a store may not set ``name`` to ``value`` (already typed: text, a choice or a flag); "" when it may.
        The message is shown to the merchant: never repeat a secret's value in it."""
        return ""

    def start(self, *, order, payment, setting) -> PaymentStart:
        """Starts ``payment`` (of ``order``) with the gateway, given the store's ``setting``. Raises GatewayFailed."""
        return PaymentStart()

    def notification_read(self, *, setting, body: bytes, headers) -> Notification:
        """Verifies an inbound notification over the raw ``body`` (constant-time) and reads it. Raises
        SignatureInvalid for a bad or stale signature or a body that is not the gateway's."""
        raise SignatureInvalid(f"{self.label} sends no notifications.")

    def return_read(self, *, setting, query: str) -> Notification:
        """Verifies the signed redirect that brings the buyer back from a hosted page (``query``: the raw query
        string or form body) and reads it. It informs the buyer's page only; notifications move the order. Raises
        SignatureInvalid."""
        raise SignatureInvalid(f"{self.label} sends no buyer back.")

    def notification_answer(self) -> tuple[dict, int]:
        """The body and status the gateway expects once a notification is accepted."""
        return {"received": True}, 200

    def refund(self, *, payment, refund, setting) -> RefundResult:
        """Refunds ``refund.amount`` of ``payment`` through the gateway. Offline gateways: recorded as paid out by
        the merchant. Raises GatewayFailed."""
        return RefundResult()
