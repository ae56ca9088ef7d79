"""The contract's success and error envelopes, built in one place."""

from typing import Any

from django.utils import timezone


def now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


def success_body(data: Any, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if message:
        body["message"] = message
    body["timestamp"] = now_iso()
    return body


def error_body(code: str, message: str, details: dict | None = None) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details or {}},
        "timestamp": now_iso(),
    }
