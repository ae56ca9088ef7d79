"""The answer's envelope, read in API tests: ``data`` of a success, ``error`` of a failure."""


def data(response):
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


def error(response):
    body = response.json()
    assert body["success"] is False, body
    return body["error"]
