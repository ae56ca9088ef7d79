"""The security log's reading side, per tenant (above teams): a store's events, the throttles' hook and the daily
summary to the store's owners (docs/SECURITY.md).

A store's log is its own events (``store``: its webhooks, its API keys, permissions refused in it, bursts at its
routes) and its members' events that belong to no store (their logins, lockouts, 2FA, password resets). Another
store's events never show, even a shared member's made there.
"""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from config.api.middleware import current_request_var
from config.emails import email_enqueue
from stores.models import Store
from teams.models import Membership
from teams.permissions import OWNER

from .models import SecurityDigest, SecurityEvent, SecurityKind
from .security import record_security_event, throttle_burst_first
from .selectors import UtcIsoDateTimeFilter


def security_events_of_store(*, store_id: int):
    """The store's events and its members' store-less ones (module docstring), newest first."""
    members = Membership.objects.filter(store_id=store_id).values("user_id")
    return (SecurityEvent.objects.filter(Q(store_id=store_id) | Q(store__isnull=True, user_id__in=members))
            .select_related("user"))


class SecurityEventFilter(django_filters.FilterSet):
    """``type``: one kind or several, comma-separated; ``since``/``until``: ISO datetimes (``until`` excluded)."""

    type = django_filters.CharFilter(method="filter_type", help_text="a kind, or kinds separated by commas")
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = SecurityEvent
        fields = ["type", "since", "until"]

    def filter_type(self, queryset, name, value):
        kinds = [kind.strip() for kind in value.split(",") if kind.strip()]
        return queryset.filter(kind__in=kinds) if kinds else queryset


# --- Throttled bursts: the hook config.api.throttles calls on every refusal ----------------------------------------


def throttle_refused(*, request, view, throttle) -> None:
    """Records ``throttled`` once per caller and window (``throttle_burst_first``): the scope, the route and who
    (API key, user, else the address alone), in the store of the key or of the route's ``{store}``. ``request`` may
    be the catalog cache's stand-in (no view, no method): the request being served says the rest."""
    key = getattr(throttle, "key", None)
    if not key or not throttle_burst_first(key=key, seconds_left=throttle.wait()):
        return
    served = current_request_var.get() or request
    api_key = getattr(request, "api_key", None)
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    match = getattr(served, "resolver_match", None)
    slug = ((getattr(view, "kwargs", None) or getattr(match, "kwargs", None) or {}).get("store"))
    store_id = getattr(api_key, "store_id", None)
    if store_id is None and isinstance(slug, str) and "\x00" not in slug:
        store_id = Store.objects.filter(slug=slug).values_list("pk", flat=True).first()
    record_security_event(
        SecurityKind.THROTTLED, store_id=store_id, user_id=user_id, api_key_id=getattr(api_key, "pk", None),
        details={"scope": getattr(throttle, "scope", "") or "", "route": getattr(match, "route", "") or "",
                 "method": getattr(served, "method", "") or "", "window_seconds": throttle.wait()},
    )


# --- The daily summary to the store's owners ------------------------------------------------------------------------


def security_day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def security_digest_stores(*, day: date) -> list[int]:
    """The stores with something in their log on ``day`` (UTC), by id."""
    since, until = security_day_window(day)
    events = SecurityEvent.objects.filter(created_at__gte=since, created_at__lt=until)
    own = set(events.filter(store__isnull=False).values_list("store_id", flat=True).distinct())
    people = events.filter(store__isnull=True, user__isnull=False).values("user_id")
    own |= set(Membership.objects.filter(user_id__in=people).values_list("store_id", flat=True).distinct())
    return sorted(own)


def security_digest_send(*, store_id: int, day: date) -> bool:
    """Emails the store's owners what its log holds for ``day`` (UTC), once per store and day: the
    ``SecurityDigest`` row is written in the transaction that enqueues the email (after COMMIT), so a second call,
    a redelivered task or a concurrent one sends nothing. Nothing to report, no active store or no owner: no email.
    Returns whether it sent."""
    store = Store.objects.filter(pk=store_id, is_active=True).first()
    if store is None:
        return False
    since, until = security_day_window(day)
    counts = Counter(security_events_of_store(store_id=store_id).filter(created_at__gte=since, created_at__lt=until)
                     .values_list("kind", flat=True))
    owners = list(Membership.objects.filter(store_id=store_id, role=OWNER, user__is_active=True)
                  .order_by("user_id").values_list("user__email", flat=True))
    if not counts or not owners:
        return False
    labels = dict(SecurityKind.choices)
    context = {
        "store_name": store.name, "store_slug": store.slug, "day": day.isoformat(), "total": sum(counts.values()),
        "kinds": [{"kind": kind, "label": labels.get(kind, kind), "count": count}
                  for kind, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))],
    }
    try:
        with transaction.atomic():
            SecurityDigest.objects.create(store_id=store_id, day=day, events=context["total"])
            email_enqueue(template="security_summary", to=owners, context=context)
    except IntegrityError:  # sent already (or being sent by a concurrent run)
        return False
    return True


def security_digests_send(*, now: datetime | None = None) -> int:
    """The daily job: the summary of the day before ``now`` (UTC) to each store that has something in it. Running
    it twice sends nothing more. Returns how many stores were emailed."""
    day = (now or timezone.now()).astimezone(UTC).date() - timedelta(days=1)
    sent = set(SecurityDigest.objects.filter(day=day).values_list("store_id", flat=True))
    return sum(security_digest_send(store_id=store_id, day=day)
               for store_id in security_digest_stores(day=day) if store_id not in sent)
