"""The merchant's maker pages: materials edited here (catalog.write), uploads and quotes read, print jobs moved
queued → printing → shipped through maker.services.service_order_move (orders.manage, audited)."""

from django.contrib import admin, messages

from config.api.actor import request_actor
from orders.admin import for_each_writable, money
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin
from teams.permissions import CATALOG_WRITE, ORDERS_MANAGE

from . import services
from .models import Material, Quote, ServiceOrder, ServiceStatus, Upload


@admin.register(Material)
class MaterialAdmin(StoreScopedAdmin):
    write_permission = CATALOG_WRITE
    list_display = ["name", "price_per_cm3", "setup_fee", "machine_hourly_rate", "draft_minutes_per_cm3",
                    "standard_minutes_per_cm3", "fine_minutes_per_cm3", "is_active", "store"]
    list_filter = ["is_active", "store"]
    list_select_related = ["store"]
    search_fields = ["name"]
    fields = ["store", "name", "price_per_cm3", "setup_fee", "machine_hourly_rate", "draft_minutes_per_cm3",
              "standard_minutes_per_cm3", "fine_minutes_per_cm3", "is_active"]


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    list_display = ["filename", "status", "format", "size", "volume_cm3", "triangle_count", "created_at", "store"]
    list_filter = ["status", "format", "store"]
    list_select_related = ["store"]
    search_fields = ["filename"]
    fields = ["id", "store", "user", "filename", "status", "error", "format", "size", "declared_size", "volume_cm3",
              "size_x_mm", "size_y_mm", "size_z_mm", "triangle_count", "analysed_at", "created_at"]
    readonly_fields = fields


@admin.register(Quote)
class QuoteAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    list_display = ["id", "material_name", "quality", "quantity", "total_display", "expires_at", "ordered_at",
                    "store"]
    list_filter = ["quality", "store"]
    list_select_related = ["store"]
    fields = ["id", "store", "upload", "material_name", "quality", "quantity", "volume_cm3", "machine_hours",
              "material_cost", "machine_cost", "unit_price", "setup_fee", "total", "currency", "expires_at",
              "ordered_at", "created_at"]
    readonly_fields = fields

    @admin.display(description="total", ordering="total")
    def total_display(self, quote: Quote) -> str:
        return money(quote.total, quote.currency)


@admin.register(ServiceOrder)
class ServiceOrderAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """Print jobs: read here, moved only by the actions (the service's rule, and its audit row)."""

    audited_by_services = True
    write_permission = ORDERS_MANAGE
    list_display = ["id", "order_number", "status", "filename", "material", "quality", "quantity", "created_at",
                    "updated_at", "store"]
    list_filter = ["status", "store"]
    list_select_related = ["store", "order", "quote__upload"]
    search_fields = ["order__number"]
    actions = ["mark_printing", "mark_shipped"]
    fields = ["id", "store", "order", "order_line", "quote", "status", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="order", ordering="order__number")
    def order_number(self, job: ServiceOrder) -> str:
        return job.order.number

    @admin.display(description="file")
    def filename(self, job: ServiceOrder) -> str:
        return job.quote.upload.filename

    @admin.display(description="material")
    def material(self, job: ServiceOrder) -> str:
        return job.quote.material_name

    @admin.display(description="quality")
    def quality(self, job: ServiceOrder) -> str:
        return job.quote.quality

    @admin.display(description="quantity")
    def quantity(self, job: ServiceOrder) -> int:
        return job.quote.quantity

    def has_manage_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)

    def _move(self, request, queryset, status: str) -> None:
        done = for_each_writable(self, request, queryset.select_related("store").order_by("pk"),
                                 label=lambda job: f"Print job {job.pk}",
                                 act=lambda job: services.service_order_move(service_order=job, status=status,
                                                                             actor=request_actor(request)))
        if done:
            self.message_user(request, f"{done} print job(s) marked {status}.", messages.SUCCESS)

    @admin.action(description="Mark selected print jobs printing", permissions=["manage"])
    def mark_printing(self, request, queryset):
        self._move(request, queryset, ServiceStatus.PRINTING)

    @admin.action(description="Mark selected print jobs shipped", permissions=["manage"])
    def mark_shipped(self, request, queryset):
        self._move(request, queryset, ServiceStatus.SHIPPED)
