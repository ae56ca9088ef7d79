"""Celery tasks: thin, taking ids; the services do the work."""

from celery import shared_task

from .services import upload_analyse


@shared_task
def upload_analyse_task(upload_id: str) -> str | None:
    """Analyses a completed upload (volume, bounding box, triangles); a duplicate or a late run is a no-op."""
    upload = upload_analyse(upload_id=upload_id)
    return upload.status if upload is not None else None
