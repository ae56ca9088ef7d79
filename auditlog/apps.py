from django.apps import AppConfig
from django.core.signals import request_finished, request_started


class AuditlogConfig(AppConfig):
    name = "auditlog"

    def ready(self) -> None:
        from .context import request_origin_forget, request_origin_remember

        request_started.connect(request_origin_remember, dispatch_uid="auditlog-request-origin")
        request_finished.connect(request_origin_forget, dispatch_uid="auditlog-request-origin")
