"""Retention: how long each kind of data is kept, enforced in one place (the privacy-retention job every
RETENTION_SCHEDULE_SECONDS, `manage.py enforce_retention [--dry-run]`, the admin's report). Each kind's rule lives with
the app that owns the data (its function takes ``now`` and ``dry_run`` and answers how many rows it removed or would);
this module only lists them. Running twice removes nothing more the second time."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from accounts.erasure import unverified_accounts_prune
from analytics.services import events_prune
from auditlog.security import security_events_prune
from auditlog.services import audit_entries_prune
from billing.services import billing_events_prune
from maker.services import uploads_prune
from notifications.services import webhook_deliveries_purge
from orders.services import carts_prune
from payments.services import webhook_events_prune

from ..models import RetentionRun
from .erasure import guest_orders_erase_expired
from .exports import data_exports_purge


@dataclass(frozen=True)
class RetentionKind:
    name: str
    setting: str  # how long it is kept: the setting's name
    unit: str  # of the setting: days or years
    what: str  # what goes, in words
    enforce: Callable[..., int]  # (now=, dry_run=) → rows removed (or due)

    @property
    def kept_for(self) -> int:
        return getattr(settings, self.setting)


KINDS: list[RetentionKind] = [
    RetentionKind("carts", "CART_IDLE_DAYS", "days", "carts untouched since", carts_prune),
    RetentionKind("analytics_events", "ANALYTICS_RETENTION_DAYS", "days", "storefront events received before",
                  events_prune),
    RetentionKind("webhook_deliveries", "WEBHOOK_DELIVERY_RETENTION_DAYS", "days",
                  "finished outgoing webhook deliveries (and their attempts) made before", webhook_deliveries_purge),
    RetentionKind("payment_events", "PAYMENT_EVENT_RETENTION_DAYS", "days",
                  "settled inbound payment notifications received before", webhook_events_prune),
    RetentionKind("billing_events", "BILLING_EVENT_RETENTION_DAYS", "days",
                  "settled inbound Stripe Billing events (the merchant's billing contact) received before",
                  billing_events_prune),
    RetentionKind("audit_entries", "AUDIT_RETENTION_DAYS", "days", "audit entries written before",
                  audit_entries_prune),
    RetentionKind("unverified_accounts", "UNVERIFIED_ACCOUNT_RETENTION_DAYS", "days",
                  "accounts never verified, with no order, store or team, created before", unverified_accounts_prune),
    RetentionKind("guest_orders", "GUEST_ORDER_PERSONAL_DATA_YEARS", "years",
                  "the buyer's details (not the amounts) of guest orders placed before", guest_orders_erase_expired),
    RetentionKind("data_exports", "DATA_EXPORT_RETENTION_DAYS", "days", "customers' data exports asked for before",
                  data_exports_purge),
    RetentionKind("security_events", "SECURITY_EVENT_RETENTION_DAYS", "days",
                  "security log events (and API keys' addresses not seen since) recorded before",
                  security_events_prune),
    RetentionKind("maker_uploads", "MAKER_UPLOAD_RETENTION_DAYS", "days",
                  "customers' 3D models never ordered (with their quotes and files), uploaded before", uploads_prune),
]


def retention_kinds() -> list[RetentionKind]:
    return list(KINDS)


def retention_enforce(*, now: datetime | None = None, dry_run: bool = False,
                      kinds: list[str] | None = None) -> RetentionRun:
    """Runs every kind's rule (only ``kinds`` when given: names in KINDS) (each in its own transactions; one failing
    stops the run, what was done stays) and records the run: rows removed per kind, or on a dry run the rows that
    would be, nothing changed. This is the only job that removes these kinds: no app schedules its own prune."""
    started = timezone.now()
    now = now or started
    results = {kind.name: kind.enforce(now=now, dry_run=dry_run) for kind in KINDS
               if kinds is None or kind.name in kinds}
    return RetentionRun.objects.create(dry_run=dry_run, started_at=started, finished_at=timezone.now(),
                                       results=results)
