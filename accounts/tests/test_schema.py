import json

import pytest

AUTH_POSTS = ["register", "login", "refresh", "logout", "verify-email", "password/reset", "password/reset/confirm",
              "2fa/confirm", "2fa/disable"]


@pytest.fixture
def schema(api, db):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return json.loads(response.content)


def resolve(schema, node):
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        node = schema["components"]["schemas"][name]
    return node


@pytest.mark.parametrize("name", AUTH_POSTS)
def test_every_auth_post_documents_its_request_body(schema, name):
    operation = schema["paths"][f"/api/v1/auth/{name}"]["post"]
    body = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert body["properties"]


@pytest.mark.parametrize(
    "path, method, status, fields",
    [
        ("register", "post", "201", {"user", "access", "refresh"}),
        ("login", "post", "200", {"user", "access", "refresh"}),
        ("refresh", "post", "200", {"access", "refresh"}),
        ("me", "get", "200", {"id", "email", "name", "email_verified", "two_factor_enabled", "date_joined"}),
        ("me", "patch", "200", {"id", "email", "name"}),
        ("permissions", "get", "200", {"stores"}),
        ("verify-email", "post", "200", {"email_verified"}),
        ("password/reset", "post", "202", {"detail"}),
        ("password/reset/confirm", "post", "200", {"detail"}),
        ("2fa/setup", "post", "200", {"secret", "otpauth_uri"}),
        ("2fa/confirm", "post", "200", {"two_factor_enabled"}),
        ("2fa/disable", "post", "200", {"two_factor_enabled"}),
    ],
)
def test_responses_are_described_inside_the_envelope(schema, path, method, status, fields):
    response = schema["paths"][f"/api/v1/auth/{path}"][method]["responses"][status]
    envelope = resolve(schema, response["content"]["application/json"]["schema"])
    assert set(envelope["required"]) >= {"success", "data", "timestamp"}
    data = resolve(schema, envelope["properties"]["data"])
    assert fields <= set(data["properties"])


def test_logout_is_204_and_errors_use_the_error_envelope(schema):
    logout = schema["paths"]["/api/v1/auth/logout"]["post"]["responses"]
    assert "204" in logout
    assert logout["default"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}


def test_authenticated_endpoints_declare_bearer_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    bearer = next(name for name, scheme in schemes.items() if scheme.get("scheme") == "bearer")
    assert {bearer: []} in schema["paths"]["/api/v1/auth/me"]["get"]["security"]
    assert not schema["paths"]["/api/v1/auth/login"]["post"].get("security")  # public: no requirement
