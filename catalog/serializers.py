"""Input serializers validate and output serializers shape; the rules live in catalog.services."""


from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.errors import ValidationFailed
from config.api.fields import INTEGER_MAX, json_text_problem
from config.money import MoneyField

from . import services
from .models import Category, InventoryMovement, MovementReason, Product, ProductImage, ProductStatus, Review, Variant
from .output import products_dicts
from .selectors import SORTS


class StorePrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id of a row in the request's store; another store's id is "does not exist"."""

    def get_queryset(self):
        store = self.context.get("store")
        queryset = super().get_queryset()
        return queryset.none() if store is None else queryset.filter(store=store)


# --- categories ----------------------------------------------------------------
class CategoryInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=140, required=False, allow_blank=True)
    parent = StorePrimaryKeyField(queryset=Category.objects.all(), required=False, allow_null=True)
    position = serializers.IntegerField(min_value=0, max_value=INTEGER_MAX, required=False, default=0)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class CategoryOutput(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "description", "parent", "position", "depth", "created_at", "updated_at"]


@extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/CategoryTreeOutput"}})
class _CategoryChildren(serializers.ListField):
    """The tree's nodes nest nodes of their own shape."""


class CategoryTreeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    parent = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField()
    depth = serializers.IntegerField()
    children = _CategoryChildren(child=serializers.DictField(), help_text="Nodes of the same shape.")


class CategorySummary(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent"]


def _json_checked(value):
    if problem := json_text_problem(value):
        raise serializers.ValidationError(problem)
    return value


def _service_checked(check, **values):
    """A catalog service's check function run on an input value, its refusal as the field's error."""
    try:
        check(**values)
    except ValidationFailed as exc:
        raise serializers.ValidationError(exc.message) from None
    return next(iter(values.values()))


# --- variants --------------------------------------------------------------------
class VariantInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    price = MoneyField()
    compare_at_price = MoneyField(required=False, allow_null=True)
    options = serializers.DictField(child=serializers.CharField(max_length=100, allow_blank=True), required=False)
    stock_quantity = serializers.IntegerField(min_value=0, max_value=INTEGER_MAX, required=False)
    track_inventory = serializers.BooleanField(required=False)
    allow_backorder = serializers.BooleanField(required=False)
    position = serializers.IntegerField(min_value=0, max_value=INTEGER_MAX, required=False)

    def validate_options(self, value):
        return _service_checked(services.variant_options_check, options=value)


class VariantOutput(serializers.ModelSerializer):
    price = MoneyField(read_only=True)
    compare_at_price = MoneyField(read_only=True, allow_null=True)
    currency = serializers.SerializerMethodField()
    available = serializers.IntegerField(read_only=True)
    in_stock = serializers.BooleanField(source="purchasable", read_only=True)

    class Meta:
        model = Variant
        fields = ["id", "sku", "name", "price", "compare_at_price", "currency", "options", "stock_quantity",
                  "reserved", "available", "in_stock", "track_inventory", "allow_backorder", "position",
                  "created_at", "updated_at"]

    def get_currency(self, obj) -> str:
        return self.context["store"].currency


# --- images ----------------------------------------------------------------------
class ProductImageInput(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG, PNG, WebP or GIF; checked by content and re-encoded.")
    alt = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    position = serializers.IntegerField(min_value=0, max_value=INTEGER_MAX, required=False)


class ProductImageUpdateInput(serializers.Serializer):
    alt = serializers.CharField(max_length=200, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=INTEGER_MAX, required=False)


class ProductImageOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "alt", "position", "width", "height", "created_at"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj) -> str:
        url = obj.image.url
        request = self.context.get("request")
        if url.startswith("/") and request is not None:
            return request.build_absolute_uri(url)
        return url


# --- products --------------------------------------------------------------------
class ProductInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=220, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    brand = serializers.CharField(max_length=120, required=False, allow_blank=True)
    category = StorePrimaryKeyField(queryset=Category.objects.all(), required=False, allow_null=True)
    featured = serializers.BooleanField(required=False)
    attributes = serializers.DictField(required=False)

    def validate_attributes(self, value):
        return _service_checked(services.product_attributes_check, attributes=value)


class ProductCreateInput(ProductInput):
    variants = VariantInput(many=True, required=False, help_text="Variants created with the product.")

    def validate_variants(self, value):
        skus = [variant["sku"].strip() for variant in value]
        if len(skus) != len(set(skus)):
            raise serializers.ValidationError("Each variant needs its own sku.")
        return value


class ProductListOutput(serializers.ListSerializer):
    def to_representation(self, data):
        return products_dicts(data.all() if hasattr(data, "all") else data,
                              currency=self.context["store"].currency, request=self.context.get("request"))


class ProductOutput(serializers.ModelSerializer):
    category = CategorySummary(read_only=True, allow_null=True)
    price = MoneyField(read_only=True, allow_null=True, help_text="The lowest variant price.")
    currency = serializers.SerializerMethodField()
    variants = VariantOutput(many=True, read_only=True)
    images = ProductImageOutput(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "name", "slug", "description", "brand", "category", "status", "featured", "attributes",
                  "price", "currency", "in_stock", "variants", "images", "published_at", "created_at",
                  "updated_at"]
        list_serializer_class = ProductListOutput

    def get_currency(self, obj) -> str:
        return self.context["store"].currency

    def to_representation(self, instance):
        # the hot read path: the same shape as the fields above, without DRF's per-field cost
        return products_dicts([instance], currency=self.context["store"].currency,
                              request=self.context.get("request"))[0]


class ProductFilterInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200,  # as /search
                              help_text="Words to find in name, brand, category, description.")
    category = serializers.CharField(required=False, allow_blank=True,
                                     help_text="Category slug; includes its sub-categories.")
    price_min = MoneyField(currency_places=False, required=False)
    price_max = MoneyField(currency_places=False, required=False)
    brand = serializers.CharField(required=False, allow_blank=True)
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=ProductStatus.choices, required=False,
                                     help_text="Members only: the public sees published products.")
    featured = serializers.BooleanField(required=False, allow_null=True, default=None)
    sort = serializers.ChoiceField(choices=[*SORTS, "relevance"], required=False,
                                   help_text="Default: relevance with q, -created without.")


class SearchInput(serializers.Serializer):
    q = serializers.CharField(max_length=200, allow_blank=True)


class SuggestionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class BrandOutput(serializers.Serializer):
    brand = serializers.CharField()
    count = serializers.IntegerField()


# --- reviews ---------------------------------------------------------------------
class ReviewInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ReviewModerationInput(serializers.Serializer):
    is_hidden = serializers.BooleanField()


class ReviewAuthor(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReviewOutput(serializers.ModelSerializer):
    user = ReviewAuthor(read_only=True)

    class Meta:
        model = Review
        fields = ["id", "rating", "title", "body", "user", "is_hidden", "created_at", "updated_at"]


# --- inventory -------------------------------------------------------------------
ADJUSTMENT_REASONS = [MovementReason.RESTOCK, MovementReason.ADJUSTMENT, MovementReason.RETURN]


class InventoryFilterInput(serializers.Serializer):
    low_stock = serializers.BooleanField(required=False, default=False,
                                         help_text="Only tracked variants whose available stock is at or below the "
                                                   "store's low-stock threshold, the lowest first.")
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Part of a sku or name.")


class InventoryOutput(serializers.ModelSerializer):
    variant = serializers.IntegerField(source="pk", read_only=True)
    product = serializers.IntegerField(source="product_id", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    available = serializers.IntegerField(read_only=True, help_text="stock_quantity − reserved.")

    class Meta:
        model = Variant
        fields = ["variant", "sku", "product", "product_name", "name", "options", "stock_quantity", "reserved",
                  "available", "track_inventory", "allow_backorder", "updated_at"]


class InventoryAdjustmentInput(serializers.Serializer):
    variant = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="A variant id of this store.")
    delta = serializers.IntegerField(min_value=-INTEGER_MAX, max_value=INTEGER_MAX,
                                     help_text="Units to add (negative: remove); not zero.")
    reason = serializers.ChoiceField(choices=[(reason.value, reason.label) for reason in ADJUSTMENT_REASONS],
                                     help_text="reserve, release and sale are the system's.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate_delta(self, value):
        if value == 0:
            raise serializers.ValidationError("Not zero.")
        return value

    def validate_note(self, value):
        return _json_checked(value)


class MovementFilterInput(serializers.Serializer):
    variant = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    reason = serializers.ChoiceField(choices=MovementReason.choices, required=False)
    order = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="An order id.")


class MovementOutput(serializers.ModelSerializer):
    variant = serializers.IntegerField(source="variant_id", read_only=True)
    sku = serializers.CharField(source="variant.sku", read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True,
                                     help_text="The order a reserve, release or sale was for.")
    order_number = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor_label", read_only=True, help_text="The user's email, "
                                                                                 "apikey:<id> or system.")

    class Meta:
        model = InventoryMovement
        fields = ["id", "variant", "sku", "reason", "quantity_delta", "reserved_delta", "order", "order_number",
                  "actor", "note", "created_at"]

    def get_order_number(self, obj) -> str | None:
        return obj.order.number if obj.order_id else None
