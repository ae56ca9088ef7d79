"""Switching features on and off: the one writer of FeatureFlag rows, for the API (a store's flags, store.manage)
and the admin (platform flags: superusers; store flags: store.manage). Each change drops the cached switches
(features.flags) at once and after COMMIT, and makes the store's cached public pages stale (catalog's cache: a page
must not keep what a switched-off feature adds to it); a store's change is audited (``feature.changed``), a
platform change is logged and kept on its row (``updated_by``): the audit log belongs to stores."""

import functools
import logging

from django.db import transaction

from auditlog.services import audit_record
from config.api.errors import ValidationFailed
from stores.models import Store
from stores.services import store_public_pages_invalidate

from .flags import flags_cache_invalidate, flags_for, is_enabled
from .models import FeatureFlag
from .registry import REGISTRY

logger = logging.getLogger(__name__)


def _actor_label(actor) -> str:
    if actor is None or not getattr(actor, "pk", None):
        return "system"
    email = getattr(actor, "email", None)
    return email if email else f"apikey:{actor.pk}"


def feature_flag_check(*, name: str, store: Store | None, enabled: bool) -> None:
    """Raises ValidationFailed (400, details keyed by the flag's name) for an unknown flag, a platform-only flag
    given a store, or a store's flag switched on while the platform has it off."""
    flag = REGISTRY.get(name)
    if flag is None:
        raise ValidationFailed("Unknown feature flag.", **{name: [f"Unknown; known: {', '.join(REGISTRY)}."]})
    if store is None:
        return
    if flag.platform_only:
        raise ValidationFailed("A platform-wide flag.", **{name: ["Platform-wide: only the platform switches it."]})
    if enabled and not is_enabled(name):
        raise ValidationFailed("Switched off for the whole platform.",
                               **{name: ["Switched off for the whole platform: a store cannot switch it on."]})


def _changed(store: Store | None) -> None:
    store_id = None if store is None else store.pk
    flags_cache_invalidate(store_id)
    transaction.on_commit(functools.partial(flags_cache_invalidate, store_id))
    stores = [store] if store is not None else Store.objects.only("pk")  # a platform switch: every store's pages
    for each in stores:
        store_public_pages_invalidate(store=each)


@transaction.atomic
def feature_flag_set(*, name: str, enabled: bool, store: Store | None = None, actor=None) -> bool:
    """Switches ``name`` on or off for ``store`` (None: the platform). Returns whether anything changed (the same
    value again writes nothing). Raises ValidationFailed (400) as ``feature_flag_check`` says."""
    feature_flag_check(name=name, store=store, enabled=enabled)
    flag = REGISTRY[name]
    row = FeatureFlag.objects.select_for_update().filter(name=name, store=store).first()
    before = flag.default if row is None else row.enabled
    if row is not None and row.enabled == enabled:
        return False
    if row is None:
        row = FeatureFlag(name=name, store=store)
    row.enabled, row.updated_by = enabled, _actor_label(actor)[:255]
    row.save()
    if before == enabled:  # a row that states the default: nothing changes for anyone
        return False
    if store is not None:
        audit_record(store=store, actor=actor, action="feature.changed", target=row,
                     changes={"name": name, "enabled": [before, enabled]})
    else:
        logger.info("features: platform flag %s switched %s by %s", name, "on" if enabled else "off", row.updated_by)
    _changed(store)
    return True


@transaction.atomic
def feature_flag_reset(*, name: str, store: Store | None = None, actor=None) -> bool:
    """Back to the registry's default for ``store`` (None: the platform): its row is deleted. Returns whether the
    answer changed."""
    flag = REGISTRY.get(name)
    row = FeatureFlag.objects.select_for_update().filter(name=name, store=store).first()
    if row is None or flag is None:
        if row is not None:
            row.delete()
        return False
    row.delete()
    if row.enabled == flag.default:
        return False
    if store is not None:
        audit_record(store=store, actor=actor, action="feature.changed", object_type="features.featureflag",
                     object_id=name, changes={"name": name, "enabled": [row.enabled, flag.default]})
    else:
        logger.info("features: platform flag %s back to its default (%s) by %s", name,
                    "on" if flag.default else "off", _actor_label(actor))
    _changed(store)
    return True


@transaction.atomic
def store_features_set(*, store: Store, values: dict[str, bool], actor=None) -> None:
    """A store's switches from the API (PUT …/features): all or none. A platform-wide flag, or one the platform
    switched off, may be sent with the value the store already has (a client sending back what it read); any other
    value for them, or an unknown name, is 400 with every refusal in ``details``."""
    current = flags_for(store)
    problems: dict[str, list[str]] = {}
    changes = {}
    for name, enabled in values.items():
        if current.get(name) == enabled:
            continue  # what it is already (a platform-wide flag, one the platform switched off): nothing to do
        try:
            feature_flag_check(name=name, store=store, enabled=enabled)
        except ValidationFailed as exc:
            problems.update(exc.details)
            continue
        changes[name] = enabled
    if problems:
        raise ValidationFailed("Some flags cannot be set.", **problems)
    for name, enabled in changes.items():
        feature_flag_set(name=name, enabled=enabled, store=store, actor=actor)
