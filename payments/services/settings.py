"""A store's settings for each gateway: read with defaults, checked, updated with an audit row; whether a gateway is
configured (every setting it requires is set) and so offered at checkout.

Where they live: ``enabled`` and ``instructions`` are columns of GatewaySetting; a gateway's other public ``fields``
are in ``options`` (JSON); its ``secret_fields`` in ``secrets``, one JSON object encrypted as one value
(config.fields, AES-256-GCM). Credentials are write-only: answered masked (``config.fields.mask``), audited by name
only (``credentials_set`` / ``credentials_cleared``), never repeated in a refusal's message.
"""

import json

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction

from config.api.errors import NotFound, ValidationFailed
from config.db import rows_select
from config.fields import MASK, mask
from orders.events import audit
from plans.services import plan_limit_check

from ..gateways import REGISTRY, Gateway, gateway_get
from ..models import GatewaySetting

MAX_INSTRUCTIONS_LENGTH = 2000
MAX_OPTION_LENGTH = 255
MAX_SECRET_LENGTH = 1000
COLUMNS = ("enabled", "instructions")


# --- reading -----------------------------------------------------------------------
def _gateway(name) -> Gateway:
    gateway = gateway_get(name)
    if gateway is None:
        raise NotFound("No such payment gateway.")
    return gateway


def _default_setting(*, store, gateway: Gateway) -> GatewaySetting:
    return GatewaySetting(store=store, gateway=gateway.name, enabled=gateway.enabled_by_default, instructions="")


def gateway_setting_get(*, store, gateway: str) -> GatewaySetting:
    """The store's setting for ``gateway`` (unsaved defaults when it never changed them). NotFound (404) for a
    name no gateway has."""
    found = _gateway(gateway)
    # every checkout reads it: one fixed statement (config.db; the ORM's queryset cost 0.5 ms of the 10)
    saved = rows_select(GatewaySetting, "store_id = %s AND gateway = %s", [store.pk, found.name])
    return saved[0] if saved else _default_setting(store=store, gateway=found)


def gateway_settings_list(*, store) -> list[GatewaySetting]:
    """Every gateway's setting for the store, in registry order (unsaved defaults for those never changed); one
    query."""
    saved = {setting.gateway: setting for setting in GatewaySetting.objects.filter(store=store)}
    return [saved.get(name) or _default_setting(store=store, gateway=gateway) for name, gateway in REGISTRY.items()]


def _is_set(value) -> bool:
    return value not in ("", None)


def gateway_setting_configured(setting: GatewaySetting) -> bool:
    """Whether every setting the gateway requires is set (a public one or a credential); False for a row of a gateway
    no longer in the registry."""
    gateway = REGISTRY.get(setting.gateway)
    if gateway is None:
        return False
    secrets = setting.secrets_dict() if gateway.secret_fields else {}
    for name in gateway.required:
        if name in gateway.secret_fields:
            if not _is_set(secrets.get(name)):
                return False
        elif name in COLUMNS:
            if not _is_set(getattr(setting, name)):
                return False
        elif not _is_set(gateway.option(setting, name)):
            return False
    return True


def gateway_setting_offered(setting: GatewaySetting) -> bool:
    """Whether checkout may take this gateway: enabled and configured."""
    return setting.enabled and gateway_setting_configured(setting)


def gateways_offered(*, store) -> list[str]:
    """The names of the gateways the store offers at checkout (enabled and configured), in registry order."""
    return [setting.gateway for setting in gateway_settings_list(store=store) if gateway_setting_offered(setting)]


def gateway_setting_public(setting: GatewaySetting) -> dict:
    """The setting as a merchant may see it: each of the gateway's public settings (defaults filled in), then each
    credential masked ("" when unset)."""
    gateway = REGISTRY.get(setting.gateway)
    if gateway is None:
        return {"enabled": setting.enabled}
    values: dict = {}
    for name in gateway.fields:
        values[name] = getattr(setting, name) if name in COLUMNS else gateway.option(setting, name)
    secrets = setting.secrets_dict() if gateway.secret_fields else {}
    for name in gateway.secret_fields:
        values[name] = mask(secrets.get(name, ""))
    return values


def gateway_webhook_url(*, store, gateway: str, base_url: str = "") -> str:
    """The address to paste into the gateway's dashboard for this store (POST …/payments/webhooks/{gateway}/{store}):
    on PUBLIC_BASE_URL, else on ``base_url`` (the request's scheme and host); "" for a gateway that sends none."""
    found = _gateway(gateway)
    if found.offline:
        return ""
    base = (django_settings.PUBLIC_BASE_URL or base_url).rstrip("/")
    return f"{base}/api/v1/payments/webhooks/{found.name}/{store.slug}"


# --- checking ----------------------------------------------------------------------
def _text(value, *, limit: int) -> tuple[str | None, str]:
    """(cleaned, problem): text stripped, None meaning "" (cleared)."""
    if value is None:
        return "", ""
    if not isinstance(value, str):
        return None, "Must be text."
    value = value.strip()
    if len(value) > limit:
        return None, f"At most {limit} characters."
    return value, ""


def _public_value(gateway: Gateway, name: str, value) -> tuple[object, str]:
    if name == "enabled" or name in gateway.flags:
        return (value, "") if isinstance(value, bool) else (None, "Must be true or false.")
    if name in gateway.choices:
        allowed = gateway.choices[name]
        return (value, "") if value in allowed else (None, f"Must be one of: {', '.join(allowed)}.")
    limit = MAX_INSTRUCTIONS_LENGTH if name == "instructions" else MAX_OPTION_LENGTH
    return _text(value, limit=limit)


def _secret_value(value, *, saved: str | None) -> tuple[str | None, str]:
    """(cleaned, problem) for a credential: None (no problem) means "keep": the masked value as it was answered."""
    cleaned, problem = _text(value, limit=MAX_SECRET_LENGTH)
    if problem or cleaned is None:
        return None, problem or "Must be text."
    if cleaned.startswith(MASK):
        if saved is not None and cleaned == mask(saved):
            return None, ""
        return None, f'Send the credential itself ("{MASK}…" is how a saved one is shown).'
    return cleaned, ""


def gateway_setting_check(*, gateway: str, values: dict, saved: GatewaySetting | None = None) -> dict:
    """The values a store may set for ``gateway``, cleaned (the API and the admin both call this): names another
    gateway has or badly typed values are refused; a credential sent back as it was answered (masked) is left out
    (kept). ``saved`` is the store's current setting, if any. Raises NotFound (404) for an unknown gateway,
    ValidationFailed (400) naming each refused field (never repeating a credential)."""
    found = _gateway(gateway)
    saved_secrets = saved.secrets_dict() if saved is not None and found.secret_fields else {}
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for name, value in values.items():
        if name in found.secret_fields:
            value, problem = _secret_value(value, saved=saved_secrets.get(name) if saved is not None else None)
            if value is None and not problem:
                continue
        elif name in found.fields:
            value, problem = _public_value(found, name, value)
        else:
            value, problem = None, f"{found.label} has no such setting."
        if not problem and _is_set(value) and name not in COLUMNS:
            problem = found.value_problem(name, value)
        if problem:
            errors[name] = [problem]
        else:
            cleaned[name] = value
    if errors:
        raise ValidationFailed("Invalid gateway settings.", **errors)
    return cleaned


# --- writing -----------------------------------------------------------------------
def _locked_setting(*, store, gateway: Gateway) -> GatewaySetting:
    setting = GatewaySetting.objects.select_for_update().filter(store=store, gateway=gateway.name).first()
    if setting is None:
        try:
            with transaction.atomic():  # a concurrent first update may insert the row before us
                setting = _default_setting(store=store, gateway=gateway)
                setting.save()
        except IntegrityError:
            setting = GatewaySetting.objects.select_for_update().get(store=store, gateway=gateway.name)
    return setting


@transaction.atomic
def gateway_setting_update(*, store, gateway: str, actor=None, **values) -> GatewaySetting:
    """Sets what ``values`` names for the store's ``gateway``; the others keep their value (a credential: "" or
    None clears it). Writes one audit row naming what changed: public settings as [old, new], credentials by name
    only. Raises what gateway_setting_check raises, and PlanLimitReached (403) when switching on a card gateway
    would pass the plan's card_gateways; nothing changes then."""
    found = _gateway(gateway)
    setting = _locked_setting(store=store, gateway=found)
    cleaned = gateway_setting_check(gateway=found.name, values=values, saved=setting)
    if not found.offline and cleaned.get("enabled") and not setting.enabled:
        plan_limit_check(store=store, limit="card_gateways")
    changes: dict = {}
    options = dict(setting.options)
    secrets = setting.secrets_dict() if found.secret_fields else {}
    credentials_set, credentials_cleared = [], []
    for name, value in cleaned.items():
        if name in found.secret_fields:
            if value and secrets.get(name) != value:
                credentials_set.append(name)
                secrets[name] = value
            elif not value and secrets.pop(name, ""):
                credentials_cleared.append(name)
            continue
        old = getattr(setting, name) if name in COLUMNS else found.option(setting, name)
        if old != value:
            changes[name] = [old, value]
        if name in COLUMNS:
            setattr(setting, name, value)
        elif value == "":
            options.pop(name, None)
        else:
            options[name] = value
    setting.options = options
    setting.secrets = json.dumps(secrets, sort_keys=True) if secrets else ""
    setting.save()
    if credentials_set:
        changes["credentials_set"] = credentials_set
    if credentials_cleared:
        changes["credentials_cleared"] = credentials_cleared
    if changes:
        audit(store=store, actor=actor, action="payment_gateway.updated", target=setting,
              changes={"gateway": found.name, **changes})
    return setting
