"""Events and notifications: emit() fans out to in-app notifications, emails and signed outgoing webhooks.

One module per responsibility: ``fanout`` (emit, and the fan-out to members and customers after
COMMIT), ``inbox`` (a member's notifications and preferences), ``endpoints`` (webhook endpoint
create/update/delete, test ping, redeliver) and ``delivery`` (the engine that sends, retries,
disables, resumes and purges deliveries). Callers import from ``notifications.services``; the names
below are the public surface.
"""

from .delivery import (
    CLOCK_TOLERANCE,
    DELIVERY_RETENTION,
    attempt_lease,
    is_retryable,
    retry_delay,
    webhook_deliveries_purge,
    webhook_deliveries_resume,
    webhook_delivery_attempt,
    webhook_delivery_due_in,
    webhook_endpoint_disabled_notify,
)
from .endpoints import (
    EndpointInactive,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_test,
    webhook_endpoint_update,
    webhook_events_validate,
    webhook_url_validate,
)
from .fanout import (
    CUSTOMER_EMAILS,
    EMAIL_TEMPLATES,
    GENERIC_EMAIL_TEMPLATE,
    emit,
    event_fanout,
    live_listener_register,
    members_notify,
)
from .inbox import (
    notification_delete,
    notification_list,
    notification_mark_read,
    notification_preferences_get,
    notification_preferences_set,
    notifications_mark_all_read,
)

__all__ = [
    "CLOCK_TOLERANCE", "CUSTOMER_EMAILS", "DELIVERY_RETENTION", "EMAIL_TEMPLATES", "GENERIC_EMAIL_TEMPLATE",
    "EndpointInactive", "attempt_lease",
    "emit", "event_fanout", "live_listener_register", "members_notify",
    "notification_delete", "notification_list", "notification_mark_read", "notification_preferences_get",
    "notification_preferences_set", "notifications_mark_all_read",
    "is_retryable", "retry_delay", "webhook_deliveries_purge", "webhook_deliveries_resume",
    "webhook_delivery_attempt", "webhook_delivery_due_in", "webhook_endpoint_disabled_notify",
    "webhook_delivery_redeliver", "webhook_endpoint_create", "webhook_endpoint_delete", "webhook_endpoint_test",
    "webhook_endpoint_update", "webhook_events_validate", "webhook_url_validate",
]
