"""Audit entries for saves and deletes made in the admin (the merchant dashboard)."""

from django.db import models

from .services import audit_diff, audit_record, jsonable


def admin_object_store(obj, store_field: str):
    """The Store ``obj`` belongs to, following ``store_field`` ("store", "product__store" or "pk")."""
    if store_field == "pk":
        return obj
    for name in store_field.split("__"):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def _field_values(obj, names) -> dict:
    values = {}
    for name in names:
        try:
            field = obj._meta.get_field(name)
        except Exception:
            continue  # a form-only field
        if field.many_to_many:
            values[name] = sorted(obj.pk and getattr(obj, name).values_list("pk", flat=True) or [])
        elif isinstance(field, models.ForeignKey):
            values[name] = getattr(obj, field.attname)
        else:
            values[name] = getattr(obj, name, None)
    return jsonable(values)


class AuditedAdminMixin:
    """Writes an audit entry (``admin.<model>.created|updated|deleted``) for each admin save and delete.

    Put it before ``StoreScopedAdmin`` in the bases; it uses ``store_field`` to find the store and
    writes in the admin's own transaction. Rows with no store are not audited.
    """

    store_field = "store"

    def _audit(self, request, obj, verb: str, changes: dict) -> None:
        store = admin_object_store(obj, self.store_field)
        if store is None:
            return
        audit_record(
            store=store, actor=request.user, request=request, action=f"admin.{obj._meta.model_name}.{verb}",
            target=obj, changes=changes,
        )

    def save_model(self, request, obj, form, change):
        changed = list(getattr(form, "changed_data", []) or [])
        before = {}
        if change and obj.pk:
            original = type(obj)._default_manager.filter(pk=obj.pk).first()
            if original is not None:
                before = _field_values(original, changed)
        super().save_model(request, obj, form, change)
        after = _field_values(obj, changed)
        self._audit(request, obj, "updated" if change else "created", audit_diff(before, after) if change else after)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        m2m = [name for name in getattr(form, "changed_data", []) or []
               if any(f.name == name and f.many_to_many for f in form.instance._meta.get_fields())]
        if m2m:
            self._audit(request, form.instance, "updated", _field_values(form.instance, m2m))

    def delete_model(self, request, obj):
        self._audit(request, obj, "deleted", {"repr": str(obj)})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # Bulk "delete selected": one entry per row, in the same transaction as the delete, and
        # only for the rows the base admin will really delete (those of stores the user may write).
        writable_store_ids = getattr(self, "writable_store_ids", None)
        store_ids = writable_store_ids(request) if writable_store_ids else None
        audited = queryset if store_ids is None else queryset.filter(**{f"{self.store_field}__in": store_ids})
        for obj in audited:
            self._audit(request, obj, "deleted", {"repr": str(obj)})
        super().delete_queryset(request, queryset)
