"""Payments' writes, one module per use case; callers import from ``payments.services``.

``settings`` (a store's gateway settings and credentials, which gateways it offers), ``checkout`` (places the order
and starts its payment), ``mark_paid`` (cod and bank transfer confirmed by the merchant), ``fraud`` (the checks
before a card payment starts, and each store's limits for them), ``retry`` (a new payment for a placed order),
``refunds`` (money given back, never more than was paid: claimed, sent to the gateway with no lock held, settled),
``webhooks`` (gateways' notifications received and processed), ``cancel`` (a cancelled order's open payments),
``review`` (a member approves or rejects an order held for review).
"""

from .cancel import order_payments_cancel
from .checkout import checkout_complete, gateway_offered, payment_screen_and_start, payment_start
from .fraud import (
    COUNT_FIELDS,
    FRAUD_FIELDS,
    NOT_STARTED,
    FraudLimits,
    fraud_defaults,
    fraud_limits,
    fraud_screen,
    fraud_setting_check,
    fraud_setting_get,
    fraud_setting_update,
)
from .mark_paid import payment_mark_paid
from .refunds import (
    payment_refund,
    refund_create,
    refund_from_gateway,
    refund_send,
    refund_settle,
)
from .retry import payment_create
from .review import Rejection, order_approve, order_reject
from .settings import (
    MAX_INSTRUCTIONS_LENGTH,
    MAX_OPTION_LENGTH,
    MAX_SECRET_LENGTH,
    gateway_setting_check,
    gateway_setting_configured,
    gateway_setting_get,
    gateway_setting_offered,
    gateway_setting_public,
    gateway_setting_update,
    gateway_settings_list,
    gateway_webhook_url,
    gateways_offered,
)
from .webhooks import (
    webhook_event_process,
    webhook_event_receive,
    webhook_event_replay,
    webhook_event_replay_check,
    webhook_events_prune,
    webhook_events_resume,
)

__all__ = [
    "MAX_INSTRUCTIONS_LENGTH", "MAX_OPTION_LENGTH", "MAX_SECRET_LENGTH", "checkout_complete", "gateway_offered",
    "gateway_setting_check", "gateway_setting_configured", "gateway_setting_get", "gateway_setting_offered",
    "gateway_setting_public", "gateway_setting_update", "gateway_settings_list", "gateway_webhook_url",
    "gateways_offered", "payment_mark_paid", "COUNT_FIELDS", "FRAUD_FIELDS", "NOT_STARTED", "FraudLimits",
    "fraud_defaults", "fraud_limits", "fraud_screen", "fraud_setting_check", "fraud_setting_get",
    "fraud_setting_update", "payment_create", "payment_screen_and_start", "payment_start", "payment_refund",
    "refund_create", "refund_from_gateway", "refund_send", "refund_settle", "order_payments_cancel",
    "webhook_event_process", "webhook_event_receive", "webhook_event_replay", "webhook_event_replay_check",
    "webhook_events_prune", "webhook_events_resume", "Rejection", "order_approve", "order_reject",
]
