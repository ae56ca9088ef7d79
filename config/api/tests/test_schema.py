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
