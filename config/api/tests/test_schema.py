"""The OpenAPI document as a whole: a valid OpenAPI 3 document that lists every /api/v1/ route."""

import json
import re

import pytest
from openapi_spec_validator import validate

from tests.isolation import all_routes


@pytest.fixture
def document(api, db):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def _template(path: str) -> str:
    """A path with its parameters unnamed and no trailing slash: the URL conf's kwarg may be
    ``pk`` where the document says ``{id}``."""
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


def _route_template(regex: str) -> str:
    path = re.sub(r"\(\?P<\w+>(?:[^()]|\([^()]*\))*\)", "{}", regex)
    return "/" + path.replace("^", "").replace("$", "").replace("/?", "").replace("\\", "").rstrip("/")


def test_the_document_is_valid_openapi(document):
    assert document["openapi"].startswith("3.")
    validate(document)  # raises OpenAPIValidationError, naming the offending node


def test_format_json_is_json_and_the_default_stays_yaml(api, db):
    assert api.get("/api/schema/?format=json")["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert api.get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")
    assert api.get("/api/schema/").content.startswith(b"openapi:")


def test_every_api_v1_route_is_in_the_document(document):
    documented = {_template(path) for path in document["paths"]}
    routes = {_route_template(route.regex) for route in all_routes() if route.regex.startswith("api/v1/")}
    assert len(routes) > 20
    missing = sorted(routes - documented)
    assert not missing, f"Routes the OpenAPI document does not describe: {missing}"


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _answer(document, path, method, status="200"):
    return document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_a_store_is_answered_in_the_public_or_the_member_shape(document):
    envelope = _resolve(document, _answer(document, "/api/v1/stores/{store}", "get"))
    shapes = [_resolve(document, shape) for shape in _resolve(document, envelope["properties"]["data"])["oneOf"]]
    assert [set(shape["properties"]) >= {"role", "permissions"} for shape in shapes] == [True, False]
    assert all(shape["additionalProperties"] is False for shape in shapes)  # exactly one matches


def test_categories_are_a_page_or_the_tree(document):
    page, tree = (_resolve(document, shape) for shape in
                  _resolve(document, _answer(document, "/api/v1/stores/{store}/categories", "get"))["oneOf"])
    assert "pagination" in page["required"] and "pagination" not in tree["properties"]
    node = _resolve(document, tree["properties"]["data"]["items"])
    assert node["properties"]["children"]["items"] == {"$ref": "#/components/schemas/CategoryTreeOutput"}


def test_envelopes_are_shared_components(document):
    answers = [answer["content"]["application/json"]["schema"]
               for path, operations in document["paths"].items() for operation in operations.values()
               for status, answer in operation["responses"].items()
               if status.startswith("2") and "application/json" in answer.get("content", {})
               and not path.startswith("/api/v1/payments/webhooks/")]  # answered in each gateway's own form
    assert len(answers) > 100
    assert all("$ref" in schema for schema in answers), "an inline envelope: one client class per operation"
    assert len({schema["$ref"] for schema in answers}) < len(answers) * 0.7


def test_operations_have_readable_ids_and_one_tag_each(document):
    operations = [operation for operations in document["paths"].values() for operation in operations.values()]
    ids = [operation["operationId"] for operation in operations]
    assert len(ids) == len(set(ids))
    assert {"products_list", "stores_retrieve", "categories_list", "carts_items_create", "products_publish",
            "auth_login", "checkout"} <= set(ids)
    assert not [name for name in ids if name.startswith("v1_")]
    assert all(len(operation["tags"]) == 1 for operation in operations)
    assert {operation["tags"][0] for operation in operations} >= {"catalog", "orders", "payments", "stores", "teams"}


def test_public_operations_declare_no_security_and_the_api_key_scheme_is_declared(document):
    assert document["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key"}
    paths = document["paths"]
    for path, method in [("/api/v1/stores/{store}", "get"), ("/api/v1/stores/{store}/products", "get"),
                         ("/api/v1/stores/{store}/carts", "post"), ("/api/v1/auth/login", "post")]:
        assert "security" not in paths[path][method], (method, path)
    assert paths["/api/v1/stores/{store}/products"]["post"]["security"] == [{"jwtAuth": []}, {"ApiKeyAuth": []}]
    assert paths["/api/v1/stores"]["post"]["security"] == [{"jwtAuth": []}]  # a key cannot create a store
