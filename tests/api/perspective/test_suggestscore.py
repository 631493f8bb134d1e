"""comments:suggestscore keeps the site's labels as feedback, in the forms Coral Talk sends them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tests.conftest import KEY_PREFIX, SECRETS

SUGGEST = f"/v1alpha1/comments:suggestscore?key={SECRETS['submitter']}"


def feedback(redis_client: redis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in redis_client.xrange(f"{KEY_PREFIX}feedback")]


def test_corals_feedback_is_stored_and_its_token_echoed(client: FlaskClient, redis_client: redis.Redis) -> None:
    context = json.dumps({"url": "https://news.example/a?commentID=c1", "Coral_comment_id": "c1"})
    body = {
        "comment": {"text": "You people are all idiots"},
        "context": {"entries": [{"text": context}]},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
        "languages": ["en"],
        "communityId": "Coral:https://news.example",
        "clientToken": "comment:c1",
    }
    response = client.post(SUGGEST, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["clientToken"] == "comment:c1"
    assert document["requestedLanguages"] == ["en"]
    (stored,) = feedback(redis_client)
    assert stored["text"] == "You people are all idiots"
    assert stored["attribute"] == "TOXICITY"
    assert float(stored["value"]) == 1.0
    assert stored["community_id"] == "Coral:https://news.example"
    assert stored["client_token"] == "comment:c1"
    assert stored["source"] == "suggestscore"
    assert stored["created_at"].endswith("Z")


def test_any_attribute_name_is_accepted(client: FlaskClient, redis_client: redis.Redis) -> None:
    """Coral Talk v4 sent its moderation actions as attribute names."""
    body = {
        "comment": {"text": "Great reporting"},
        "attributeScores": {"APPROVED": {"summaryScore": {"value": 1}}, "HIGHLIGHTED": {"summaryScore": {"value": 1}}},
        "languages": ["EN"],
        "clientToken": "v4-token",
    }
    response = client.post(SUGGEST, data=json.dumps(body))
    assert response.get_json()["clientToken"] == "v4-token"
    assert [f["attribute"] for f in feedback(redis_client)] == ["APPROVED", "HIGHLIGHTED"]


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (None, "Missing attribute_scores"),
        ({}, "Missing attribute_scores"),
        ({"TOXICITY": {}}, "summary_score"),
        ({"TOXICITY": {"summaryScore": {}}}, "summary_score"),
        ({"TOXICITY": {"summaryScore": {"value": 1.5}}}, "must lie in [0, 1]"),
        ({"TOXICITY": {"summaryScore": {"value": 1}, "spanScores": [{"begin": 0, "score": {"value": 1}}]}}, "span"),
    ],
)
def test_scores_must_be_set(
    client: FlaskClient, redis_client: redis.Redis, scores: dict[str, Any] | None, message: str
) -> None:
    body: dict[str, Any] = {"comment": {"text": "Great reporting"}}
    if scores is not None:
        body["attributeScores"] = scores
    response = client.post(SUGGEST, data=json.dumps(body))
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]
    assert feedback(redis_client) == []


def test_an_empty_comment_is_refused(client: FlaskClient) -> None:
    body = {"comment": {"text": ""}, "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0}}}}
    response = client.post(SUGGEST, data=json.dumps(body))
    assert response.get_json()["error"]["message"] == "Comment must be non-empty."


def test_at_most_32_labels_a_request(client: FlaskClient, redis_client: redis.Redis) -> None:
    scores = {f"LABEL_{i}": {"summaryScore": {"value": 1}} for i in range(33)}
    response = client.post(SUGGEST, data=json.dumps({"comment": {"text": "x"}, "attributeScores": scores}))
    assert response.status_code == 400
    assert "at most 32" in response.get_json()["error"]["message"]
    assert feedback(redis_client) == []
