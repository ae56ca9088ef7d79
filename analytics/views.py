"""Analytics endpoints (API.md "Analytics, dashboard, exports"): scope, validate, delegate, shape."""

import os

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from catalog.models import Product, Variant
from config.api.actor import request_actor
from config.api.errors import PermissionDenied
from config.api.renderers import ok
from config.api.throttles import ScopedThrottle
from orders.models import Order
from teams.scoping import MEMBERS, StoreScopedGenericView, StoreScopedMixin

from .exports import PERMISSIONS, ExportStream
from .models import Event, Export, ExportType, StoreDay
from .selectors import dashboard_cached, dashboard_period
from .serializers import (
    DashboardOutput,
    DashboardQueryInput,
    EventBatchInput,
    EventBatchOutput,
    ExportInput,
    ExportOutput,
    ExportQueryInput,
)
from .services import events_record, export_link_check, export_request, export_streamed_record, exports_storage

STORE_PARAM = OpenApiParameter("store", OpenApiTypes.STR, OpenApiParameter.PATH, description="The store's slug.")
ID_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


def _may_export(view, export_type: str) -> bool:
    needed = PERMISSIONS[export_type]
    return needed is None or needed in view.access.permissions


class DashboardView(StoreScopedGenericView):
    """GET dashboard: members (any role, or a key of the store)."""

    queryset = StoreDay.objects.all()
    members_only = True
    feature = "analytics"  # switched off: 404 (features.registry)
    http_method_names = ["get", "options"]

    @extend_schema(parameters=[STORE_PARAM, DashboardQueryInput], responses=DashboardOutput,
                   description="The period's revenue, orders, average order value, sessions and conversion rate, "
                               "with the same number of days just before in `previous`; revenue and orders by day, "
                               "orders by status, top products, low-stock variants. Days are the store's days "
                               "(its `timezone`); answers are cached for a minute.")
    def get(self, request, *args, **kwargs):
        query = DashboardQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = dashboard_period(store=self.store, **query.validated_data)
        return ok(DashboardOutput(dashboard_cached(store=self.store, since=since, until=until)).data)


class EventsView(StoreScopedGenericView):
    """POST analytics/events: storefronts, anonymous allowed, throttled per client (THROTTLE_RATES analytics)."""

    queryset = Event.objects.all()
    write_permission = None
    feature = "analytics"
    http_method_names = ["post", "options"]
    throttle_classes = [ScopedThrottle]
    throttle_scope = "analytics"

    @extend_schema(parameters=[STORE_PARAM], request=EventBatchInput, responses={202: EventBatchOutput},
                   description="Up to 100 events with a session id. Types: page_view, product_view (product), "
                               "add_to_cart (product), checkout_started, search (query), purchase (order: the "
                               "number of the order the session placed; conversion counts these sessions). One "
                               "invalid event refuses the whole batch (400, details.events names it by index). "
                               "Sent with a signed-in shopper's token, the batch is dropped (accepted 0) unless "
                               "they consent to `analytics` (GET/PUT /api/v1/me/consents).")
    def post(self, request, *args, **kwargs):
        data = EventBatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user if request.user.is_authenticated else None  # a signed-in shopper: their consent decides
        return ok({"accepted": events_record(store=self.store, events=data.validated_data["events"], user=user)},
                  status=202)


class ExportStreamView(StoreScopedGenericView):
    """GET exports/{type}: products and inventory for every member, orders and customers with orders.manage."""

    export_type = ExportType.PRODUCTS
    members_only = True
    http_method_names = ["get", "options"]
    MODELS = {ExportType.PRODUCTS: Product, ExportType.INVENTORY: Variant, ExportType.ORDERS: Order,
              ExportType.CUSTOMERS: Order}

    def required_permission(self):
        return PERMISSIONS[self.export_type] or MEMBERS

    def get_queryset(self):
        self.queryset = self.MODELS[self.export_type].objects.all()
        return super().get_queryset()

    @extend_schema(parameters=[STORE_PARAM, ExportQueryInput],
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="format=csv"),
                              (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT,
                                                                         description="format=json: the envelope, "
                                                                                     "data a list of rows")},
                   description="The whole list, streamed as a download. CSV cells starting with = + - @ are "
                               "prefixed with '.")
    def get(self, request, *args, **kwargs):
        query = ExportQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        stream = ExportStream(store=self.store, type=self.export_type, format=query.validated_data["format"])
        export_streamed_record(store=self.store, type=stream.type, format=stream.format, actor=request_actor(request))
        response = StreamingHttpResponse(stream, content_type=stream.content_type)
        response["Content-Disposition"] = f'attachment; filename="{stream.filename(timezone.now())}"'
        response["Cache-Control"] = "no-store"
        return response


@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM], description="The store's exports you may see, newest first."),
    retrieve=extend_schema(parameters=[STORE_PARAM, ID_PARAM],
                           description="`url` (when done) is valid 24 hours from this answer."),
    create=extend_schema(parameters=[STORE_PARAM], request=ExportInput, responses={202: ExportOutput},
                         description="A worker writes the file to storage and notifies you with a link. orders and "
                                     "customers need orders.manage."),
    download=extend_schema(parameters=[STORE_PARAM, ID_PARAM,
                                       OpenApiParameter("token", OpenApiTypes.STR, required=True)],
                           responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
                           description="The file, for whoever holds the link (`url`); 403 once it is 24 hours old."),
)
class ExportViewSet(StoreScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """POST exports, GET exports[/{id}]: members; an export of orders or customers only with orders.manage."""

    queryset = Export.objects.select_related("store")
    serializer_class = ExportOutput
    members_only = True
    write_permission = MEMBERS
    action_permissions = {"download": None}  # the signed link is the permission
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        exports = super().get_queryset()
        if self.action != "download" and not getattr(self, "swagger_fake_view", False):
            exports = exports.filter(type__in=[kind for kind in ExportType.values if _may_export(self, kind)])
        return exports

    def create(self, request, *args, **kwargs):
        data = ExportInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not _may_export(self, data.validated_data["type"]):
            self.permission_denial_record(PERMISSIONS[data.validated_data["type"]])
            raise PermissionDenied(f"You need the {PERMISSIONS[data.validated_data['type']]} permission in this "
                                   "store.")
        export = export_request(store=self.store, actor=request_actor(request),
                                base_url=request.build_absolute_uri("/").rstrip("/"), **data.validated_data)
        return ok(ExportOutput(export).data, status=202)

    @action(detail=True, methods=["get"])
    def download(self, request, *args, **kwargs):
        export = self.get_object()
        export_link_check(export=export, token=request.query_params.get("token", ""))
        return FileResponse(exports_storage().open(export.file, "rb"), as_attachment=True,
                            filename=os.path.basename(export.file).partition("-")[2] or export.file)
