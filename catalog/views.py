"""Catalog endpoints (API.md "Catalog"): scope, validate, delegate to services, shape."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from config.api.actor import request_actor
from config.api.errors import ValidationFailed
from config.api.parsers import JSONParser
from config.api.renderers import ok
from config.api.schema import USER_ONLY, answer_of, enveloped
from config.api.throttles import SCOPED_THROTTLES
from teams.permissions import CATALOG_WRITE
from teams.scoping import StoreScopedGenericView, StoreScopedViewSet

from . import output, search, selectors, services
from .cache import CatalogPagination
from .models import Category, InventoryMovement, Product, ProductImage, Review, Variant
from .selectors import on_postgres
from .serializers import (
    BrandOutput,
    CategoryInput,
    CategoryOutput,
    CategoryTreeOutput,
    InventoryAdjustmentInput,
    InventoryFilterInput,
    InventoryOutput,
    MovementFilterInput,
    MovementOutput,
    ProductCreateInput,
    ProductFilterInput,
    ProductImageInput,
    ProductImageOutput,
    ProductImageUpdateInput,
    ProductInput,
    ProductOutput,
    ReviewInput,
    ReviewModerationInput,
    ReviewOutput,
    SearchInput,
    SuggestionOutput,
    VariantInput,
    VariantOutput,
)

MAX_BIGINT = 2**63 - 1
FILTER_PARAMS = frozenset(ProductFilterInput._declared_fields)  # the product list's filters (ProductViewSet)
STORE_PARAM = OpenApiParameter("store", OpenApiTypes.STR, OpenApiParameter.PATH, description="The store's slug.")
PRODUCT_PARAM = OpenApiParameter("product_id", OpenApiTypes.INT, OpenApiParameter.PATH)
ID_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
WRITE_METHODS = ["get", "post", "patch", "delete", "head", "options"]


class CatalogViewSet(StoreScopedViewSet):
    write_permission = CATALOG_WRITE
    lookup_value_regex = r"\d+"
    http_method_names = WRITE_METHODS


# --- categories ----------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(
        parameters=[STORE_PARAM, OpenApiParameter("tree", OpenApiTypes.BOOL, description="Nest `children`; "
                                                  "answers the whole tree, unpaginated.")],
        responses=answer_of(
            "CategoryListing",
            enveloped(CategoryOutput(many=True), name="PaginatedCategoryOutputList", paginated=True),
            enveloped(CategoryTreeOutput(many=True), name="CategoryTreeEnvelope"),
        ),
        description="A page of categories by tree order; `?tree=true`: the whole tree, unpaginated, each node "
                    "with its `children`."),
    retrieve=extend_schema(parameters=[STORE_PARAM, ID_PARAM]),
    create=extend_schema(parameters=[STORE_PARAM], request=CategoryInput, responses={201: CategoryOutput}),
    partial_update=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=CategoryInput(partial=True),
                                 responses=CategoryOutput),
    destroy=extend_schema(parameters=[STORE_PARAM, ID_PARAM], responses={204: None},
                          description="409 CONFLICT while it has sub-categories; its products lose the category."),
)
class CategoryViewSet(CatalogViewSet):
    queryset = Category.objects.all()
    serializer_class = CategoryOutput

    def get_queryset(self):
        return super().get_queryset().order_by("path")

    def list(self, request, *args, **kwargs):
        if request.query_params.get("tree", "").lower() in {"1", "true", "yes"}:
            return ok(selectors.category_tree(store=self.store))
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        data = CategoryInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        category = services.category_create(store=self.store, actor=request_actor(request), **data.validated_data)
        return ok(CategoryOutput(category).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        data = CategoryInput(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        category = services.category_update(category=self.get_object(), actor=request_actor(request),
                                            **data.validated_data)
        return ok(CategoryOutput(category).data)

    def destroy(self, request, *args, **kwargs):
        services.category_delete(category=self.get_object(), actor=request_actor(request))
        return Response(status=204)


# --- products ------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM, ProductFilterInput],
                       description="Anonymous callers and non-members see published products only."),
    retrieve=extend_schema(parameters=[STORE_PARAM, ID_PARAM]),
    create=extend_schema(parameters=[STORE_PARAM], request=ProductCreateInput, responses={201: ProductOutput}),
    partial_update=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=ProductInput(partial=True),
                                 responses=ProductOutput),
    destroy=extend_schema(parameters=[STORE_PARAM, ID_PARAM], responses={204: None}),
    publish=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=None, responses=ProductOutput,
                          description="draft → published; anything else 409 INVALID_TRANSITION."),
    unpublish=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=None, responses=ProductOutput,
                            description="published or archived → draft; anything else 409 INVALID_TRANSITION."),
    archive=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=None, responses=ProductOutput,
                          description="published → archived; anything else 409 INVALID_TRANSITION."),
)
class ProductViewSet(CatalogViewSet):
    queryset = Product.objects.all()
    serializer_class = ProductOutput
    pagination_class = CatalogPagination

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        if self.action == "list":
            return selectors.product_list(store=self.store, is_member=self.access.is_member,
                                          filters=self.list_filters())
        return selectors.product_with_relations(
            selectors.product_visible(store=self.store, is_member=self.access.is_member))

    def list_filters(self) -> selectors.ProductFilters:
        """The list's query parameters, validated (400 VALIDATION_ERROR otherwise). None of them given (the
        storefront's pages): nothing to validate, and no serializer to build (its fields are deep-copied per
        instance: a sixth of a cold list page's CPU)."""
        if FILTER_PARAMS.isdisjoint(self.request.query_params):
            return selectors.ProductFilters()
        data = ProductFilterInput(data=self.request.query_params)
        data.is_valid(raise_exception=True)
        return selectors.ProductFilters(**{k: v for k, v in data.validated_data.items() if v is not None})

    def list(self, request, *args, **kwargs):
        """The page as rows shaped by catalog.output, not model instances through the serializer; on PostgreSQL
        (but for a text search, ``q``) by plain SQL in one execute (output.list_page_rows), else through
        selectors.product_list. Without filters other than ``status`` and ``sort``, ``pagination.total`` is the
        store's counter row (exact, no COUNT(*): catalog.counts)."""
        filters = self.list_filters()
        filtered = output.list_filtered(filters)
        if not on_postgres() or filters.q:
            total = None
            if not filtered:

                def total():
                    return selectors.product_total(store=self.store, is_member=self.access.is_member,
                                                   status=filters.status)

            queryset = selectors.product_list(store=self.store, is_member=self.access.is_member, filters=filters)
            return product_page(self, queryset, total=total)
        paginator = self.paginator
        # a filtered total from the count cache where it applies (anonymous callers), else in the same execute
        cached = filtered and paginator.counts_cached(self)
        found = {}

        def fetch(start, limit):
            rows, found["children"], found["total"] = output.list_page_rows(
                self.store.pk, published_only=not self.access.is_member, filters=filters, start=start, limit=limit,
                count=not cached)
            return rows

        def count():
            if found["total"] is not None:
                return found["total"]
            return selectors.product_list(store=self.store, is_member=self.access.is_member, filters=filters).count()

        rows = paginator.paginate_rows(fetch, count, request, view=self, cached=cached)
        return paginator.get_paginated_response(
            output.products_dicts(rows, currency=self.store.currency, request=request, children=found["children"]))

    def retrieve(self, request, *args, **kwargs):
        """PostgreSQL: the product as one plain-SQL row (no queryset, no model instance), shaped by
        catalog.output like the list; elsewhere DRF's retrieve."""
        if not on_postgres():
            return super().retrieve(request, *args, **kwargs)
        product_id = int(kwargs[self.lookup_url_kwarg or self.lookup_field])
        row = children = None
        if product_id <= MAX_BIGINT:
            row, children = output.product_row(product_id, self.store.pk, published_only=not self.access.is_member)
        if row is None:
            raise Http404
        return ok(output.products_dicts([row], currency=self.store.currency, request=request, children=children)[0])

    def output(self, product: Product) -> dict:
        fresh = selectors.product_with_relations(Product.objects.filter(pk=product.pk)).get()
        return ProductOutput(fresh, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        data = ProductCreateInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        product = services.product_create(store=self.store, actor=request_actor(request), **data.validated_data)
        return ok(self.output(product), status=201)

    def partial_update(self, request, *args, **kwargs):
        data = ProductInput(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        product = services.product_update(product=self.get_object(), actor=request_actor(request),
                                          **data.validated_data)
        return ok(self.output(product))

    def destroy(self, request, *args, **kwargs):
        services.product_delete(product=self.get_object(), actor=request_actor(request))
        return Response(status=204)

    def _transition(self, name: str):
        product = services.product_transition(product=self.get_object(), action=name,
                                               actor=request_actor(self.request))
        return ok(self.output(product))

    @action(detail=True, methods=["post"])
    def publish(self, request, *args, **kwargs):
        return self._transition("publish")

    @action(detail=True, methods=["post"])
    def unpublish(self, request, *args, **kwargs):
        return self._transition("unpublish")

    @action(detail=True, methods=["post"])
    def archive(self, request, *args, **kwargs):
        return self._transition("archive")


def product_page(view, queryset, *, total=None):
    """The paginated answer for a product queryset (any filters and ordering), read as rows and
    shaped by catalog.output: no model instances, no serializer. ``total``: an exact count cheaper than
    the queryset's COUNT(*) (the store's counter row), used as is (no cached total)."""
    paginator, request = view.paginator, view.request
    rows = paginator.paginate_rows(lambda start, limit: output.product_rows(queryset, start, limit),
                                   total or queryset.count, request, view=view, cached=total is None)
    return paginator.get_paginated_response(output.products_dicts(rows, currency=view.store.currency,
                                                                  request=request))


class ProductChildViewSet(CatalogViewSet):
    """Rows under /products/{product_id}/: the product must be one the caller may see."""

    product: Product

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        product = selectors.product_visible(store=self.store, is_member=self.access.is_member).filter(
            pk=kwargs.get("product_id")).select_related("store").first()
        if product is None:
            raise Http404
        self.product = product

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return queryset.filter(product=self.product)


# --- variants ------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM]),
    retrieve=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM]),
    create=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM], request=VariantInput,
                         responses={201: VariantOutput},
                         description="Duplicate sku in the store → 409 ALREADY_EXISTS; money with more places "
                                     "than the store currency → 400."),
    partial_update=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM],
                                 request=VariantInput(partial=True), responses=VariantOutput),
    destroy=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM], responses={204: None}),
)
class VariantViewSet(ProductChildViewSet):
    queryset = Variant.objects.all()
    serializer_class = VariantOutput

    def get_queryset(self):
        return super().get_queryset().order_by("position", "id")

    def create(self, request, *args, **kwargs):
        data = VariantInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        variant = services.variant_create(product=self.product, actor=request_actor(request), **data.validated_data)
        return ok(VariantOutput(variant, context=self.get_serializer_context()).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        data = VariantInput(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        variant = services.variant_update(variant=self.get_object(), actor=request_actor(request),
                                          **data.validated_data)
        return ok(VariantOutput(variant, context=self.get_serializer_context()).data)

    def destroy(self, request, *args, **kwargs):
        services.variant_delete(variant=self.get_object(), actor=request_actor(request))
        return Response(status=204)


# --- images --------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM]),
    retrieve=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM]),
    create=extend_schema(
        parameters=[STORE_PARAM, PRODUCT_PARAM], request={"multipart/form-data": ProductImageInput},
        responses={201: ProductImageOutput},
        description="Only real images (checked by content); over IMAGE_UPLOAD_MAX_BYTES → 413 PAYLOAD_TOO_LARGE; "
                    "anything else → 400 VALIDATION_ERROR with details.file. Metadata (EXIF) is stripped."),
    partial_update=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM],
                                 request=ProductImageUpdateInput, responses=ProductImageOutput),
    destroy=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM], responses={204: None}),
)
class ProductImageViewSet(ProductChildViewSet):
    queryset = ProductImage.objects.all()
    serializer_class = ProductImageOutput
    throttle_scope = "uploads"

    def get_parsers(self):
        # the upload (POST) is multipart, and only it; metadata (PATCH alt, position) is JSON like
        # every other write. Any other body answers 415.
        if self.request is not None and self.request.method == "POST":
            return [MultiPartParser()]
        return [JSONParser()]

    def get_throttles(self):
        if self.request.method == "POST":
            return [throttle() for throttle in SCOPED_THROTTLES]
        return super().get_throttles()

    def create(self, request, *args, **kwargs):
        data = ProductImageInput(data=request.data)
        if not data.is_valid() and "file" in data.errors:
            raise exceptions.ValidationError({"file": data.errors["file"]})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        image = services.product_image_add(product=self.product, upload=values.pop("file"),
                                           actor=request_actor(request), **values)
        return ok(ProductImageOutput(image, context=self.get_serializer_context()).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        data = ProductImageUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        image = services.product_image_update(image=self.get_object(), actor=request_actor(request),
                                              **data.validated_data)
        return ok(ProductImageOutput(image, context=self.get_serializer_context()).data)

    def destroy(self, request, *args, **kwargs):
        services.product_image_delete(image=self.get_object(), actor=request_actor(request))
        return Response(status=204)


# --- reviews -------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM],
                       description="Hidden reviews are shown to the store's members only."),
    retrieve=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM]),
    create=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM], request=ReviewInput,
                         responses={201: ReviewOutput}, auth=USER_ONLY,
                         description="Logged-in users; one review per user per product (409 ALREADY_EXISTS); "
                                     "published products only."),
    partial_update=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM], request=ReviewModerationInput,
                                 responses=ReviewOutput, description="Moderation (catalog.write): hide or show."),
    destroy=extend_schema(parameters=[STORE_PARAM, PRODUCT_PARAM, ID_PARAM], responses={204: None}),
)
class ReviewViewSet(ProductChildViewSet):
    queryset = Review.objects.all()
    serializer_class = ReviewOutput
    feature = "reviews"  # switched off: 404 (features.registry)
    action_permissions = {"create": None}

    def get_queryset(self):
        queryset = super().get_queryset().select_related("user")
        if getattr(self, "swagger_fake_view", False) or self.access.is_member:
            return queryset
        return queryset.filter(is_hidden=False)

    def create(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_create(product=self.product, user=request.user, **data.validated_data)
        return ok(ReviewOutput(review).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        data = ReviewModerationInput(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_set_hidden(review=self.get_object(), hidden=data.validated_data["is_hidden"],
                                            actor=request_actor(request))
        return ok(ReviewOutput(review).data)

    def destroy(self, request, *args, **kwargs):
        services.review_delete(review=self.get_object(), actor=request_actor(request))
        return Response(status=204)


# --- search, suggestions, brands -------------------------------------------------
class SearchView(StoreScopedGenericView):
    serializer_class = ProductOutput
    queryset = Product.objects.all()
    pagination_class = CatalogPagination

    @extend_schema(parameters=[STORE_PARAM, SearchInput], responses=ProductOutput(many=True),
                   description="Full-text search over published products, best match first: the newest "
                               "SEARCH_MAX_RESULTS (500) matches, ranked; pagination.total counts them.")
    def get(self, request, *args, **kwargs):
        data = SearchInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        q = data.validated_data["q"]
        if not search.on_postgres():
            return product_page(self, search.product_search(store=self.store, q=q))
        children = None

        def fetch(start, limit):  # PostgreSQL: the page, its total and its rows in one statement
            nonlocal children
            rows, children, total = search.search_page(store_id=self.store.pk, q=q, start=start, limit=limit)
            return rows, total

        rows = self.paginator.paginate_counted(fetch, request)
        return self.paginator.get_paginated_response(
            output.products_dicts(rows, currency=self.store.currency, request=request, children=children))


class SuggestionsView(StoreScopedGenericView):
    serializer_class = SuggestionOutput
    queryset = Product.objects.none()
    pagination_class = None

    @extend_schema(parameters=[STORE_PARAM, SearchInput,
                               OpenApiParameter("limit", OpenApiTypes.INT, description="At most 20 (default 10).")],
                   responses=SuggestionOutput(many=True),
                   description="Published products whose name, or a word in it, starts with q.")
    def get(self, request, *args, **kwargs):
        data = SearchInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        try:
            limit = max(1, min(20, int(request.query_params.get("limit", 10))))
        except ValueError:
            limit = 10
        return ok(search.product_suggestions(store=self.store, q=data.validated_data["q"], limit=limit))


class BrandListView(StoreScopedGenericView):
    serializer_class = BrandOutput
    queryset = Product.objects.none()
    pagination_class = None

    @extend_schema(parameters=[STORE_PARAM], responses=BrandOutput(many=True),
                   description="Distinct brands with product counts (published products for the public).")
    def get(self, request, *args, **kwargs):
        return ok(selectors.brand_list(store=self.store, is_member=self.access.is_member))


# --- inventory (catalog owns stock: catalog.services.stock) ---------------------------
class InventoryListView(StoreScopedGenericView):
    queryset = Variant.objects.all()
    serializer_class = InventoryOutput
    members_only = True

    @extend_schema(parameters=[STORE_PARAM, InventoryFilterInput], responses=InventoryOutput(many=True),
                   description="Members. Each variant's units on hand (`stock_quantity`), held by open orders "
                               "(`reserved`) and `available`.")
    def get(self, request, *args, **kwargs):
        data = InventoryFilterInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        variants = selectors.inventory_list(store=self.store, **data.validated_data)
        page = self.paginate_queryset(variants)
        return self.get_paginated_response(InventoryOutput(page, many=True).data)


class InventoryAdjustmentView(StoreScopedGenericView):
    queryset = Variant.objects.all()
    serializer_class = InventoryOutput
    write_permission = CATALOG_WRITE

    @extend_schema(parameters=[STORE_PARAM], request=InventoryAdjustmentInput, responses={201: InventoryOutput},
                   description="catalog.write. Adds `delta` units on hand (negative: removes) and records an "
                               "`adjustment`, `restock` or `return` movement; answers the variant's stock. On hand "
                               "below zero or below what open orders hold → 409 OUT_OF_STOCK, nothing changes.")
    def post(self, request, *args, **kwargs):
        data = InventoryAdjustmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        variant = self.get_queryset().filter(pk=values["variant"]).first()
        if variant is None:
            raise ValidationFailed("Unknown variant.", variant=["Unknown variant."])
        services.stock_adjust(variant=variant, delta=values["delta"], reason=values["reason"], note=values["note"],
                              actor=request_actor(request))
        fresh = Variant.objects.select_related("product").get(pk=variant.pk)
        return ok(InventoryOutput(fresh).data, status=201)


class InventoryMovementListView(StoreScopedGenericView):
    queryset = InventoryMovement.objects.all()
    serializer_class = MovementOutput
    members_only = True

    @extend_schema(parameters=[STORE_PARAM, MovementFilterInput], responses=MovementOutput(many=True),
                   description="Members. The stock ledger, newest first: reserve, release and sale (orders), restock, "
                               "adjustment and return (merchants).")
    def get(self, request, *args, **kwargs):
        data = MovementFilterInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        movements = selectors.movement_list(store=self.store, variant_id=values.get("variant"),
                                            reason=values.get("reason"), order_id=values.get("order"))
        page = self.paginate_queryset(movements)
        return self.get_paginated_response(MovementOutput(page, many=True).data)
