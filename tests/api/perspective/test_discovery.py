"""The discovery document: this server's own, built from its routes and schemas."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from tests.conftest import SECRETS

DISCOVERY = "/$discovery/rest?version=v1alpha1"


def document(client: FlaskClient, url: str = DISCOVERY) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    found: dict[str, Any] = response.get_json()
    return found


def test_the_document_names_this_server(client: FlaskClient) -> None:
    found = document(client)
    assert found["rootUrl"] == found["baseUrl"] == found["mtlsRootUrl"] == "http://localhost/"
    assert found["servicePath"] == ""
    assert found["batchPath"] == "batch"
    assert found["id"] == "commentanalyzer:v1alpha1"


def test_under_a_prefix_the_document_names_the_prefix(client: FlaskClient) -> None:
    assert document(client, f"/tenant-a/perspective{DISCOVERY}")["rootUrl"] == "http://localhost/tenant-a/perspective/"


def test_a_percent_encoded_dollar_reaches_the_document(client: FlaskClient) -> None:
    assert document(client, "/%24discovery/rest?version=v1alpha1")["name"] == "commentanalyzer"


def test_the_public_url_setting_wins(env: dict[str, str]) -> None:
    app: Flask = create_app({**env, "MODERATION_PUBLIC_URL": "https://moderation.example.org/perspective"})
    found = document(app.test_client())
    assert found["rootUrl"] == "https://moderation.example.org/perspective/"


def test_its_methods_are_the_routes_this_server_answers(client: FlaskClient, app: Flask) -> None:
    methods = document(client)["resources"]["comments"]["methods"]
    assert {m["path"] for m in methods.values()} == {"v1alpha1/comments:analyze", "v1alpha1/comments:suggestscore"}
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for method in methods.values():
        assert f"/{method['path']}" in rules
        assert method["httpMethod"] == "POST"
        assert method["scopes"] == ["https://www.googleapis.com/auth/userinfo.email"]


def test_its_schemas_cover_every_reference(client: FlaskClient) -> None:
    found = document(client)
    schemas = found["schemas"]

    def references(node: object) -> set[str]:
        if isinstance(node, dict):
            own = {node["$ref"]} if "$ref" in node else set()
            return own.union(*(references(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(references(v) for v in node))
        return set()

    assert references(found) <= set(schemas)
    request = schemas["AnalyzeCommentRequest"]["properties"]
    assert request["requestedAttributes"] == {
        "type": "object",
        "additionalProperties": {"$ref": "AttributeParameters"},
        "description": request["requestedAttributes"]["description"],
    }
    assert "dropUnsupportedAttributes" in request
    assert schemas["SpanScore"]["properties"]["begin"]["type"] == "integer"


def test_the_key_on_the_discovery_fetch_is_checked_when_given(client: FlaskClient) -> None:
    assert client.get(f"{DISCOVERY}&key={SECRETS['submitter']}").status_code == 200
    response = client.get(f"{DISCOVERY}&key=not-a-key")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_the_legacy_discovery_path_answers_too(client: FlaskClient) -> None:
    assert document(client, "/discovery/v1/apis/commentanalyzer/v1alpha1/rest")["rootUrl"] == "http://localhost/"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_another_version_is_not_found(client: FlaskClient, version: str) -> None:
    response = client.get(f"/$discovery/rest?version={version}")
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == "NOT_FOUND"
