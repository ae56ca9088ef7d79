"""GET/PUT …/features: ``{flag: true|false}``, one boolean per flag of features.registry (the schema names each)."""

from rest_framework import serializers

from .registry import FLAGS, REGISTRY


def _fields(required: bool) -> dict:
    return {flag.name: serializers.BooleanField(required=required, help_text=flag.description
                                                + (" Platform-wide." if flag.platform_only else ""))
            for flag in FLAGS}


class FeaturesInput(serializers.Serializer):
    """The flags to set, each true or false (JSON booleans); those left out stay as they are."""

    def get_fields(self):
        return _fields(required=False)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["An object of flag names and booleans."]})
        errors = {name: ["Unknown feature flag."] for name in data if name not in REGISTRY}
        errors.update({name: ["Must be true or false."] for name, value in data.items()
                       if name in REGISTRY and not isinstance(value, bool)})
        if errors:
            raise serializers.ValidationError(errors)
        return dict(data)


class FeaturesOutput(serializers.Serializer):
    """Every known flag's answer for the store: the platform's switch and the store's together."""

    def get_fields(self):
        return _fields(required=True)

    def to_representation(self, instance):
        return dict(instance)
