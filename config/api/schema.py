"""Makes the OpenAPI document describe the envelopes the renderer actually sends, and serves it."""

from drf_spectacular.views import SpectacularAPIView

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["success", "error", "timestamp"],
    "properties": {
        "success": {"type": "boolean", "example": False},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "VALIDATION_ERROR"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        },
        "timestamp": {"type": "string", "format": "date-time"},
    },
}


def _wrap(schema: dict) -> dict:
    return {
        "type": "object",
        "required": ["success", "data", "timestamp"],
        "properties": {
            "success": {"type": "boolean", "example": True},
            "data": schema,
            "message": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
        },
    }


def _is_envelope(schema: dict, components: dict) -> bool:
    """Paginated lists are whole envelopes already, often behind a $ref."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = components.get(ref.rsplit("/", 1)[1], {})
    return "success" in schema.get("properties", {})


def envelope_postprocessing_hook(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorEnvelope"] = ERROR_ENVELOPE
    error_ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    # Routes accept an optional trailing slash; the contract writes paths without one.
    result["paths"] = {
        (path.rstrip("/") if path not in {"/api/schema/", "/api/docs/"} else path): item
        for path, item in result.get("paths", {}).items()
    }
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/") or path.startswith("/api/v1/payments/webhooks/"):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if not content or not str(status).startswith("2"):
                    continue
                schema = content.get("schema", {})
                if not _is_envelope(schema, components):
                    content["schema"] = _wrap(schema)
            operation["responses"].setdefault(
                "default", {"description": "Error envelope", "content": {"application/json": {"schema": error_ref}}}
            )
    return result


class SchemaView(SpectacularAPIView):
    """The OpenAPI document: YAML, or JSON for ``Accept: application/json`` or ``?format=json``.

    The API leaves ``?format=`` to its endpoints (URL_FORMAT_OVERRIDE is None), so this view reads
    it itself, as drf-spectacular documents and schema tools expect; other values are ignored."""

    def get_format_suffix(self, **kwargs):
        requested = self.request.query_params.get("format")
        return requested if requested in {"json", "yaml"} else super().get_format_suffix(**kwargs)
