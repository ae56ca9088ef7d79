from django.apps import AppConfig


class AuditlogConfig(AppConfig):
    name = "auditlog"

    def ready(self) -> None:
        # config knows no app: the security log hands the throttles its hook (one event per caller and window)
        from config.api.throttles import throttle_refusal_register

        from .security_reports import throttle_refused

        throttle_refusal_register(throttle_refused)
