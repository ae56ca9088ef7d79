"""Exports run by a worker: asked for (POST …/exports, the admin), written to the exports storage, the member who
asked told with a link valid 24 hours; purged after EXPORT_RETENTION_DAYS."""

import logging
import tempfile
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from auditlog.services import actor_describe, audit_record
from config.api.errors import PermissionDenied, ValidationFailed
from config.celery import task_publish_on_commit
from notifications.events import EXPORT_READY
from notifications.services import members_notify
from plans.services import plan_feature_check
from stores.models import Store

from ..exports import ExportStream
from ..models import Export, ExportFormat, ExportStatus, ExportType

logger = logging.getLogger(__name__)

LINK_SECONDS = 24 * 3600
LINK_SALT = "analytics.export.download"
# a run that started this long ago and never finished (its worker died) may be claimed again
STALE_RUN = timedelta(hours=1)


def exports_storage():
    return storages["exports"]


def export_check(*, type: str, format: str) -> None:
    """Raises ValidationFailed (400) for an export type or format there is none of."""
    problems = {}
    if type not in ExportType.values:
        problems["type"] = [f"One of {', '.join(ExportType.values)}."]
    if format not in ExportFormat.values:
        problems["format"] = [f"One of {', '.join(ExportFormat.values)}."]
    if problems:
        raise ValidationFailed("Unknown export.", **problems)


def export_streamed_record(*, store: Store, type: str, format: str, actor=None) -> None:
    """Audits an export answered straight to the caller (GET …/exports/{type}): customers' data left the store."""
    audit_record(store=store, actor=actor, action="export.downloaded", changes={"type": type, "format": format})


@transaction.atomic
def export_request(*, store: Store, type: str, format: str = ExportFormat.CSV, actor=None,
                   base_url: str = "") -> Export:
    """Records a pending export and enqueues its run after COMMIT; ``base_url`` is where its link will point
    (PUBLIC_BASE_URL wins). Who may export what, the caller checks (``exports.PERMISSIONS``). Raises
    ValidationFailed (400) for an unknown type or format, PlanLimitReached (403) when the store's plan has no
    export jobs (the streamed GET exports/{type} stays open to every plan)."""
    export_check(type=type, format=format)
    plan_feature_check(store=store, feature="export_jobs")
    user, label, _ = actor_describe(actor)
    export = Export.objects.create(store=store, type=type, format=format, requested_by=user,
                                   requested_by_label=label[:255],
                                   base_url=(settings.PUBLIC_BASE_URL or base_url).rstrip("/")[:255])
    audit_record(store=store, actor=actor, action="export.requested", target=export,
                 changes={"type": type, "format": format})
    from ..tasks import export_run_task

    task_publish_on_commit(export_run_task, export.pk)
    return export


def export_run(*, export_id: int, now: datetime | None = None) -> Export | None:
    """Writes the export's file to the exports storage (streamed through a temporary file: memory stays flat)
    and notifies the member who asked. Runs once: a second delivery of the task finds it claimed and does
    nothing (None), unless its run went stale (a worker that died). A failure is recorded on the export."""
    now = now or timezone.now()
    claimable = Q(status=ExportStatus.PENDING) | Q(status=ExportStatus.RUNNING, started_at__lt=now - STALE_RUN)
    if not Export.objects.filter(claimable, pk=export_id).update(status=ExportStatus.RUNNING, started_at=now):
        return None
    export = Export.objects.select_related("store").get(pk=export_id)
    stream = ExportStream(store=export.store, type=export.type, format=export.format)
    try:
        with tempfile.TemporaryFile() as spool:
            for piece in stream:
                spool.write(piece.encode())
            spool.seek(0)
            name = exports_storage().save(f"{export.store.slug}/{export.pk}-{stream.filename(now)}", File(spool))
    except Exception as exc:  # recorded and logged: the member sees "failed", the logs say why
        logger.exception("export %s failed", export.pk)
        Export.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, error=type(exc).__name__[:255],
                                                   finished_at=timezone.now())
        return Export.objects.get(pk=export.pk)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.DONE, file=name, rows=stream.rows,
                                               finished_at=timezone.now())
    export = Export.objects.select_related("store").get(pk=export.pk)
    if export.requested_by_id:
        members_notify(store=export.store, event_type=EXPORT_READY, event_id=f"export-{export.pk}",
                       only_user_ids=[export.requested_by_id],
                       payload={"export": export.pk, "type": export.type, "format": export.format,
                                "rows": export.rows, "url": export_url(export=export)})
    return export


def export_url(*, export: Export) -> str | None:
    """A link to a finished export's file, valid LINK_SECONDS: the bucket's signed URL on S3, else the API's
    download path with a signed token. None until it is done."""
    if export.status != ExportStatus.DONE or not export.file:
        return None
    if settings.AWS_STORAGE_BUCKET_NAME:
        return exports_storage().url(export.file)
    token = signing.dumps({"export": export.pk, "store": export.store_id}, salt=LINK_SALT, compress=True)
    return f"{export.base_url}/api/v1/stores/{export.store.slug}/exports/{export.pk}/download?token={token}"


def export_link_check(*, export: Export, token: str) -> None:
    """Raises PermissionDenied (403) unless ``token`` is this export's link token and not older than 24 hours."""
    try:
        data = signing.loads(token or "", salt=LINK_SALT, max_age=LINK_SECONDS)
    except signing.BadSignature:  # SignatureExpired included
        data = None
    if data != {"export": export.pk, "store": export.store_id} or export.status != ExportStatus.DONE \
            or not export.file:
        raise PermissionDenied("This download link is invalid or has expired; ask for the export again.")


def exports_purge(*, now: datetime | None = None) -> int:
    """Deletes exports asked for more than EXPORT_RETENTION_DAYS ago, their files first. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    storage, purged = exports_storage(), 0
    for pk, name in list(Export.objects.filter(created_at__lt=cutoff).values_list("pk", "file")):
        if name:
            storage.delete(name)
        purged += Export.objects.filter(pk=pk).delete()[0]
    return purged
