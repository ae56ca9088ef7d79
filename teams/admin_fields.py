"""Form fields the admin shares: names and values edited as rows (a variant's options, a product's attributes)
instead of raw JSON, and amounts shown with the store currency's places."""

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import zip_longest

from django import forms
from django.core.exceptions import ValidationError

from config.api.errors import DomainError
from config.money import DECIMAL_PLACES, currency_places, money_fits, money_round

Pairs = list[tuple[str, str]]


def value_text(value) -> str:
    """How a value is shown in a row: text as it is, anything else (set through the API) as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class KeyValueWidget(forms.Widget):
    """Rows of a key input and a value input, with a blank row to add one; `teams/key_value.js` adds the
    "Add" and remove buttons (no JavaScript: fill the blank row, clear a row to remove it). Posts
    ``<name>_key`` and ``<name>_value`` once per row, in order."""

    template_name = "teams/widgets/key_value.html"
    key_placeholder = "name"
    value_placeholder = "value"

    class Media:
        js = ["teams/key_value.js"]
        css = {"all": ["teams/key_value.css"]}

    def __init__(self, attrs=None, *, key_placeholder: str | None = None, value_placeholder: str | None = None):
        super().__init__(attrs)
        self.key_placeholder = key_placeholder or self.key_placeholder
        self.value_placeholder = value_placeholder or self.value_placeholder

    def format_value(self, value) -> Pairs:
        if value in (None, ""):
            return []
        if isinstance(value, str):  # a JSON text (a form's initial from elsewhere)
            try:
                value = json.loads(value)
            except ValueError:
                return []
        if isinstance(value, dict):
            return [(str(key), value_text(item)) for key, item in value.items()]
        return [(str(key), str(item)) for key, item in value]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = [*context["widget"]["value"], ("", "")]  # and a blank row to fill in
        from unfold.widgets import BASE_INPUT_CLASSES

        context["widget"].update({
            "rows": rows, "input_class": " ".join(BASE_INPUT_CLASSES),
            "key_placeholder": self.key_placeholder, "value_placeholder": self.value_placeholder,
        })
        return context

    def value_from_datadict(self, data, files, name) -> Pairs | None:
        if self.value_omitted_from_data(data, files, name):
            return None  # not on the page that posted: not a change (KeyValueField.has_changed)
        keys, values = _getlist(data, f"{name}_key"), _getlist(data, f"{name}_value")
        return [(key or "", value or "") for key, value in zip_longest(keys, values)]

    def value_omitted_from_data(self, data, files, name) -> bool:
        return f"{name}_key" not in data and f"{name}_value" not in data

    def id_for_label(self, id_):
        return f"{id_}_key_0" if id_ else id_


def _getlist(data, name: str) -> list:
    if hasattr(data, "getlist"):
        return data.getlist(name)
    value = data.get(name)
    return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]


class KeyValueField(forms.Field):
    """A JSON object edited as rows of key and value (KeyValueWidget). Keys and values are stripped, blank rows
    left out, a key on two rows refused; then ``check`` (the service's rule for the object, raising its
    DomainError) decides the rest, so the admin refuses what the API refuses, with the same words."""

    widget = KeyValueWidget
    default_error_messages = {
        "duplicate": "The key “%(key)s” is on more than one row: give each row its own key.",
    }

    def __init__(self, *, check: Callable[[dict], None] | None = None, **kwargs) -> None:
        kwargs.setdefault("required", False)
        self.check = check
        super().__init__(**kwargs)

    def to_python(self, value) -> dict:
        if value in (None, ""):
            return {}
        if isinstance(value, dict):
            return value
        result: dict = {}
        for key, item in value:
            key, item = (key or "").strip(), (item or "").strip()
            if not key and not item:
                continue  # a blank row
            if key in result and key:
                raise ValidationError(self.error_messages["duplicate"], code="duplicate", params={"key": key})
            result.setdefault(key, item)  # an empty key: the check names it
        return result

    def validate(self, value) -> None:
        super().validate(value)
        if self.check is not None:
            try:
                self.check(value)
            except DomainError as exc:
                raise ValidationError(exc.message, code=exc.code) from None

    @staticmethod
    def keep_unedited(value: dict, initial) -> dict:
        """``value`` with the values that are not text in ``initial`` (a number or a list set through the API)
        kept as they were where their row still shows them unedited."""
        if not isinstance(initial, dict):
            return value
        return {key: initial[key] if key in initial and not isinstance(initial[key], str)
                and item == value_text(initial[key]) else item for key, item in value.items()}

    def has_changed(self, initial, data) -> bool:
        if self.disabled or data is None:
            return False
        try:
            value = self.keep_unedited(self.to_python(data), initial)
        except ValidationError:
            return True
        return value != (initial or {})


# --- money ---------------------------------------------------------------------------------------------------
def money_inputs_localize(form: forms.BaseForm, *, currency: str | None, names: Iterable[str]) -> None:
    """Shows the amounts ``names`` of ``form`` with ``currency``'s places (a USD price 12.50, not the column's
    12.500) and lets their inputs step by its minor unit. Without a currency (a new row whose store is not known
    yet) the column's places stay. The places a value may have are the service's check (the API's rule)."""
    places = currency_places(currency) if currency else DECIMAL_PLACES
    for name in names:
        field = form.fields.get(name)
        if field is None:
            continue
        field.widget.attrs["inputmode"] = "decimal"
        if getattr(field.widget, "input_type", "") == "number":
            field.widget.attrs["step"] = str(Decimal(1).scaleb(-places))
        initial = form.initial.get(name)
        if currency and isinstance(initial, Decimal) and money_fits(initial, currency):
            form.initial[name] = money_round(initial, currency)
