"""Authentication and roles: who may call what, and what everyone else gets back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tests.conftest import KEY_PREFIX, SECRETS, auth

REJECT_TEXT = "shut up you fucking idiot"  # profanity and insult cues: reject
ROLES = ("submitter", "moderator", "admin")


def routes(comment_id: str) -> list[tuple[str, str, dict[str, Any] | None, set[str]]]:
    """(method, path, JSON body, roles allowed) for every protected route."""
    return [
        ("POST", "/v1/comments", {"id": f"new-{uuid.uuid4()}", "text": "hello there"}, {"submitter", "admin"}),
        ("GET", f"/v1/comments/{comment_id}", None, {"submitter", "moderator", "admin"}),
        ("POST", "/v1/score", {"comments": [{"text": "hello there"}]}, {"submitter", "admin"}),
        ("GET", "/v1/queue", None, {"moderator", "admin"}),
        ("GET", "/v1/queue/stats", None, {"moderator", "admin"}),
        ("POST", f"/v1/queue/{comment_id}/decision", {"action": "approve"}, {"moderator", "admin"}),
    ]


ROUTE_NAMES = ["submit", "get", "score", "queue", "stats", "decide"]


@pytest.fixture
def pending_id(client: FlaskClient) -> str:
    comment_id = f"auth-{uuid.uuid4()}"
    response = client.post("/v1/comments", json={"id": comment_id, "text": REJECT_TEXT}, headers=auth("submitter"))
    assert response.status_code == 201
    assert response.get_json()["status"] == "pending"
    return comment_id


def call(client: FlaskClient, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> Any:
    return client.open(path, method=method, json=body, headers=headers)


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status
    payload = response.get_json()
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "field"}
    assert payload["error"]["code"] == code
    assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]


@pytest.mark.parametrize("index", range(6), ids=ROUTE_NAMES)
@pytest.mark.parametrize(
    "header",
    [
        {},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {SECRETS['admin']}"},
        {"Authorization": SECRETS["admin"]},
        {"Authorization": f"Token {SECRETS['admin']}"},
        {"Authorization": f"Bearer {SECRETS['admin']}x"},
        {"Authorization": f"Bearer {SECRETS['admin'][:-1]}"},
        {"X-Api-Key": SECRETS["admin"]},
    ],
    ids=["none", "unknown", "bearer-only", "bearer-space", "basic", "bare", "token", "longer", "prefix", "x-api-key"],
)
def test_missing_or_unknown_key_is_401(
    client: FlaskClient, redis_client: redis.Redis, index: int, header: dict[str, str]
) -> None:
    method, path, body, _ = routes(f"some-{uuid.uuid4()}")[index]
    response = call(client, method, path, body, header)
    assert_error(response, 401, "unauthorized")
    assert "bearer" in response.headers.get("WWW-Authenticate", "").lower()
    assert redis_client.keys("*") == []  # nothing stored, nothing scored


@pytest.mark.parametrize("index", range(6), ids=ROUTE_NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_roles(client: FlaskClient, redis_client: redis.Redis, pending_id: str, index: int, role: str) -> None:
    method, path, body, allowed = routes(pending_id)[index]
    before = sorted(redis_client.keys(f"{KEY_PREFIX}comment:*"))
    response = call(client, method, path, body, auth(role))
    if role in allowed:
        assert response.status_code in (200, 201), response.get_json()
    else:
        assert_error(response, 403, "forbidden")
        assert sorted(redis_client.keys(f"{KEY_PREFIX}comment:*")) == before
        assert client.get(f"/v1/comments/{pending_id}", headers=auth("admin")).get_json()["status"] == "pending"


def test_scheme_is_case_insensitive(client: FlaskClient, pending_id: str) -> None:
    response = client.get(f"/v1/comments/{pending_id}", headers={"Authorization": f"bearer {SECRETS['moderator']}"})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
@pytest.mark.parametrize(
    "header", [{}, {"Authorization": "Bearer not-a-key"}, auth("submitter")], ids=["none", "unknown", "submitter"]
)
def test_public_routes_need_no_key(client: FlaskClient, path: str, header: dict[str, str]) -> None:
    assert client.get(path, headers=header).status_code == 200


def test_authentication_comes_before_body_checks(client: FlaskClient, redis_client: redis.Redis) -> None:
    response = client.post("/v1/comments", data="not json", content_type="text/plain")
    assert_error(response, 401, "unauthorized")
    response = client.post("/v1/comments", json={"id": "bad id", "text": ""})
    assert_error(response, 401, "unauthorized")
    response = client.post("/v1/comments", data="x" * 300_000, content_type="application/json")
    assert response.status_code in (401, 413)
    assert not redis_client.keys(f"{KEY_PREFIX}comment:*")


def test_roles_come_before_body_checks(client: FlaskClient, redis_client: redis.Redis) -> None:
    response = client.post("/v1/comments", data="not json", content_type="text/plain", headers=auth("moderator"))
    assert_error(response, 403, "forbidden")
    response = client.post("/v1/comments", json={"id": "bad id"}, headers=auth("moderator"))
    assert_error(response, 403, "forbidden")
    response = client.post("/v1/queue/x/decision", json={"action": "maybe"}, headers=auth("submitter"))
    assert_error(response, 403, "forbidden")
    assert not redis_client.keys(f"{KEY_PREFIX}comment:*")


def test_unknown_comment_still_needs_a_key(client: FlaskClient) -> None:
    assert_error(client.get(f"/v1/comments/{uuid.uuid4()}"), 401, "unauthorized")
    assert_error(client.post(f"/v1/queue/{uuid.uuid4()}/decision", json={"action": "approve"}), 401, "unauthorized")


def test_submitter_cannot_decide_its_own_comment(
    client: FlaskClient, redis_client: redis.Redis, pending_id: str
) -> None:
    response = client.post(f"/v1/queue/{pending_id}/decision", json={"action": "approve"}, headers=auth("submitter"))
    assert_error(response, 403, "forbidden")
    assert not redis_client.exists(f"{KEY_PREFIX}audit")
