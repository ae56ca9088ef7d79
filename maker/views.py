"""Maker endpoints (README "Maker services"): scope, validate, delegate, shape.

Public (storefront) endpoints: uploads, materials, quotes, a quote into a cart, the BOM import; members: print jobs.
"""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser

from config.api.actor import request_actor
from config.api.headers import no_store
from config.api.parsers import JSONParser
from config.api.renderers import ok
from config.api.throttles import SCOPED_THROTTLES
from orders.models import CartLine
from orders.serializers import CartOutput
from orders.services import cart_get, cart_view
from teams.permissions import ORDERS_MANAGE
from teams.scoping import MEMBERS, StoreScopedMixin

from . import services
from .models import Material, Quote, ServiceOrder, Upload
from .serializers import (
    BomInput,
    BomLineOutput,
    BomOutput,
    CartQuoteInput,
    MaterialOutput,
    QuoteInput,
    QuoteOutput,
    ServiceOrderOutput,
    ServiceOrderStatusInput,
    UploadOutput,
    UploadSignInput,
    UploadSignOutput,
)

STORE_PARAM = OpenApiParameter("store", OpenApiTypes.STR, OpenApiParameter.PATH, description="The store's slug.")
UUID_PARAM = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="A malformed id is 404.")
ID_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
CART_ID_PARAM = OpenApiParameter("cart_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The cart's id.")
TOKEN_PARAM = OpenApiParameter("token", OpenApiTypes.STR, description="The signed token of the URL `sign` answered.")


class RawBodyParser(BaseParser):
    """Lets a PUT of the model's bytes through content negotiation; the view streams the body itself."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream


class CsvParser(BaseParser):
    """A BOM sent as text/csv: the body as text."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"csv": stream.read().decode("utf-8", errors="replace")}


def _scoped_throttles(view):
    return [throttle() for throttle in SCOPED_THROTTLES]


# --- uploads ---------------------------------------------------------------------------------------------------
@extend_schema_view(
    sign=extend_schema(
        parameters=[STORE_PARAM], request=UploadSignInput, responses={201: UploadSignOutput},
        description="A new upload and a URL to PUT its bytes to (exactly `size` bytes, with the answered headers, "
                    "before `expires_in` seconds): the bucket's presigned PUT with S3, this API's "
                    "`uploads/{id}/file?token=…` otherwise. Over MAKER_UPLOAD_MAX_BYTES → 413 PAYLOAD_TOO_LARGE."),
    retrieve=extend_schema(parameters=[STORE_PARAM, UUID_PARAM], responses=UploadOutput,
                           description="The upload and, once analysed, its volume, bounding box and triangles."),
    file=extend_schema(
        parameters=[STORE_PARAM, UUID_PARAM, TOKEN_PARAM], request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: UploadOutput},
        description="Local storage only: the file's bytes. A bad or expired token → 403; a body of another size "
                    "than declared → 400; over the limit → 413."),
    complete=extend_schema(
        parameters=[STORE_PARAM, UUID_PARAM], request=None, responses={202: UploadOutput},
        description="After the PUT: the file is checked (size, then parsed: STL, OBJ or 3MF by content, never by "
                    "name; anything else → 400 VALIDATION_ERROR with details.file) and its analysis queued. The "
                    "answer's `status` is processing, or ready/rejected when the worker ran inline."),
)
class UploadViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    queryset = Upload.objects.all()
    serializer_class = UploadOutput
    lookup_value_regex = r"[^/]+"
    pagination_class = None
    throttle_scope = "uploads"
    action_permissions = {"sign": None, "retrieve": None, "file": None, "complete": None}

    def get_parsers(self):
        if self.request is not None and self.request.method == "PUT":
            return [RawBodyParser()]
        return [JSONParser()]

    def get_throttles(self):
        if self.request.method in ("POST", "PUT"):
            return _scoped_throttles(self)
        return super().get_throttles()

    def upload(self) -> Upload:
        return services.upload_get(store=self.store, upload_id=self.kwargs["pk"], user=self.request.user)

    @no_store  # the URL is a credential: whoever holds it may write the file
    @action(detail=False, methods=["post"])
    def sign(self, request, *args, **kwargs):
        data = UploadSignInput(data=request.data)
        data.is_valid(raise_exception=True)

        def local_path(upload):
            return request.build_absolute_uri(reverse("maker-upload-file", kwargs={"store": self.store.slug,
                                                                                  "pk": str(upload.pk)}))

        upload, signed = services.upload_sign(store=self.store, user=request.user, local_path=local_path,
                                              **data.validated_data)
        return ok({"upload": UploadOutput(upload).data, "method": "PUT", "url": signed.url,
                   "headers": signed.headers, "expires_in": signed.expires_in,
                   "max_bytes": settings.MAKER_UPLOAD_MAX_BYTES}, status=201)

    def retrieve(self, request, *args, **kwargs):
        return ok(UploadOutput(self.upload()).data)

    @action(detail=True, methods=["put"])
    def file(self, request, *args, **kwargs):
        upload = services.upload_file_put(upload=self.upload(), token=request.query_params.get("token", ""),
                                          body=request._request)
        return ok(UploadOutput(upload).data)

    @action(detail=True, methods=["post"])
    def complete(self, request, *args, **kwargs):
        upload = services.upload_complete(upload=self.upload())
        return ok(UploadOutput(upload).data, status=202)


# --- materials -------------------------------------------------------------------------------------------------
@extend_schema_view(list=extend_schema(parameters=[STORE_PARAM], responses=MaterialOutput(many=True),
                                       description="The store's active print materials and their prices."))
class MaterialViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    queryset = Material.objects.all()
    serializer_class = MaterialOutput
    pagination_class = None

    def list(self, request, *args, **kwargs):
        materials = services.materials_active(store=self.store)
        return ok(MaterialOutput(materials, many=True, context=self.get_serializer_context()).data)


# --- quotes ----------------------------------------------------------------------------------------------------
@extend_schema_view(
    create=extend_schema(parameters=[STORE_PARAM], request=QuoteInput, responses={201: QuoteOutput},
                         description="Prices an analysed upload: (volume × price per cm³ + machine hours × hourly "
                                     "rate) × quantity + setup fee, fixed until `expires_at`. An upload not ready, "
                                     "an unknown material → 400; another store's upload → 404."),
    retrieve=extend_schema(parameters=[STORE_PARAM, UUID_PARAM], responses=QuoteOutput),
)
class QuoteViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    queryset = Quote.objects.all()
    serializer_class = QuoteOutput
    lookup_value_regex = r"[^/]+"
    pagination_class = None
    action_permissions = {"create": None, "retrieve": None}

    def create(self, request, *args, **kwargs):
        data = QuoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = services.upload_get(store=self.store, upload_id=values["upload"], user=request.user)
        quote = services.quote_create(store=self.store, upload=upload, material_id=values["material"],
                                      quality=values["quality"], quantity=values["quantity"], user=request.user)
        return ok(QuoteOutput(quote).data, status=201)

    def retrieve(self, request, *args, **kwargs):
        return ok(QuoteOutput(services.quote_get(store=self.store, quote_id=self.kwargs["pk"],
                                                 user=request.user)).data)


# --- carts: a quote in, a BOM in -------------------------------------------------------------------------------
@extend_schema_view(
    quotes=extend_schema(parameters=[STORE_PARAM, CART_ID_PARAM], request=CartQuoteInput,
                         responses={201: CartOutput},
                         description="Puts a quote in the cart as one line at its total (reference `quote:<id>`); "
                                     "an expired or ordered quote → 400, another store's → 404."),
    bom=extend_schema(
        parameters=[STORE_PARAM, CART_ID_PARAM],
        request={"application/json": BomInput, "text/csv": OpenApiTypes.STR}, responses={200: BomOutput},
        description="Fills the cart from a CSV of `sku,quantity` rows (a text/csv body, or JSON `{csv}`), each row "
                    "added as POST carts/{id}/items adds it (stock checks apply). Rows that could not be added are "
                    "reported in `failed` with `code` and `message`; the others stay added. At most 200 rows."),
)
class CartMakerViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    queryset = CartLine.objects.all()
    store_field = "cart__store"
    serializer_class = CartOutput
    pagination_class = None
    action_permissions = {"quotes": None, "bom": None}

    def get_parsers(self):
        return [JSONParser(), CsvParser()]

    def cart(self):
        return cart_get(store=self.store, cart_id=self.kwargs["cart_id"], user=self.request.user)

    @action(detail=False, methods=["post"])
    def quotes(self, request, *args, **kwargs):
        cart = self.cart()
        data = CartQuoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        quote = services.quote_get(store=self.store, quote_id=data.validated_data["quote"], user=request.user)
        services.quote_cart_add(cart=cart, quote=quote)
        return ok(CartOutput(cart_view(cart=cart)).data, status=201)

    @action(detail=False, methods=["post"])
    def bom(self, request, *args, **kwargs):
        cart = self.cart()
        data = BomInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.cart_bom_import(cart=cart, text=data.validated_data["csv"])
        return ok({"cart": CartOutput(cart_view(cart=cart)).data,
                   "added": BomLineOutput(report.added, many=True).data,
                   "failed": BomLineOutput(report.failed, many=True).data})


# --- print jobs (members) --------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM], responses=ServiceOrderOutput(many=True)),
    retrieve=extend_schema(parameters=[STORE_PARAM, ID_PARAM], responses=ServiceOrderOutput),
    status=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=ServiceOrderStatusInput,
                         responses=ServiceOrderOutput,
                         description="queued → printing → shipped (orders.manage), while the order is processing "
                                     "or completed; anything else → 409 INVALID_TRANSITION."),
)
class ServiceOrderViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    queryset = ServiceOrder.objects.select_related("order", "quote__upload").order_by("-created_at", "-id")
    serializer_class = ServiceOrderOutput
    members_only = True
    action_permissions = {"status": ORDERS_MANAGE, "list": MEMBERS, "retrieve": MEMBERS}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ServiceOrderOutput(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return ok(ServiceOrderOutput(self.get_object()).data)

    @action(detail=True, methods=["post"])
    def status(self, request, *args, **kwargs):
        job = self.get_object()  # another store's job is 404 whatever the body
        data = ServiceOrderStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.service_order_move(service_order=job, actor=request_actor(request),
                                          status=data.validated_data["status"])
        return ok(ServiceOrderOutput(ServiceOrder.objects.select_related("order", "quote__upload")
                                     .get(pk=job.pk)).data)
