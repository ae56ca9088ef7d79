"""The data-rights endpoints (API.md "Customers' data rights"): validate, call a service, shape."""

import os

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

from accounts.consents import consents_get, consents_set
from accounts.models import ConsentSource
from analytics.services import exports_storage
from config.api.actor import request_actor
from config.api.errors import ValidationFailed
from config.api.headers import no_store
from config.api.parsers import JSONParser
from config.api.renderers import ok
from config.api.throttles import SCOPED_THROTTLES
from orders.models import Order
from teams.permissions import ORDERS_MANAGE
from teams.scoping import StoreScopedGenericView

from . import serializers as io
from .models import DataExport
from .services import account_delete, data_export_link_check, data_export_request, guest_erase

TAGS = ["privacy"]


class UserView(APIView):
    parser_classes = [JSONParser]
    permission_classes = [IsAuthenticated]


class ConsentsView(UserView):
    """GET, PUT /api/v1/me/consents: the caller's answer per purpose (settings.CONSENT_PURPOSES)."""

    @extend_schema(tags=TAGS, summary="My consents, one per purpose the platform defines", responses=io.CONSENTS_SCHEMA)
    def get(self, request):
        return ok(io.consents_output(consents_get(user=request.user)))

    @extend_schema(
        tags=TAGS, summary="Give or withdraw consent ({purpose: true|false}); a withdrawal takes effect at once",
        request=io.CONSENTS_INPUT_SCHEMA,
        responses={200: io.CONSENTS_SCHEMA,
                   400: OpenApiResponse(description="VALIDATION_ERROR: an unknown purpose or an answer that is not "
                                                    "true or false (details by purpose)")},
    )
    def put(self, request):
        if not isinstance(request.data, dict):
            raise ValidationFailed("Send an object keyed by purpose.", consents=["An object {purpose: true|false}."])
        return ok(io.consents_output(consents_set(user=request.user, answers=dict(request.data),
                                                  source=ConsentSource.API)))


ID_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
STORE_PARAM = OpenApiParameter("store", OpenApiTypes.STR, OpenApiParameter.PATH, description="The store's slug.")


class DataExportView(UserView):
    """POST /api/v1/me/data-export: a worker builds the ZIP and emails a link."""

    @extend_schema(
        tags=TAGS, summary="Ask for a copy of my data (a ZIP, emailed as a link valid 24 hours)", request=None,
        responses={202: io.DataExportOutput,
                   409: OpenApiResponse(description="CONFLICT: an export of yours is still being prepared")},
    )
    def post(self, request):
        export = data_export_request(user=request.user, base_url=request.build_absolute_uri("/").rstrip("/"))
        return ok(io.DataExportOutput(export).data, status=202,
                  message="Your data is being collected; a link will be emailed to you.")


def _own_export(request, export_id) -> DataExport:
    export = DataExport.objects.filter(pk=export_id, user_id=request.user.pk).first()
    if export is None:
        raise Http404
    return export


class DataExportDetailView(UserView):
    @extend_schema(tags=TAGS, summary="One of my data exports: its status and, when done, its link",
                   parameters=[ID_PARAM], responses=io.DataExportOutput)
    @no_store
    def get(self, request, id):
        return ok(io.DataExportOutput(_own_export(request, id)).data)


class DataExportDownloadView(APIView):
    """The emailed link: the signed token is the permission (a browser following it carries no API token)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(tags=TAGS, summary="Download a data export with its link's token (403 once 24 hours old)",
                   parameters=[ID_PARAM, OpenApiParameter("token", OpenApiTypes.STR, required=True)],
                   responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, id):
        export = DataExport.objects.filter(pk=id).first()
        if export is None:
            raise Http404
        data_export_link_check(export=export, token=request.query_params.get("token", ""))
        response = FileResponse(exports_storage().open(export.file, "rb"), as_attachment=True,
                                filename=os.path.basename(export.file).partition("-")[2] or "data.zip",
                                content_type="application/zip")
        response["Cache-Control"] = "no-store"
        return response


class AccountDeleteView(UserView):
    """POST /api/v1/me/delete: the password again, or a fresh social login's code (and a TOTP code when 2FA is on)."""

    throttle_scope = "auth"
    throttle_classes = SCOPED_THROTTLES

    @extend_schema(
        tags=TAGS, summary="Delete my account: my personal data is erased, the stores' orders keep their amounts",
        request=io.AccountDeleteInput,
        responses={202: io.ErasureOutput,
                   400: OpenApiResponse(description="VALIDATION_ERROR"),
                   401: OpenApiResponse(description="INVALID_CREDENTIALS, INVALID_TOKEN (social_code), OTP_REQUIRED "
                                                    "or INVALID_OTP"),
                   409: OpenApiResponse(description="CONFLICT: the last owner of a store (details.stores)"),
                   429: OpenApiResponse(description="ACCOUNT_LOCKED or RATE_LIMITED (with Retry-After)")},
    )
    def post(self, request):
        data = io.AccountDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        erasure = account_delete(user=request.user, **data.validated_data)
        return ok(io.ErasureOutput(erasure).data, status=202,
                  message="Your account has been deleted and your personal data erased.")


class GuestEraseView(StoreScopedGenericView):
    """POST /api/v1/stores/{store}/customers/erase: orders.manage; this store's guest orders only."""

    queryset = Order.objects.all()
    write_permission = ORDERS_MANAGE
    http_method_names = ["post", "options"]

    @extend_schema(
        tags=TAGS, parameters=[STORE_PARAM], request=io.GuestEraseInput, responses={202: io.ErasureOutput},
        summary="Erase a guest's personal data in this store, by email",
        description="The orders placed without an account with this email, in this store only, keep their amounts, "
                    "tax and lines; the buyer's name, email and addresses (but the country) are erased, and so is "
                    "the email in this store's payments, coupon uses, notifications, webhook deliveries and audit "
                    "entries. Customers with an account delete it themselves (POST /api/v1/me/delete). Audited as "
                    "`customer.erased`, without the email.",
    )
    def post(self, request, *args, **kwargs):
        data = io.GuestEraseInput(data=request.data)
        data.is_valid(raise_exception=True)
        erasure = guest_erase(store=self.store, email=data.validated_data["email"], actor=request_actor(request))
        return ok(io.ErasureOutput(erasure).data, status=202)
