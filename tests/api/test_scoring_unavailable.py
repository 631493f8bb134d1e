"""A model call that does not come back: requests get a 503 they can retry, and nothing is stored or cached."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from service import create_app
from service.api.context import get_moderation
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

    monkeypatch.setattr(batcher, "_score", never_returns)
    yield app
    release.set()


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
