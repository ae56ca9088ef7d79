"""Access: a person's data as a ZIP (POST /me/data-export). A worker collects it (one JSON file per area), writes it to
the private exports storage (analytics' exports storage: S3 with signed URLs, or local files served by the API with a
signed token) and emails the person a link valid 24 hours. One export open at a time per person."""

import json
import logging
import tempfile
import zipfile
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Consent, User
from analytics.services import exports_storage
from auditlog.models import AuditLog, SecurityEvent
from catalog.models import Review
from config.api.errors import DomainError, PermissionDenied
from config.celery import task_publish_on_commit
from config.emails import email_enqueue
from maker.models import Upload
from notifications.models import Notification
from orders.models import Order
from social.services import social_accounts_of
from teams.models import Membership

from ..models import OPEN_STATUSES, DataExport, DataExportStatus

logger = logging.getLogger(__name__)

LINK_SECONDS = 24 * 3600
LINK_SALT = "privacy.data-export.download"
# an export asked for this long ago and still open (its worker died) no longer blocks a new one
STALE_AFTER = timedelta(hours=1)
AREAS = ("account", "addresses", "orders", "reviews", "notifications", "consents", "audit", "security", "models3d")


class ExportInProgress(DomainError):
    default_message = "Your data export is still being prepared; you will get an email when it is ready."


def data_export_request(*, user: User, base_url: str = "") -> DataExport:
    """Records a pending export of ``user``'s data and enqueues its run after COMMIT; ``base_url`` is where the link
    will point (PUBLIC_BASE_URL wins). Raises ExportInProgress (409) while another of theirs is open; one left open
    for STALE_AFTER (a worker that died) is marked failed and no longer counts."""
    now = timezone.now()
    try:
        with transaction.atomic():
            DataExport.objects.filter(user=user, status__in=OPEN_STATUSES, created_at__lt=now - STALE_AFTER).update(
                status=DataExportStatus.FAILED, error="abandoned", finished_at=now)
            if DataExport.objects.filter(user=user, status__in=OPEN_STATUSES).exists():
                raise ExportInProgress()
            export = DataExport.objects.create(user=user, base_url=(settings.PUBLIC_BASE_URL or base_url)
                                               .rstrip("/")[:255])
            from ..tasks import data_export_run_task

            task_publish_on_commit(data_export_run_task, export.pk)
    except IntegrityError as exc:  # asked twice at once: the unique open export lets one through
        raise ExportInProgress() from exc
    return export


def data_export_run(*, export_id: int) -> DataExport | None:
    """Builds the ZIP, stores it and emails the link. Runs once: a second delivery finds it claimed (None). A failure
    is recorded on the export (the person may ask again) and logged without the data."""
    now = timezone.now()
    if not DataExport.objects.filter(pk=export_id, status=DataExportStatus.PENDING).update(
            status=DataExportStatus.RUNNING, started_at=now):
        return None
    export = DataExport.objects.select_related("user").get(pk=export_id)
    try:
        with tempfile.TemporaryFile() as spool:
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for area, content in data_export_collect(user=export.user).items():
                    archive.writestr(f"{area}.json", json.dumps(content, cls=DjangoJSONEncoder, indent=2,
                                                                ensure_ascii=False))
            spool.seek(0)
            name = exports_storage().save(f"privacy/{export.pk}-data-{now:%Y%m%d}.zip", File(spool))
    except Exception as exc:  # recorded and logged: the person sees "failed" and may ask again
        logger.exception("data export %s failed", export.pk)
        DataExport.objects.filter(pk=export.pk).update(status=DataExportStatus.FAILED, error=type(exc).__name__[:255],
                                                       finished_at=timezone.now())
        return DataExport.objects.get(pk=export.pk)
    DataExport.objects.filter(pk=export.pk).update(status=DataExportStatus.DONE, file=name, finished_at=timezone.now())
    export.refresh_from_db()
    email_enqueue(template="data_export_ready", to=[export.user.email],
                  context={"name": export.user.name, "link": data_export_url(export=export)})
    return export


def data_export_url(*, export: DataExport) -> str | None:
    """A link to a finished export, valid LINK_SECONDS: the bucket's signed URL on S3, else the API's download path
    with a signed token. None until it is done."""
    if export.status != DataExportStatus.DONE or not export.file:
        return None
    if settings.AWS_STORAGE_BUCKET_NAME:
        return exports_storage().url(export.file)
    token = signing.dumps({"export": export.pk, "user": export.user_id}, salt=LINK_SALT, compress=True)
    return f"{export.base_url}/api/v1/me/data-export/{export.pk}/download?token={token}"


def data_export_link_check(*, export: DataExport, token: str) -> None:
    """Raises PermissionDenied (403) unless ``token`` is this export's link token and not older than 24 hours."""
    try:
        data = signing.loads(token or "", salt=LINK_SALT, max_age=LINK_SECONDS)
    except signing.BadSignature:  # SignatureExpired included
        data = None
    if data != {"export": export.pk, "user": export.user_id} or export.status != DataExportStatus.DONE \
            or not export.file:
        raise PermissionDenied("This download link is invalid or has expired; ask for your data again.")


def data_exports_purge(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Deletes data exports (their files first) asked for more than DATA_EXPORT_RETENTION_DAYS ago; returns how many
    (dry: would)."""
    days = settings.DATA_EXPORT_RETENTION_DAYS
    if not days:
        return 0
    expired = DataExport.objects.filter(created_at__lt=(now or timezone.now()) - timedelta(days=days))
    if dry_run:
        return expired.count()
    storage, purged = exports_storage(), 0
    for pk, name in list(expired.values_list("pk", "file")):
        if name:
            storage.delete(name)
        purged += DataExport.objects.filter(pk=pk).delete()[0]
    return purged


# --- What is collected ------------------------------------------------------------------------------------------


def data_export_collect(*, user: User) -> dict[str, object]:
    """Everything the platform holds about ``user``, by area (AREAS): their account, memberships and the social login
    providers linked to it (no tokens), the addresses they gave, their orders (lines, status history, payments'
    gateway and status), reviews, notifications (title and type: the data of a member's notification describes other
    customers), every consent answer, and the audit entries of what they did or about their account (action, object,
    when, from where: an entry's changes may describe other people, so they are left out) and the security log's
    events about their account (logins failed, 2FA, password resets, permissions refused: when, from where), and the
    3D models they uploaded with their quotes (maker; not the files themselves). Orders placed as a guest with the
    account's email count as theirs (marked ``guest``) once that email is verified: until then the address may not be
    theirs (``_orders_of``)."""
    orders = _orders_of(user)
    return {
        "account": {
            "id": user.pk, "email": user.email, "name": user.name, "email_verified": user.email_verified,
            "two_factor_enabled": user.two_factor_enabled, "date_joined": user.date_joined,
            "last_login": user.last_login,
            "stores": [{"store": membership.store.slug, "role": membership.role, "since": membership.created_at}
                       for membership in Membership.objects.filter(user=user).select_related("store")],
            "linked_providers": social_accounts_of(user_id=user.pk),  # no tokens, no raw profile
        },
        "addresses": _addresses(orders),
        "orders": [_order(order) for order in orders],
        "reviews": [
            {"store": review.store.slug, "product": review.product.name, "rating": review.rating,
             "title": review.title, "body": review.body, "created_at": review.created_at}
            for review in Review.objects.filter(user=user).select_related("store", "product").order_by("id")
        ],
        "notifications": [
            {"event_type": note.event_type, "title": note.title, "created_at": note.created_at,
             "read_at": note.read_at}
            for note in Notification.objects.filter(user=user).order_by("id")
        ],
        "consents": [
            {"purpose": consent.purpose, "granted": consent.granted, "version": consent.version,
             "source": consent.source, "at": consent.created_at}
            for consent in Consent.objects.filter(user=user).order_by("id")
        ],
        "audit": [
            {"store": entry.store.slug, "action": entry.action, "object_type": entry.object_type,
             "object_id": entry.object_id, "at": entry.created_at, "ip": entry.ip, "user_agent": entry.user_agent}
            for entry in AuditLog.objects.filter(Q(actor_user=user) | Q(object_type="accounts.user",
                                                                       object_id=str(user.pk)))
            .select_related("store").order_by("id")
        ],
        "security": [
            {"type": event.kind, "store": event.store.slug if event.store else None, "at": event.created_at,
             "ip": event.ip, "user_agent": event.user_agent, "details": event.details}
            for event in SecurityEvent.objects.filter(user=user).select_related("store").order_by("id")
        ],
        "models3d": [
            {"store": upload.store.slug, "upload": str(upload.pk), "filename": upload.filename,
             "status": upload.status, "format": upload.format, "size": upload.size, "volume_cm3": upload.volume_cm3,
             "triangle_count": upload.triangle_count, "created_at": upload.created_at,
             "quotes": [{"material": quote.material_name, "quality": quote.quality, "quantity": quote.quantity,
                         "total": str(quote.total), "currency": quote.currency, "expires_at": quote.expires_at,
                         "ordered_at": quote.ordered_at}
                       for quote in sorted(upload.quotes.all(), key=lambda quote: quote.created_at)]}
            for upload in Upload.objects.filter(user=user).select_related("store").prefetch_related("quotes")
            .order_by("created_at")
        ],
    }


def _orders_of(user: User) -> list[Order]:
    """The account's orders, and, when its email is verified, the guest orders (no account) placed with that email in
    any store: the person proved the address is theirs. An unverified email proves nothing, so those stay out."""
    mine = Q(user=user)
    if user.email_verified and user.email:
        mine |= Q(user__isnull=True, email__iexact=user.email)
    return list(Order.objects.filter(mine).select_related("store").prefetch_related("lines", "events")
                .order_by("created_at", "id"))


def _addresses(orders: list[Order]) -> list[dict]:
    seen, found = [], []
    for order in orders:
        for kind in ("shipping_address", "billing_address"):
            address = getattr(order, kind)
            if address and address not in seen:
                seen.append(address)
                found.append({"address": address, "first_used": order.created_at, "order": order.number})
    return found


def _order(order: Order) -> dict:
    return {
        "store": order.store.slug, "number": order.number, "guest": order.user_id is None,
        "created_at": order.created_at, "status": order.status,
        "payment_status": order.payment_status, "email": order.email, "customer_name": order.customer_name,
        "currency": order.currency, "subtotal": order.subtotal, "discount": order.discount, "shipping": order.shipping,
        "tax": order.tax, "total": order.total, "coupon": order.coupon_code, "payment_method": order.payment_method,
        "shipping_method": order.shipping_method_name, "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "lines": [{"product": line.product_name, "variant": line.variant_name, "sku": line.sku,
                   "options": line.options, "quantity": line.quantity, "unit_price": line.unit_price,
                   "tax": line.tax, "total": line.line_total} for line in order.lines.all()],
        "history": [{"kind": event.kind, "from": event.from_status, "to": event.to_status, "at": event.created_at}
                    for event in order.events.all()],
    }
