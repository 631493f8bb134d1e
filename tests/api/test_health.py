"""Liveness, readiness, metrics, and what the API does while Redis is unreachable."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from service import create_app
from service.redis_server import free_port
from tests.conftest import auth

REJECT_TEXT = "shut up you fucking idiot"  # profanity and insult cues: reject


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_readyz_when_redis_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["redis"] == "ok"


@pytest.fixture
def unreachable(env: dict[str, str]) -> FlaskClient:
    """An app whose REDIS_URL points at a port nothing listens on."""
    return create_app({**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}).test_client()


def test_readyz_says_when_redis_is_down(unreachable: FlaskClient) -> None:
    started = time.monotonic()
    response = unreachable.get("/readyz")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503
    assert response.headers.get("Retry-After")
    body = response.get_json()
    assert body["status"] != "ready"
    assert body["checks"]["redis"] != "ok"
    assert unreachable.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "role", "body"),
    [
        ("POST", "/v1/comments", "submitter", {"id": "down-1", "text": "hello"}),
        ("GET", "/v1/comments/down-1", "moderator", None),
        ("POST", "/v1/score", "submitter", {"comments": [{"text": "hello"}]}),
        ("GET", "/v1/queue", "moderator", None),
        ("GET", "/v1/queue/stats", "moderator", None),
        ("POST", "/v1/queue/down-1/decision", "moderator", {"action": "approve"}),
    ],
)
def test_api_answers_503_when_redis_is_down(
    unreachable: FlaskClient, method: str, path: str, role: str, body: dict[str, Any] | None
) -> None:
    started = time.monotonic()
    response = unreachable.open(path, method=method, json=body, headers=auth(role))
    assert time.monotonic() - started < 1.5  # a bound on a hang, not a performance check
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 0
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["code"] and error["message"]


def test_metrics_still_render_when_redis_is_down(unreachable: FlaskClient) -> None:
    response = unreachable.get("/metrics")
    assert response.status_code == 200
    assert "moderation_http_requests" in response.get_data(as_text=True)


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def total(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(value for sample_labels, value in found.get(name, []) if labels.items() <= sample_labels.items())


def test_metrics_after_requests(client: FlaskClient, redis_client: redis.Redis) -> None:
    text = f"{REJECT_TEXT} {uuid.uuid4().hex}"
    assert client.post("/v1/comments", json={"id": f"m-{uuid.uuid4()}", "text": text},
                       headers=auth("submitter")).status_code == 201  # a cache miss
    assert client.post("/v1/score", json={"comments": [{"text": text}]},
                       headers=auth("submitter")).status_code == 200  # a cache hit
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    found = samples(response.get_data(as_text=True))

    # request counter and latency histogram, by route
    requests = [name for name in found if name.startswith("moderation_http_requests")]
    assert requests
    assert total(found, requests[0], route="/v1/comments", method="POST", status="201") == 1
    assert total(found, requests[0], route="/v1/score", method="POST", status="200") == 1
    assert total(found, "moderation_http_request_seconds_count", route="/v1/comments", method="POST") == 1
    assert "moderation_http_request_seconds_bucket" in found

    # the verdict cache
    assert total(found, "moderation_verdict_cache_hits_total", layer="memory") >= 1
    assert total(found, "moderation_verdict_cache_misses_total") >= 1

    # the models
    assert total(found, "moderation_scoring_seconds_count") >= 1
    assert "moderation_scoring_seconds_bucket" in found
    assert total(found, "moderation_scoring_batch_texts_count") >= 1
    assert total(found, "moderation_scoring_batch_texts_sum") >= 1

    # the queue
    assert total(found, "moderation_queue_depth", status="pending") == 1
    assert total(found, "moderation_queue_depth", status="approved") == 0


def test_metrics_count_errors_too(client: FlaskClient) -> None:
    client.get("/v1/queue", headers=auth("submitter"))
    client.get("/v1/queue")
    found = samples(client.get("/metrics").get_data(as_text=True))
    name = next(n for n in found if n.startswith("moderation_http_requests"))
    assert total(found, name, route="/v1/queue", status="403") == 1
    assert total(found, name, route="/v1/queue", status="401") == 1
