from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from teams.permissions import AUDIT_READ
from teams.scoping import StoreScopedReadOnlyViewSet

from .export import audit_log_csv_response
from .security_reports import SecurityEventFilter, security_events_of_store
from .selectors import AuditLogFilter, audit_log_list
from .serializers import AuditLogOutput, SecurityEventOutput

FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="csv streams the whole filtered log as a CSV download"
)


@extend_schema_view(
    list=extend_schema(
        summary="The store's audit log (audit.read)",
        parameters=[FORMAT_PARAMETER],
        responses={
            200: AuditLogOutput(many=True),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="with ?format=csv"),
        },
    ),
    retrieve=extend_schema(summary="One audit entry (audit.read)"),
)
class AuditLogViewSet(StoreScopedReadOnlyViewSet):
    serializer_class = AuditLogOutput
    filterset_class = AuditLogFilter
    members_only = True
    action_permissions = {"list": AUDIT_READ, "retrieve": AUDIT_READ}
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return audit_log_list(store=None).none()
        return audit_log_list(store=self.store)

    def list(self, request, *args, **kwargs):
        if request.query_params.get("format") == "csv":
            queryset = self.filter_queryset(self.get_queryset())
            return audit_log_csv_response(queryset=queryset, store_slug=self.store.slug)
        return super().list(request, *args, **kwargs)


@extend_schema_view(
    list=extend_schema(summary="The store's security log (audit.read): its events and its members' (logins, 2FA, "
                               "password resets)"),
    retrieve=extend_schema(summary="One security event (audit.read)"),
)
class SecurityEventViewSet(StoreScopedReadOnlyViewSet):
    serializer_class = SecurityEventOutput
    filterset_class = SecurityEventFilter
    members_only = True
    action_permissions = {"list": AUDIT_READ, "retrieve": AUDIT_READ}
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return security_events_of_store(store_id=0).none()
        return security_events_of_store(store_id=self.store.pk)
