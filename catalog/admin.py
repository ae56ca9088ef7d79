"""The merchant dashboard's catalog pages; every write goes through catalog.services."""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminSelectWidget

from config.api.actor import request_actor
from config.api.errors import DomainError
from config.money import money_str
from features.admin_mixins import FeatureAdminMixin
from plans.services import plan_limit_check
from stores.models import Store
from teams.admin_base import StoreScopedAdmin, StoreScopedInline, admin_store_ids_with
from teams.admin_fields import KeyValueField, KeyValueWidget, money_inputs_localize
from teams.permissions import CATALOG_WRITE

from . import admin_stock, services  # noqa: F401 - admin_stock: the stock pages, registered on import
from .images import image_clean
from .importer import COLUMNS, ImportFailed, products_import
from .models import Category, Product, ProductImage, Review, Variant
from .selectors import variants_low_stock


def _domain_message(exc: DomainError) -> str:
    details = "; ".join(f"{key}: {value}" for key, value in exc.details.items()) if exc.details else ""
    return f"{exc.message} {details}".strip()


def _refused(form, exc: DomainError, field: str) -> None:
    """A service check's refusal shown on the form: on the fields it names, else on ``field``."""
    named = {name: value for name, value in exc.details.items() if isinstance(value, list) and name in form.fields}
    for name, value in named.items() or [(field, exc.message)]:
        form.add_error(name, value)


# --- categories ----------------------------------------------------------------
@admin.register(Category)
class CategoryAdmin(StoreScopedAdmin):
    audited_by_services = True
    write_permission = CATALOG_WRITE
    list_display = ["tree_name", "slug", "store", "position", "product_count"]
    list_filter = ["store"]
    search_fields = ["name", "slug"]
    ordering = ["store", "path"]
    fields = ["store", "name", "slug", "parent", "position", "description"]
    list_per_page = 200

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).select_related("store").annotate(product_total=Count("products"))

    @admin.display(description="name", ordering="path")
    def tree_name(self, obj: Category) -> str:
        return format_html('<span style="padding-left:{}em">{}{}</span>', obj.depth * 1.5,
                           "└ " if obj.depth else "", obj.name)

    @admin.display(description="products", ordering="product_total")
    def product_count(self, obj: Category) -> int:
        return obj.product_total

    def get_readonly_fields(self, request, obj=None):
        return ["store"] if obj else []

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        values = {"name": data["name"], "slug": data["slug"], "parent": data.get("parent"),
                  "position": data.get("position") or 0, "description": data.get("description", "")}
        if change:
            category = services.category_update(category=Category.objects.get(pk=obj.pk), actor=request_actor(request),
                                                **values)
        else:
            category = services.category_create(store=data["store"], actor=request_actor(request), **values)
        obj.pk = category.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.category_delete(category=obj, actor=request_actor(request))

    def delete_queryset(self, request, queryset):
        writable = self.writable_store_ids(request)
        for category in queryset.order_by("-depth"):  # children before their parents
            if writable is None or category.store_id in writable:
                try:
                    services.category_delete(category=category, actor=request_actor(request))
                except DomainError as exc:
                    self.message_user(request, f"{category.name}: {exc.message}", messages.ERROR)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        admin_site_form = form

        class CategoryForm(admin_site_form):
            def clean(self):
                cleaned = super().clean()
                store, slug = obj.store if obj else cleaned.get("store"), cleaned.get("slug")
                if store is None:
                    return cleaned
                checks = [("parent", lambda: services.category_parent_check(
                    store=store, parent=cleaned.get("parent"), category=obj))]
                if slug:
                    checks.append(("slug", lambda: services.slug_free_check(
                        model=Category, store=store, slug=slug, exclude_pk=getattr(obj, "pk", None))))
                for field, check in checks:
                    try:
                        check()
                    except DomainError as exc:
                        _refused(self, exc, field)
                return cleaned

        return CategoryForm


# --- products ------------------------------------------------------------------
class VariantInlineFormSet(forms.BaseInlineFormSet):
    """The rows against each other (one sku per row) here; each row against the store through the
    services' checks (sku taken, prices with more places than the store currency has)."""

    def clean(self):
        super().clean()
        product = self.instance
        skus: dict[str, forms.Form] = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE") or not form.cleaned_data:
                continue
            sku = (form.cleaned_data.get("sku") or "").strip()
            if not sku:
                continue
            if sku in skus:
                form.add_error("sku", "Another row has this sku.")
            skus[sku] = form
        if not product.store_id:
            return
        for sku, form in skus.items():
            if "sku" in form.changed_data or not form.instance.pk:
                try:
                    services.variant_sku_check(store_id=product.store_id, sku=sku, exclude_pk=form.instance.pk)
                except DomainError as exc:
                    _refused(form, exc, "sku")
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE") or not form.has_changed():
                continue
            try:
                services.variant_prices_check(currency=product.store.currency, values=form.cleaned_data)
            except DomainError as exc:
                _refused(form, exc, "price")


class VariantInlineForm(forms.ModelForm):
    """A variant row: its options as rows of name and value (checked by ``variant_options_check``, as the API
    checks them), its prices with the store currency's places (``currency``: the product's store's)."""

    options = KeyValueField(check=lambda options: services.variant_options_check(options=options),
                            widget=KeyValueWidget(key_placeholder="size", value_placeholder="M"))

    class Meta:
        model = Variant
        fields = ["sku", "name", "price", "compare_at_price", "options", "stock_quantity", "track_inventory",
                  "allow_backorder", "position"]
        # short headers, so that the row fits a 1400 px screen
        labels = {"compare_at_price": "Compare at", "stock_quantity": "On hand", "track_inventory": "Track",
                  "allow_backorder": "Backorder"}
        help_texts = {"stock_quantity": ""}

    def __init__(self, *args, currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        money_inputs_localize(self, currency=currency, names=["price", "compare_at_price"])

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            try:
                services.variant_stock_check(variant=self.instance, values=cleaned)
            except DomainError as exc:
                _refused(self, exc, "stock_quantity")
        return cleaned


class VariantInline(StoreScopedInline):
    model = Variant
    form = VariantInlineForm
    formset = VariantInlineFormSet
    write_permission = CATALOG_WRITE
    extra = 0
    fields = ["sku", "name", "price", "compare_at_price", "options", "stock_quantity", "reserved_count",
              "track_inventory", "allow_backorder", "position", "adjust_stock"]
    readonly_fields = ["reserved_count", "adjust_stock"]
    # rows are put in order by dragging them (unfold sets each row's position): no column for it
    ordering_field = "position"
    hide_ordering_field = True

    @admin.display(description="reserved")
    def reserved_count(self, variant: Variant) -> int | str:
        """Units held by open orders."""
        return variant.reserved if variant.pk else ""

    @admin.display(description="stock")
    def adjust_stock(self, variant: Variant) -> str:
        if not variant.pk:
            return ""
        url = reverse("admin:catalog_stock_adjust")
        return format_html('<a href="{}?variant={}">adjust</a>', url, variant.pk)


class ProductImageInlineForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "alt", "position"]

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if upload and "image" in self.changed_data:
            try:
                image_clean(upload=upload)
            except DomainError as exc:
                raise forms.ValidationError(_domain_message(exc)) from None
        return upload


class ProductImageInline(StoreScopedInline):
    model = ProductImage
    form = ProductImageInlineForm
    write_permission = CATALOG_WRITE
    extra = 0
    fields = ["preview", "image", "alt", "position"]
    readonly_fields = ["preview"]

    @admin.display(description="preview")
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk:
            return ""
        return format_html('<img src="{}" style="max-height:60px;max-width:90px">', obj.image.url)


class InStockFilter(admin.SimpleListFilter):
    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [("yes", "In stock"), ("no", "Out of stock")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(in_stock=True)
        if self.value() == "no":
            return queryset.filter(in_stock=False)
        return queryset


class LowStockFilter(admin.SimpleListFilter):
    """Products with a variant running low (the dashboard's "Low stock" shortcut lands here)."""

    title = "low stock"
    parameter_name = "low_stock"

    def lookups(self, request, model_admin):
        return [("yes", "A variant low on stock")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=variants_low_stock().values("product_id"))
        return queryset


class BrandFilter(admin.SimpleListFilter):
    title = "brand"
    parameter_name = "brand"

    def lookups(self, request, model_admin):
        brands = model_admin.get_queryset(request).exclude(brand="").order_by("brand").values_list(
            "brand", flat=True).distinct()[:200]
        return [(brand, brand) for brand in brands]

    def queryset(self, request, queryset):
        return queryset.filter(brand=self.value()) if self.value() else queryset


class ProductAdminForm(forms.ModelForm):
    """The rules the services would refuse with a 409, reported on the form instead; the attributes as rows of
    name and value (checked by ``product_attributes_check``, as the API checks them)."""

    attributes = KeyValueField(check=lambda attributes: services.product_attributes_check(attributes=attributes),
                               widget=KeyValueWidget(key_placeholder="material", value_placeholder="cotton"),
                               help_text="One name and value per row (a blank row is left out).")

    class Meta:
        model = Product
        fields = "__all__"

    def clean_attributes(self):
        # a value the API set that is not text (a number, a list) stays as it is unless its row was edited
        return KeyValueField.keep_unedited(self.cleaned_data["attributes"],
                                           self.instance.attributes if self.instance.pk else None)

    def clean(self):
        cleaned = super().clean()
        store = self.instance.store if self.instance.pk else cleaned.get("store")
        slug = cleaned.get("slug")
        if store is None:
            return cleaned
        checks = [("category", lambda: services.product_category_check(store=store, category=cleaned.get("category")))]
        if not self.instance.pk:
            checks.append(("store", lambda: plan_limit_check(store=store, limit="products")))
        if slug:
            checks.append(("slug", lambda: services.slug_free_check(model=Product, store=store, slug=slug,
                                                                    exclude_pk=self.instance.pk)))
        for field, check in checks:
            try:
                check()
            except DomainError as exc:
                _refused(self, exc, field)
        return cleaned


class ProductImportForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none(), widget=UnfoldAdminSelectWidget)
    file = forms.FileField(help_text=f"CSV, UTF-8, with a header row. Columns: {', '.join(COLUMNS)}.",
                           widget=UnfoldAdminFileFieldWidget)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        if stores.count() == 1:
            self.fields["store"].initial = stores.first()


@admin.register(Product)
class ProductAdmin(StoreScopedAdmin):
    audited_by_services = True  # the product, its variants and images are saved through catalog.services
    write_permission = CATALOG_WRITE
    form = ProductAdminForm
    list_display = ["name", "store", "status", "price_display", "in_stock", "brand", "category", "featured",
                    "updated_at"]
    list_filter = ["status", "category", BrandFilter, InStockFilter, LowStockFilter, "featured", "store"]
    list_select_related = ["store", "category"]
    search_fields = ["name", "slug", "brand", "variants__sku"]
    autocomplete_fields = ["category"]
    inlines = [VariantInline, ProductImageInline]
    actions = ["publish_selected", "archive_selected", "unpublish_selected"]
    readonly_fields = ["status", "price_display", "in_stock", "published_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["store", "name", "slug", "category", "brand", "description", "featured"]}),
        ("Attributes", {"fields": ["attributes"], "classes": ["collapse"]}),
        ("State", {"fields": ["status", "price_display", "in_stock", "published_at", "created_at", "updated_at"]}),
    ]
    change_list_template = "admin/catalog/product/change_list.html"

    class Media:
        css = {"all": ["catalog/product_admin.css"]}

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "store"] if obj else self.readonly_fields

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ("name",)}

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset.distinct() if search_term else queryset, False

    @admin.display(description="price", ordering="price")
    def price_display(self, obj: Product) -> str:
        return f"{money_str(obj.price, obj.store.currency)} {obj.store.currency}" if obj.price is not None else "—"

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        store_ids = admin_store_ids_with(request, self.write_permission)
        if store_ids is not None and len(store_ids) == 1:
            initial.setdefault("store", store_ids[0])  # a merchant with one store has nothing to choose
        return initial

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, VariantInline):
            kwargs["form_kwargs"] = {**kwargs.get("form_kwargs", {}), "currency": self._currency(request, obj)}
        return kwargs

    def _currency(self, request, obj: Product | None) -> str | None:
        """The currency of the product's store; on the add page, of the one store this member may add to."""
        if obj is not None and obj.store_id:
            return obj.store.currency
        store_ids = admin_store_ids_with(request, self.write_permission)
        if store_ids is not None and len(store_ids) == 1:
            return Store.objects.filter(pk=store_ids[0]).values_list("currency", flat=True).first()
        return None

    # --- saving through the services ------------------------------------------
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = [name for name in services.PRODUCT_FIELDS if name in data]
        if change:
            values = {name: data[name] for name in fields if name in form.changed_data}
            product = services.product_update(product=Product.objects.get(pk=obj.pk), actor=request_actor(request),
                                              **values)
        else:
            product = services.product_create(store=data["store"], actor=request_actor(request),
                                              **{name: data[name] for name in fields if data[name] is not None})
        obj.pk = product.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        # The admin's change message reads these three lists, as formset.save() would fill them.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], _deleted(formset)
        product = form.instance
        if formset.model is Variant:
            for variant in formset.deleted_objects:
                services.variant_delete(variant=variant, actor=request_actor(request))
            for variant_form in formset.forms:
                if variant_form in formset.deleted_forms or not variant_form.has_changed():
                    continue
                values = {name: variant_form.cleaned_data[name] for name in VariantInlineForm.Meta.fields
                          if name in variant_form.cleaned_data}
                if variant_form.instance.pk:
                    changed = {name: values[name] for name in variant_form.changed_data if name in values}
                    variant = services.variant_update(variant=variant_form.instance, actor=request_actor(request),
                                                      **changed)
                    formset.changed_objects.append((variant, list(changed)))
                else:
                    variant = services.variant_create(product=product, actor=request_actor(request), **values)
                    formset.new_objects.append(variant)
        elif formset.model is ProductImage:
            for image in formset.deleted_objects:
                services.product_image_delete(image=image, actor=request_actor(request))
            for image_form in formset.forms:
                if image_form in formset.deleted_forms or not image_form.has_changed():
                    continue
                data = image_form.cleaned_data
                if image_form.instance.pk and "image" not in image_form.changed_data:
                    # a fresh row: the form has already set the new values on its instance
                    services.product_image_update(image=ProductImage.objects.get(pk=image_form.instance.pk),
                                                  actor=request_actor(request), alt=data["alt"],
                                                  position=data["position"])
                    formset.changed_objects.append((image_form.instance, image_form.changed_data))
                    continue
                if image_form.instance.pk:
                    services.product_image_delete(image=image_form.instance, actor=request_actor(request))
                image = services.product_image_add(product=product, upload=data["image"], alt=data.get("alt", ""),
                                                   position=data.get("position"), actor=request_actor(request))
                formset.new_objects.append(image)
        else:
            super().save_formset(request, form, formset, change)

    # --- bulk actions ----------------------------------------------------------
    def _bulk(self, request, queryset, action: str, verb: str) -> None:
        writable = self.writable_store_ids(request)
        done = 0
        for product in queryset.select_related("store"):
            if writable is not None and product.store_id not in writable:
                self.message_user(request, f"{product.name}: you may not change this store's catalog.",
                                  messages.ERROR)
                continue
            try:
                services.product_transition(product=product, action=action, actor=request_actor(request))
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{product.name}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} product(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Publish selected products")
    def publish_selected(self, request, queryset):
        self._bulk(request, queryset, "publish", "published")

    @admin.action(description="Archive selected products")
    def archive_selected(self, request, queryset):
        self._bulk(request, queryset, "archive", "archived")

    @admin.action(description="Unpublish selected products (back to draft)")
    def unpublish_selected(self, request, queryset):
        self._bulk(request, queryset, "unpublish", "moved back to draft")

    def delete_model(self, request, obj):
        services.product_delete(product=obj, actor=request_actor(request))

    def delete_queryset(self, request, queryset):
        writable = self.writable_store_ids(request)
        for product in queryset:
            if writable is None or product.store_id in writable:
                try:
                    services.product_delete(product=product, actor=request_actor(request))
                except DomainError as exc:
                    self.message_user(request, f"{product.name}: {exc.message}", messages.ERROR)

    # --- CSV import ------------------------------------------------------------
    def get_urls(self):
        custom = [path("import/", self.admin_site.admin_view(self.import_view), name="catalog_product_import")]
        return custom + super().get_urls()

    def import_view(self, request):
        writable = self.writable_store_ids(request)
        stores = Store.objects.all() if writable is None else Store.objects.filter(pk__in=writable)
        if not stores.exists():
            raise PermissionDenied
        errors = []
        form = ProductImportForm(request.POST or None, request.FILES or None, stores=stores)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > 20 * 1024 * 1024:
                form.add_error("file", "At most 20 MB.")
            else:
                try:
                    result = products_import(store=form.cleaned_data["store"], source=upload.read(),
                                             actor=request_actor(request))
                except ImportFailed as exc:
                    errors = exc.errors
                except DomainError as exc:  # e.g. a conflict met while writing: rolled back, nothing imported
                    form.add_error("file", f"{_domain_message(exc)} Nothing was imported.")
                else:
                    self.message_user(request, f"Imported: {result}", messages.SUCCESS)
                    return redirect(reverse("admin:catalog_product_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import products from CSV",
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "columns": COLUMNS,
        }
        return TemplateResponse(request, "admin/catalog/product/import.html", context)


def _deleted(formset) -> list:
    return [form.instance for form in formset.deleted_forms if form.instance.pk]


# --- reviews -------------------------------------------------------------------
@admin.register(Review)
class ReviewAdmin(FeatureAdminMixin, StoreScopedAdmin):
    feature = "reviews"  # the stores that switched reviews off: their reviews are not listed
    audited_by_services = True
    write_permission = CATALOG_WRITE
    list_display = ["product", "user", "rating", "title", "is_hidden", "created_at"]
    list_filter = ["is_hidden", "rating", "store"]
    list_select_related = ["product", "user"]
    search_fields = ["title", "body", "product__name", "user__email"]
    readonly_fields = ["store", "product", "user", "rating", "title", "body", "created_at", "updated_at"]
    fields = ["store", "product", "user", "rating", "title", "body", "is_hidden", "created_at", "updated_at"]
    actions = ["hide_selected", "show_selected"]

    def has_add_permission(self, request) -> bool:
        return False  # reviews come from customers

    def _set_hidden(self, request, queryset, hidden: bool) -> None:
        writable = self.writable_store_ids(request)
        changed = 0
        for review in queryset.select_related("product__store"):
            if writable is None or review.store_id in writable:
                services.review_set_hidden(review=review, hidden=hidden, actor=request_actor(request))
                changed += 1
        self.message_user(request, f"{changed} review(s) {'hidden' if hidden else 'shown'}.", messages.SUCCESS)

    @admin.action(description="Hide selected reviews")
    def hide_selected(self, request, queryset):
        self._set_hidden(request, queryset, True)

    @admin.action(description="Show selected reviews")
    def show_selected(self, request, queryset):
        self._set_hidden(request, queryset, False)

    def save_model(self, request, obj, form, change):
        if "is_hidden" in form.changed_data:
            services.review_set_hidden(review=Review.objects.get(pk=obj.pk), hidden=obj.is_hidden,
                                       actor=request_actor(request))

    def delete_model(self, request, obj):
        services.review_delete(review=obj, actor=request_actor(request))

    def delete_queryset(self, request, queryset):
        writable = self.writable_store_ids(request)
        for review in queryset.select_related("product__store"):
            if writable is None or review.store_id in writable:
                services.review_delete(review=review, actor=request_actor(request))
