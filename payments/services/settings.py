"""A store's settings for each gateway: read with defaults, checked, updated with an audit row."""

from django.db import IntegrityError, transaction

from config.api.errors import NotFound, ValidationFailed
from orders.events import audit

from ..gateways import REGISTRY, Gateway, gateway_get
from ..models import GatewaySetting

MAX_INSTRUCTIONS_LENGTH = 2000


# --- gateway settings ------------------------------------------------------------
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
    setting = GatewaySetting.objects.filter(store=store, gateway=found.name).first()
    return setting or _default_setting(store=store, gateway=found)


def gateway_setting_check(*, gateway: str, values: dict) -> dict:
    """The values a store may set for ``gateway``, cleaned (the API and the admin both call this). Raises NotFound
    (404) for an unknown gateway, ValidationFailed (400) naming each field another gateway's or badly typed."""
    found = _gateway(gateway)
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for name, value in values.items():
        if name not in found.fields:
            errors[name] = [f"{found.label} has no such setting."]
        elif name == "enabled":
            if not isinstance(value, bool):
                errors[name] = ["Must be true or false."]
            else:
                cleaned[name] = value
        elif name == "instructions":
            if not isinstance(value, str):
                errors[name] = ["Must be text."]
            elif len(value.strip()) > MAX_INSTRUCTIONS_LENGTH:
                errors[name] = [f"At most {MAX_INSTRUCTIONS_LENGTH} characters."]
            else:
                cleaned[name] = value.strip()
    if errors:
        raise ValidationFailed("Invalid gateway settings.", **errors)
    return cleaned


@transaction.atomic
def gateway_setting_update(*, store, gateway: str, actor=None, **values) -> GatewaySetting:
    """Sets what ``values`` names for the store's ``gateway`` (the others keep their value) and writes an audit
    row. Raises what gateway_setting_check raises; nothing changes then."""
    cleaned = gateway_setting_check(gateway=gateway, values=values)
    found = _gateway(gateway)
    setting = GatewaySetting.objects.select_for_update().filter(store=store, gateway=found.name).first()
    if setting is None:
        try:
            with transaction.atomic():  # a concurrent first update may insert the row before us
                setting = _default_setting(store=store, gateway=found)
                setting.save()
        except IntegrityError:
            setting = GatewaySetting.objects.select_for_update().get(store=store, gateway=found.name)
    changes = {name: [getattr(setting, name), value] for name, value in cleaned.items()
               if getattr(setting, name) != value}
    for name, value in cleaned.items():
        setattr(setting, name, value)
    setting.save()
    if changes:
        audit(store=store, actor=actor, action="payment_gateway.updated", target=setting,
              changes={"gateway": found.name, **changes})
    return setting


def gateways_offered(*, store) -> list[str]:
    """The names of the gateways the store offers at checkout, in registry order."""
    saved = dict(GatewaySetting.objects.filter(store=store).values_list("gateway", "enabled"))
    return [name for name, gateway in REGISTRY.items() if saved.get(name, gateway.enabled_by_default)]
