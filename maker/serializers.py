"""Maker inputs validate, outputs shape; the rules live in maker.services. Money as the currency's decimal strings."""

from rest_framework import serializers

from config.money import money_str
from orders.serializers import MAX_BIGINT, CartOutput

from .models import Material, Quality, Quote, ServiceOrder, ServiceStatus, Upload, UploadStatus
from .services import MAX_QUOTE_QUANTITY


class UploadSignInput(serializers.Serializer):
    filename = serializers.CharField(max_length=255, help_text="The file's name, for the customer; the format is "
                                                               "read from the content.")
    size = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT,
                                    help_text="The exact size in bytes the client will PUT (≤ MAKER_UPLOAD_MAX_BYTES).")


def upload_dict(upload: Upload) -> dict:
    analysed = upload.status == UploadStatus.READY or upload.triangle_count is not None
    return {
        "id": str(upload.pk),
        "filename": upload.filename,
        "status": upload.status,
        "format": upload.format or None,
        "size": upload.size if upload.size is not None else upload.declared_size,
        "error": upload.error or None,
        "volume_cm3": str(upload.volume_cm3) if analysed and upload.volume_cm3 is not None else None,
        "bounding_box_mm": ({"x": str(upload.size_x_mm), "y": str(upload.size_y_mm), "z": str(upload.size_z_mm)}
                            if analysed and upload.size_x_mm is not None else None),
        "triangle_count": upload.triangle_count if analysed else None,
        "created_at": upload.created_at,
    }


class BoundingBoxOutput(serializers.Serializer):
    x = serializers.CharField()
    y = serializers.CharField()
    z = serializers.CharField()


class UploadOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="The upload's bearer token, as a cart's id is.")
    filename = serializers.CharField()
    status = serializers.ChoiceField(choices=UploadStatus.choices, help_text="pending (waiting for the file), "
                                     "processing (being analysed), ready (quotable), rejected (see `error`).")
    format = serializers.CharField(allow_null=True, help_text="stl, obj or 3mf, read from the content.")
    size = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    volume_cm3 = serializers.CharField(allow_null=True)
    bounding_box_mm = BoundingBoxOutput(allow_null=True)
    triangle_count = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, instance):
        return upload_dict(instance)


class UploadSignOutput(serializers.Serializer):
    upload = UploadOutput()
    method = serializers.CharField(help_text="Always PUT.")
    url = serializers.CharField(help_text="Where to PUT the file's bytes: the bucket (S3) or this API (local).")
    headers = serializers.DictField(child=serializers.CharField(), help_text="Send these headers with the PUT.")
    expires_in = serializers.IntegerField(help_text="Seconds the URL stays valid.")
    max_bytes = serializers.IntegerField()


class MaterialOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    price_per_cm3 = serializers.CharField()
    setup_fee = serializers.CharField()
    machine_hourly_rate = serializers.CharField()
    minutes_per_cm3 = serializers.DictField(child=serializers.CharField(), help_text="Machine minutes per cm³ for "
                                                                                     "each quality.")
    currency = serializers.CharField()

    def to_representation(self, material: Material):
        currency = self.context["store"].currency
        return {"id": material.pk, "name": material.name,
                "price_per_cm3": money_str(material.price_per_cm3, currency),
                "setup_fee": money_str(material.setup_fee, currency),
                "machine_hourly_rate": money_str(material.machine_hourly_rate, currency),
                "minutes_per_cm3": {quality: str(material.minutes_per_cm3(quality)) for quality in Quality.values},
                "currency": currency}


class QuoteInput(serializers.Serializer):
    upload = serializers.UUIDField(help_text="An analysed (ready) upload of this store.")
    material = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT)
    quality = serializers.ChoiceField(choices=Quality.choices)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUOTE_QUANTITY)


class QuoteBreakdownOutput(serializers.Serializer):
    volume_cm3 = serializers.CharField()
    machine_hours = serializers.CharField(help_text="Per piece.")
    material_cost = serializers.CharField(help_text="Per piece: volume × price per cm³.")
    machine_cost = serializers.CharField(help_text="Per piece: machine hours × hourly rate.")
    unit_price = serializers.CharField(help_text="Per piece: material + machine.")
    quantity = serializers.IntegerField()
    setup_fee = serializers.CharField(help_text="Once per quote.")


def quote_dict(quote: Quote) -> dict:
    currency = quote.currency
    return {
        "id": str(quote.pk),
        "reference": quote.reference,
        "upload": str(quote.upload_id),
        "material": quote.material_id,
        "material_name": quote.material_name,
        "quality": quote.quality,
        "quantity": quote.quantity,
        "breakdown": {
            "volume_cm3": str(quote.volume_cm3), "machine_hours": str(quote.machine_hours),
            "material_cost": money_str(quote.material_cost, currency),
            "machine_cost": money_str(quote.machine_cost, currency),
            "unit_price": money_str(quote.unit_price, currency), "quantity": quote.quantity,
            "setup_fee": money_str(quote.setup_fee, currency),
        },
        "total": money_str(quote.total, currency),
        "currency": currency,
        "expires_at": quote.expires_at,
        "ordered": quote.ordered_at is not None,
        "created_at": quote.created_at,
    }


class QuoteOutput(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField(help_text="The cart line's and order line's reference.")
    upload = serializers.UUIDField()
    material = serializers.IntegerField(allow_null=True)
    material_name = serializers.CharField()
    quality = serializers.ChoiceField(choices=Quality.choices)
    quantity = serializers.IntegerField()
    breakdown = QuoteBreakdownOutput()
    total = serializers.CharField(help_text="unit_price × quantity + setup_fee, rounded half-up to the currency.")
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField(help_text="After this the quote can no longer go into a cart or be "
                                                     "checked out.")
    ordered = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance):
        return quote_dict(instance)


class CartQuoteInput(serializers.Serializer):
    quote = serializers.UUIDField()


class BomInput(serializers.Serializer):
    csv = serializers.CharField(max_length=200_000, trim_whitespace=False,
                                help_text="Rows of sku,quantity (a first row `sku,quantity` is a header).")


class BomLineOutput(serializers.Serializer):
    row = serializers.IntegerField()
    sku = serializers.CharField()
    quantity = serializers.CharField()
    code = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    variant = serializers.IntegerField(required=False)


class BomOutput(serializers.Serializer):
    cart = CartOutput()
    added = BomLineOutput(many=True, help_text="Rows added: row, sku, quantity, variant.")
    failed = BomLineOutput(many=True, help_text="Rows not added: row, sku, quantity, code, message.")


class ServiceOrderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ServiceStatus.choices)
    order = serializers.CharField(help_text="The order number.")
    order_status = serializers.CharField()
    order_line = serializers.IntegerField()
    quote = serializers.UUIDField()
    upload = serializers.UUIDField()
    filename = serializers.CharField()
    material = serializers.CharField()
    quality = serializers.CharField()
    quantity = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, job: ServiceOrder):
        quote = job.quote
        return {"id": job.pk, "status": job.status, "order": job.order.number, "order_status": job.order.status,
                "order_line": job.order_line_id, "quote": str(quote.pk), "upload": str(quote.upload_id),
                "filename": quote.upload.filename, "material": quote.material_name, "quality": quote.quality,
                "quantity": quote.quantity, "created_at": job.created_at, "updated_at": job.updated_at}


class ServiceOrderStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ServiceStatus.choices)
