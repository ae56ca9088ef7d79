"""Audit entries for saves and deletes made in the admin (the merchant dashboard)."""

from django.db import models, transaction

from config.api.actor import request_actor

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

    ``StoreScopedAdmin`` already has it in its bases; it uses ``store_field`` to find the store and
    writes in the admin's own transaction. Rows with no store are not audited; a save that changes
    nothing writes nothing. Inline rows saved by the admin are recorded on the parent
    (``admin.<parent>.updated`` with ``{<inline model>: {added, changed, removed}}``).

    An admin whose saves and deletes all go through services that audit themselves sets
    ``audited_by_services = True``: the mixin then writes nothing, so each change is logged once.
    """

    store_field = "store"
    audited_by_services = False

    def _audit(self, request, obj, verb: str, changes: dict) -> None:
        if self.audited_by_services:
            return
        store = admin_object_store(obj, self.store_field)
        if store is None:
            return
        audit_record(
            store=store, actor=request_actor(request), action=f"admin.{obj._meta.model_name}.{verb}",
            target=obj, changes=changes,
        )

    def save_model(self, request, obj, form, change):
        if self.audited_by_services:
            super().save_model(request, obj, form, change)
            return
        changed = list(getattr(form, "changed_data", []) or [])
        before = {}
        if change and obj.pk:
            original = type(obj)._default_manager.filter(pk=obj.pk).first()
            if original is not None:
                before = _field_values(original, changed)
        super().save_model(request, obj, form, change)
        after = _field_values(obj, changed)
        if not change:
            self._audit(request, obj, "created", after)
        elif diff := audit_diff(before, after):
            self._audit(request, obj, "updated", diff)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if self.audited_by_services:
            return
        m2m = [name for name in getattr(form, "changed_data", []) or []
               if any(f.name == name and f.many_to_many for f in form.instance._meta.get_fields())]
        changes = _field_values(form.instance, m2m) if m2m else {}
        for formset in formsets:
            summary = _inline_summary(formset)
            if summary:
                changes[formset.model._meta.model_name] = summary
        if changes:
            self._audit(request, form.instance, "updated", changes)

    def delete_model(self, request, obj):
        self._audit(request, obj, "deleted", {"repr": str(obj)})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # Bulk "delete selected": one entry per row, in the same transaction as the delete, and
        # only for the rows the base admin will really delete (those of stores the user may write).
        with transaction.atomic(using=queryset.db):
            if not self.audited_by_services:
                writable_store_ids = getattr(self, "writable_store_ids", None)
                store_ids = writable_store_ids(request) if writable_store_ids else None
                audited = queryset if store_ids is None else queryset.filter(**{f"{self.store_field}__in": store_ids})
                for obj in audited:
                    self._audit(request, obj, "deleted", {"repr": str(obj)})
            super().delete_queryset(request, queryset)


def _inline_summary(formset) -> dict:
    """What ``formset.save()`` did: pks added, {pk: {field: new value}} changed, reprs removed."""
    summary = {
        "added": [obj.pk for obj in getattr(formset, "new_objects", None) or []],
        "changed": {str(obj.pk): _field_values(obj, fields) for obj, fields in getattr(formset, "changed_objects",
                                                                                          None) or []},
        "removed": [str(obj) for obj in getattr(formset, "deleted_objects", None) or []],
    }
    return {key: value for key, value in summary.items() if value}
