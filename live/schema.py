"""GET /api/v1/stream in the OpenAPI document: a plain async Django view (DRF views cannot be async), so
drf-spectacular does not find it; this hook (SPECTACULAR_SETTINGS, before the envelope hook) describes it."""

ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}


def _query(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", **schema}}


STREAM = {
    "operationId": "stream_read",
    "tags": ["live"],
    "summary": "Live updates as Server-Sent Events (served by the ASGI server; README \"Live updates\")",
    "description": (
        "A text/event-stream of the caller's events: a member's stores' events (the webhook payload) and in-app "
        "notifications; a customer's or guest's own order (status and payment only). Each event has an `id`; "
        "`Last-Event-ID` (or `?last_event_id=`) replays what was missed within LIVE_RESUME_SECONDS, else the "
        "stream sends `resync`. Heartbeat comments every LIVE_HEARTBEAT_SECONDS. Under the WSGI server it answers "
        "307 to LIVE_STREAM_URL, or 503."),
    "parameters": [
        _query("ticket", "A ticket from POST /api/v1/stream/ticket (EventSource cannot send headers)."),
        _query("cart", "A guest's anonymous cart id (its bearer token).", format="uuid"),
        _query("last_event_id", "Where to resume, for a new EventSource (else the Last-Event-ID header)."),
        {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"},
         "description": "Sent by EventSource when it reconnects."},
    ],
    "security": [{"jwtAuth": []}, {}],
    "responses": {
        "200": {"description": "The stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
        "307": {"description": "Under the WSGI server with LIVE_STREAM_URL set: the ASGI server's stream"},
        "401": {"description": "AUTHENTICATION_REQUIRED, or INVALID_TOKEN (ticket or JWT)", **ERROR},
        "404": {"description": "NOT_FOUND: no such anonymous cart", **ERROR},
        "405": {"description": "METHOD_NOT_ALLOWED", **ERROR},
        "503": {"description": "SERVICE_UNAVAILABLE: under the WSGI server without LIVE_STREAM_URL, the channel "
                               "unreadable or the process full (Retry-After)", **ERROR},
    },
}


def stream_path_hook(result, generator, request, public):
    result.setdefault("paths", {})["/api/v1/stream"] = {"get": STREAM}
    return result
