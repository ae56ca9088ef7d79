"""Assertions on the contract's envelopes."""

from django.utils.dateparse import parse_datetime


def assert_error(response, status: int, code: str) -> dict:
    """The answer is the error envelope with this status and code, without a traceback; returns ``error``."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    assert b"Traceback" not in response.content
    body = response.json()
    assert set(body) == {"success", "error", "timestamp"}, body
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert parse_datetime(body["timestamp"]) is not None
    return body["error"]


def assert_success(response, status: int = 200):
    """The answer is the success envelope with this status; returns ``data``."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert body["success"] is True
    assert "data" in body
    assert parse_datetime(body["timestamp"]) is not None
    return body["data"]


def bearer(access: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}
