"""The OpenAPI document: operation names, tags and security per operation, and the envelopes the renderer
actually sends, as reusable components.

Every success answer is ``{success, data, message?, timestamp}`` (lists add ``pagination``) and every error
``{success: false, error, timestamp}`` (config/api/envelope.py). Views describe ``data`` only; the
postprocessing hook wraps it in one component per data shape (``XEnvelope`` for a component ``X``,
``XListEnvelope`` for a list of them, ``PaginatedXList`` for a page), so a generated client has one class per
shape, not one per operation. An answer of more than one shape is a ``oneOf`` of envelopes (``answer_of``)."""

import re

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_serializer
from rest_framework import serializers

SCHEMAS = "#/components/schemas/"

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["success", "error", "timestamp"],
    "properties": {
        "success": {"type": "boolean", "example": False},
        "error": {"$ref": SCHEMAS + "Error"},
        "timestamp": {"type": "string", "format": "date-time"},
    },
}
ERROR = {
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "string", "example": "VALIDATION_ERROR"},
        "message": {"type": "string"},
        "details": {"type": "object", "additionalProperties": True},
    },
}
PAGINATION = {
    "type": "object",
    "required": ["page", "limit", "total", "totalPages"],
    "properties": {
        "page": {"type": "integer", "example": 1},
        "limit": {"type": "integer", "example": 20},
        "total": {"type": "integer", "example": 150},
        "totalPages": {"type": "integer", "example": 8},
    },
}

# Security requirements for actions that anyone may reach but that refuse anonymous callers (401), for
# extend_schema(auth=...): a user's token only (a key acts for a store, not a user), or a token or a key.
USER_ONLY = [{"jwtAuth": []}]
SIGNED_IN = [{"jwtAuth": []}, {"ApiKeyAuth": []}]

# One tag per area: the app a view lives in.
AREAS = {"config": "system", "auditlog": "audit"}
STANDARD_ACTIONS = {"list", "retrieve", "create", "update", "partial_update", "destroy"}


def envelope(data: dict, *, paginated: bool = False) -> dict:
    """The success envelope around a ``data`` schema."""
    properties = {"success": {"type": "boolean", "example": True}, "data": data}
    required = ["success", "data", "timestamp"]
    if paginated:
        properties["pagination"] = {"$ref": SCHEMAS + "Pagination"}
        required.insert(2, "pagination")
    else:
        properties["message"] = {"type": "string"}
    properties["timestamp"] = {"type": "string", "format": "date-time"}
    return {"type": "object", "required": required, "properties": properties}


def enveloped(serializer, *, name: str, paginated: bool = False):
    """A serializer whose schema is the envelope around ``serializer`` (a branch of ``answer_of``): ``name`` is
    its component's name."""

    class Envelope(serializers.Serializer):
        success = serializers.BooleanField()
        data = serializer
        if paginated:
            pagination = _PaginationOutput()
        timestamp = serializers.DateTimeField()

    Envelope.__name__ = Envelope.__qualname__ = name
    return extend_schema_serializer(component_name=name)(Envelope)


class _PaginationOutput(serializers.Serializer):
    """The ``Pagination`` component (the hook writes it as PAGINATION, with examples)."""

    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    totalPages = serializers.IntegerField()  # noqa: N815 (the contract's name)

    class Meta:
        ref_name = "Pagination"


def answer_of(name: str, *shapes) -> PolymorphicProxySerializer:
    """An answer that takes one of several shapes (serializers, or whole envelopes from ``enveloped``), as a
    ``oneOf`` component ``name``; a client tries them in order, so the shape with the most required fields
    comes first."""
    return PolymorphicProxySerializer(component_name=name, serializers=list(shapes), resource_type_field_name=None,
                                      many=False)


class AutoSchema(BaseAutoSchema):
    """Readable operation ids (``products_publish``, ``carts_items_create``), one tag per area, and no security
    requirement on what anyone may call."""

    def get_tags(self) -> list[str]:
        app = self.view.__class__.__module__.split(".")[0]
        return [AREAS.get(app, app)]

    def get_operation_id(self) -> str:
        tokens = [token.replace("-", "_") for token in self._tokenize_path()]
        if tokens[:1] == ["v1"]:
            tokens = tokens[1:]
        if tokens[:1] == ["stores"] and "{store}" in self.path and len(tokens) > 1:
            tokens = tokens[1:]  # the store's own resources are named by what they are
        verb = "list" if self.method == "GET" and self._is_list_view() else self.method_mapping[self.method.lower()]
        if self.method == "POST" and self._is_single_post_action():
            return "_".join(tokens)  # products_publish, auth_login, checkout
        return "_".join([*tokens, verb])

    def _is_single_post_action(self) -> bool:
        action = getattr(self.view, "action", None)
        if action is not None:
            methods = [method for method, name in (getattr(self.view, "action_map", None) or {}).items()
                       if name == action]
            return action not in STANDARD_ACTIONS and methods == ["post"]
        handlers = [method for method in self.view.http_method_names
                    if method not in {"options", "head"} and hasattr(self.view, method)]
        return handlers == ["post"]

    def get_auth(self) -> list[dict]:
        requirements = super().get_auth()  # also registers the schemes
        if {} in requirements and self._is_public():
            return []
        return [requirement for requirement in requirements if requirement]

    def _is_public(self) -> bool:
        required_permission = getattr(self.view, "required_permission", None)
        if required_permission is None:
            return True  # AllowAny, and no store scoping
        try:
            return required_permission() is None  # the store-scoped rule (teams/scoping.py)
        except (AttributeError, KeyError):
            return False


def _component_name(schema: dict) -> str | None:
    ref = schema.get("$ref", "")
    return ref[len(SCHEMAS):] if ref.startswith(SCHEMAS) else None


def _pascal(operation_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", operation_id) if part)


class _Envelopes:
    """Wraps answers' ``data`` schemas in envelope components, one per data shape."""

    def __init__(self, components: dict):
        self.components = components

    def is_envelope(self, schema: dict) -> bool:
        name = _component_name(schema)
        if name is not None:
            schema = self.components.get(name, {})
        if "oneOf" in schema:
            return all(self.is_envelope(branch) for branch in schema["oneOf"])
        return "success" in schema.get("properties", {})

    def wrap(self, data: dict, operation_id: str) -> dict:
        name = _component_name(data)
        items = data.get("items", {}) if data.get("type") == "array" else {}
        if name is not None:
            envelope_name = f"{name}Envelope"
        elif _component_name(items) is not None:
            envelope_name = f"{_component_name(items)}ListEnvelope"
        elif data in ({}, {"type": "object", "additionalProperties": {}}):
            envelope_name, data = "Envelope", {}
        else:
            envelope_name = f"{_pascal(operation_id)}Envelope"
        self.components.setdefault(envelope_name, envelope(data))
        return {"$ref": SCHEMAS + envelope_name}


def _close_one_of_branches(components: dict) -> None:
    """The shapes of an answer of several shapes admit no other fields, so an answer matches exactly one of
    them (the public store is a part of the member's)."""
    for component in list(components.values()):
        for branch in component.get("oneOf", []):
            target = components.get(_component_name(branch) or "", {})
            if target.get("type") == "object":
                target["additionalProperties"] = False


def envelope_postprocessing_hook(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorEnvelope"] = ERROR_ENVELOPE
    components["Error"] = ERROR
    components["Pagination"] = PAGINATION
    error_answer = {"description": "Error envelope",
                    "content": {"application/json": {"schema": {"$ref": SCHEMAS + "ErrorEnvelope"}}}}
    envelopes = _Envelopes(components)
    _close_one_of_branches(components)
    # Routes accept an optional trailing slash; the contract writes paths without one.
    result["paths"] = {
        (path.rstrip("/") if path not in {"/api/schema/", "/api/docs/"} else path): item
        for path, item in result.get("paths", {}).items()
    }
    for path, operations in result["paths"].items():
        if not path.startswith("/api/"):
            continue
        gateway_webhook = path.startswith("/api/v1/payments/webhooks/")  # answered in the gateway's own form
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if gateway_webhook or not content or not str(status).startswith("2"):
                    continue
                schema = content.get("schema", {})
                if not envelopes.is_envelope(schema):
                    content["schema"] = envelopes.wrap(schema, operation["operationId"])
            operation["responses"].setdefault("default", error_answer)
    return result

