"""The OpenAPI document: valid OpenAPI 3, and in step with the routes the app really serves."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

IGNORED_METHODS = {"HEAD", "OPTIONS"}
PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def served_routes(app: Flask) -> dict[str, set[str]]:
    """Every URL rule except static, Perspective's (its discovery document describes those), Coral's (its contract,
    not ours) and the workspace page's (a page, not an API), in OpenAPI path syntax, with its methods."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(("perspective.", "coral.", "workspace.")):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes.setdefault(path, set()).update(m.lower() for m in (rule.methods or set()) - IGNORED_METHODS)
    return routes


def documented_routes(document: dict[str, Any]) -> dict[str, set[str]]:
    http_methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {path: set(item) & http_methods for path, item in document["paths"].items()}


def test_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_route_is_documented_with_its_methods(app: Flask, document: dict[str, Any]) -> None:
    served = served_routes(app)
    documented = documented_routes(document)
    assert served  # the app has routes at all
    for path, methods in served.items():
        assert path in documented, f"{path} is served but not documented"
        assert methods <= documented[path], f"{path}: served {methods}, documented {documented[path]}"


def test_every_documented_route_is_served(app: Flask, document: dict[str, Any]) -> None:
    served = served_routes(app)
    for path, methods in documented_routes(document).items():
        assert path in served, f"{path} is documented but not served"
        assert methods <= served[path], f"{path}: documented {methods}, served {served[path]}"


def test_the_contract_routes_are_there(document: dict[str, Any]) -> None:
    documented = documented_routes(document)
    expected = {
        "/v1/comments": {"post"},
        "/v1/comments/{comment_id}": {"get"},
        "/v1/score": {"post"},
        "/v1/queue": {"get"},
        "/v1/queue/stats": {"get"},
        "/v1/queue/{comment_id}/decision": {"post"},
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/metrics": {"get"},
        "/openapi.json": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= documented.get(path, set()), path


def test_protected_routes_declare_bearer_security(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    bearer = [
        name for name, scheme in schemes.items() if scheme.get("type") == "http" and scheme.get("scheme") == "bearer"
    ]
    assert bearer
    for path, item in document["paths"].items():
        for method, operation in item.items():
            security = operation.get("security", document.get("security")) or []
            names = {name for requirement in security for name in requirement}
            if path in PUBLIC_PATHS:
                assert not names, f"{method.upper()} {path} should need no key"
            else:
                assert names & set(bearer), f"{method.upper()} {path} does not declare bearer security"
                assert "401" in operation["responses"], f"{method.upper()} {path} does not document 401"
                assert "403" in operation["responses"], f"{method.upper()} {path} does not document 403"


def test_error_responses_use_the_error_schema(document: dict[str, Any]) -> None:
    """Every documented 4xx/5xx body is the one error object (readiness reports its checks instead)."""
    schemas = document["components"]["schemas"]
    wrong = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if not status.startswith(("4", "5")) or (path, status) == ("/readyz", "503"):
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                target = schemas.get(schema.get("$ref", "").rsplit("/", 1)[-1], {})
                if set(target.get("properties", {})) != {"error"}:
                    wrong.append(f"{method.upper()} {path} {status}: {schema}")
    assert not wrong, "\n".join(wrong)


def test_request_bodies_are_documented(document: dict[str, Any]) -> None:
    for path, method in (("/v1/comments", "post"), ("/v1/score", "post"), ("/v1/queue/{comment_id}/decision", "post")):
        body = document["paths"][path][method]["requestBody"]
        assert "application/json" in body["content"]
    comment_in = document["components"]["schemas"]["CommentIn"]
    assert {"id", "text"} <= set(comment_in["required"])
    assert {"id", "text", "thread_id", "author", "parent_id", "created_at", "metadata"} <= set(comment_in["properties"])


def test_the_queue_flag_lists_this_deployments_categories(app: Flask, document: dict[str, Any]) -> None:
    [flag] = [p for p in document["paths"]["/v1/queue"]["get"]["parameters"] if p["name"] == "flag"]
    assert flag["schema"]["enum"] == sorted(app.config["CATEGORIES"])
    assert "conspiracy" in flag["schema"]["enum"]
