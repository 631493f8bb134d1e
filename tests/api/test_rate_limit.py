"""MODERATION_RATE_LIMIT on the /v1 routes: per API key, counted in Redis, 429 with Retry-After when spent."""

from __future__ import annotations

import redis
from flask.testing import FlaskClient

from service import create_app
from tests.conftest import KEY_PREFIX, auth

BODY = {"comments": [{"text": "Nice piece."}]}


def limited_client(env: dict[str, str], limit: str) -> FlaskClient:
    return create_app({**env, "MODERATION_RATE_LIMIT": limit}).test_client()


def test_requests_over_the_limit_get_429_with_retry_after(env: dict[str, str], redis_client: redis.Redis) -> None:
    client = limited_client(env, "3/hour")
    statuses = [client.post("/v1/score", json=BODY, headers=auth("submitter")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.post("/v1/score", json=BODY, headers=auth("submitter"))
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert "3 per 1 hour" in error["message"]


def test_each_key_has_its_own_budget_and_the_counters_live_in_redis(
    env: dict[str, str], redis_client: redis.Redis
) -> None:
    client = limited_client(env, "2/hour")
    for _ in range(2):
        assert client.post("/v1/score", json=BODY, headers=auth("submitter")).status_code == 200
    assert client.post("/v1/score", json=BODY, headers=auth("submitter")).status_code == 429
    assert client.post("/v1/score", json=BODY, headers=auth("admin")).status_code == 200
    assert any(key.startswith(f"{KEY_PREFIX}ratelimit") for key in redis_client.scan_iter("*"))
    # A second app (another worker or replica) on the same Redis sees the same count.
    other = limited_client(env, "2/hour")
    assert other.post("/v1/score", json=BODY, headers=auth("submitter")).status_code == 429


def test_refused_keys_are_not_counted(env: dict[str, str], redis_client: redis.Redis) -> None:
    client = limited_client(env, "1/hour")
    assert client.post("/v1/score", json=BODY, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/v1/score", json=BODY, headers=auth("submitter")).status_code == 200


def test_the_perspective_routes_answer_resource_exhausted(env: dict[str, str], redis_client: redis.Redis) -> None:
    client = limited_client(env, "1/hour")
    url = "/v1alpha1/comments:analyze?key=submitter-secret"
    body = '{"comment": {"text": "Nice piece."}, "requestedAttributes": {"TOXICITY": {}}}'
    assert client.post(url, data=body).status_code == 200
    response = client.post(url, data=body)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    error = response.get_json()["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert error["message"] == (
        "Quota exceeded for quota metric 'Analysis requests (AnalyzeComment)' and limit "
        "'Analysis requests (AnalyzeComment) per hour' of service 'commentanalyzer.googleapis.com' "
        "for consumer 'site'."
    )
    (detail,) = error["details"]
    assert detail["reason"] == "RATE_LIMIT_EXCEEDED"
    assert detail["metadata"]["quota_limit_value"] == "1"
    assert detail["metadata"]["consumer"] == "site"


def test_without_a_limit_nothing_is_counted(client: FlaskClient, redis_client: redis.Redis) -> None:
    for _ in range(5):
        assert client.post("/v1/score", json=BODY, headers=auth("submitter")).status_code == 200
    assert not any("ratelimit" in key for key in redis_client.scan_iter("*"))
