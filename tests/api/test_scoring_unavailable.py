"""A model call that does not come back: requests get a 503 they can retry, and nothing is stored or cached."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask

from service import create_app
from service.api.context import get_moderation
from service.scoring.batching import Batcher
from tests.conftest import auth


@pytest.fixture
def stuck_app(env: dict[str, str], redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    app = create_app(env | {"MODERATION_SCORING_TIMEOUT_SECONDS": "0.3", "MODERATION_LOCAL_CACHE_SIZE": "0"})
    with app.app_context():
        batcher = get_moderation().engine._batcher
    release = threading.Event()

    def never_returns(items: list[object]) -> list[object]:
        release.wait(30)
        raise RuntimeError("released at the end of the test")

    _wait_until_idle(batcher)  # the engine is shared by tests with these settings
    monkeypatch.setattr(batcher, "_score", never_returns)
    yield app
    release.set()
    _wait_until_idle(batcher)


def _wait_until_idle(batcher: Batcher[Any, Any]) -> None:
    deadline = time.monotonic() + 10
    while batcher.busy_for() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_scoring_that_takes_longer_than_the_timeout_is_a_503_with_retry_after(
    stuck_app: Flask, redis_client: redis.Redis
) -> None:
    client = stuck_app.test_client()
    body = {"comments": [{"text": "a comment the stuck model never scores"}]}

    response = client.post("/v1/score", json=body, headers=auth("submitter"))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    error = response.get_json()["error"]
    assert error["code"] == "scoring_unavailable" and "0.3 s" in error["message"]


def test_a_submission_whose_scoring_times_out_stores_nothing(stuck_app: Flask, redis_client: redis.Redis) -> None:
    client = stuck_app.test_client()

    response = client.post(
        "/v1/comments", json={"id": "c-stuck", "text": "scored by nobody"}, headers=auth("submitter")
    )

    assert response.status_code == 503
    assert redis_client.dbsize() == 0, "no record, no queue entry, no cached verdict"
    assert client.get("/v1/comments/c-stuck", headers=auth("submitter")).status_code == 404


def test_readiness_fails_while_a_model_call_is_stuck_past_the_timeout(stuck_app: Flask) -> None:
    client = stuck_app.test_client()
    assert client.get("/readyz").status_code == 200

    client.post("/v1/score", json={"comments": [{"text": "stuck"}]}, headers=auth("submitter"))  # waits 0.3 s
    time.sleep(0.4)  # the call has now run more than 0.3 s past the timeout

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["models"].startswith("stalled")
