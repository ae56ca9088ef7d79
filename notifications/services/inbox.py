"""A member's inbox: their in-app notifications (list, read, delete) and notification preferences."""

from django.db import transaction
from django.utils import timezone

from config.api.errors import ValidationFailed
from teams.models import Membership

from .. import events
from ..models import Notification, NotificationPreference


def notification_list(*, user, unread: bool = False):
    queryset = Notification.objects.filter(user=user).select_related("store")
    return queryset.filter(read_at__isnull=True) if unread else queryset


def notification_mark_read(*, notification: Notification) -> Notification:
    """Marks one notification read (idempotent: the first read time stays)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Marks every unread notification of ``user`` read; returns how many."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_delete(*, notification: Notification) -> None:
    notification.delete()


def notification_preferences_get(*, user) -> dict[str, dict[str, bool]]:
    """Per event type ``{in_app, email, default}``: the saved choice, else the default of the user's top role."""
    saved = {p.event_type: p for p in NotificationPreference.objects.filter(user=user)}
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    top_role = next((role for role in ("owner", "admin", "staff", "viewer") if role in roles), None)
    result = {}
    for event_type in events.NOTIFICATION_EVENT_TYPES:
        preference = saved.get(event_type)
        if preference:
            result[event_type] = {"in_app": preference.in_app, "email": preference.email, "default": False}
        else:
            result[event_type] = {**events.role_default(top_role, event_type), "default": True}
    return result


@transaction.atomic
def notification_preferences_set(*, user, preferences: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """Saves the given event types' choices (a missing flag keeps its current value); returns all of them.

    Raises ValidationFailed for an unknown event type.
    """
    unknown = sorted(set(preferences) - set(events.NOTIFICATION_EVENT_TYPES))
    if unknown:
        raise ValidationFailed("Unknown event type.", **{name: ["Unknown event type."] for name in unknown})
    current = notification_preferences_get(user=user)
    for event_type, choice in preferences.items():
        NotificationPreference.objects.update_or_create(
            user=user,
            event_type=event_type,
            defaults={
                "in_app": choice.get("in_app", current[event_type]["in_app"]),
                "email": choice.get("email", current[event_type]["email"]),
            },
        )
    return notification_preferences_get(user=user)
