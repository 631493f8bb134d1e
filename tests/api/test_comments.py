"""POST /v1/comments, GET /v1/comments/{id} and POST /v1/score through the Flask test client."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from flask import Flask, jsonify
from flask.testing import FlaskClient

from service import create_app
from tests.api.test_queue import as_listed
from tests.conftest import KEY_PREFIX, auth

BENIGN = "Thanks for the article, the map of the region was really helpful."
REJECT_TEXT = "shut up you fucking idiot"  # profanity and insult cues: reject
REVIEW_TEXT = "the new mayor is a cia puppet and the speech was for public consumption"  # two cue families: review

RECORD_KEYS = {
    "id",
    "version",
    "text",
    "thread_id",
    "author",
    "parent_id",
    "status",
    "verdict",
    "moderation",
    "created_at",
    "updated_at",
}
VERDICT_KEYS = {"decision", "flags", "scores", "evidence", "models", "policy", "cached"}


def new_id(label: str = "c") -> str:
    return f"{label}-{uuid.uuid4()}"


def submit(client: FlaskClient, body: dict[str, Any], role: str = "submitter") -> Any:
    return client.post("/v1/comments", json=body, headers=auth(role))


def get(client: FlaskClient, comment_id: str, role: str = "moderator") -> Any:
    return client.get(f"/v1/comments/{comment_id}", headers=auth(role))


def queue_ids(client: FlaskClient, **query: str) -> list[str]:
    response = client.get("/v1/queue", query_string={"limit": "200", **query}, headers=auth("moderator"))
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def assert_verdict(verdict: dict[str, Any]) -> None:
    assert set(verdict) >= VERDICT_KEYS
    assert verdict["decision"] in {"allow", "review", "reject"}
    assert isinstance(verdict["flags"], list)
    assert {"toxicity", "conspiracy"} <= set(verdict["scores"])
    for category, score in verdict["scores"].items():
        assert 0.0 <= score <= 1.0, category
    assert set(verdict["flags"]) <= set(verdict["scores"])
    assert isinstance(verdict["evidence"]["conspiracy"], list)
    for span in verdict["evidence"]["conspiracy"]:
        assert set(span) == {"start", "end", "text", "cue"}
    assert {"toxicity", "conspiracy"} <= set(verdict["models"])
    assert all(isinstance(v, str) and v for v in verdict["models"].values())
    assert isinstance(verdict["policy"], str) and verdict["policy"]
    assert isinstance(verdict["cached"], bool)
    if verdict["decision"] == "allow":
        assert verdict["flags"] == []
    else:
        assert verdict["flags"]


def assert_record(record: dict[str, Any]) -> None:
    assert set(record) >= RECORD_KEYS
    assert record["status"] in {"published", "pending", "rejected", "approved"}
    assert isinstance(record["version"], int) and record["version"] >= 1
    assert_verdict(record["verdict"])


def assert_spans_point_into(text: str, verdict: dict[str, Any]) -> None:
    for span in verdict["evidence"]["conspiracy"]:
        assert 0 <= span["start"] < span["end"] <= len(text), span
        assert text[span["start"] : span["end"]] == span["text"], span


# --- create and read ------------------------------------------------------------------------------------------


def test_new_benign_comment_is_published_and_readable(client: FlaskClient) -> None:
    comment_id = new_id()
    body = {
        "id": comment_id,
        "text": BENIGN,
        "thread_id": "thread-1",
        "author": {"id": "u-1", "name": "Ann"},
        "parent_id": "parent.1:x",
        "created_at": "2026-04-24T10:00:00Z",
        "metadata": {"source": "web", "n": 3},
    }
    response = submit(client, body)
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    record = response.get_json()
    assert_record(record)
    assert record["id"] == comment_id
    assert record["version"] == 1
    assert record["text"] == BENIGN
    assert record["thread_id"] == "thread-1"
    assert record["author"] == {"id": "u-1", "name": "Ann"}
    assert record["parent_id"] == "parent.1:x"
    assert record["created_at"] == "2026-04-24T10:00:00Z"
    assert record["updated_at"]
    assert record["status"] == "published"
    assert record["verdict"]["decision"] == "allow"
    assert record["verdict"]["cached"] is False
    assert record["moderation"] is None

    for role in ("submitter", "moderator", "admin"):
        fetched = get(client, comment_id, role)
        assert fetched.status_code == 200
        assert fetched.get_json() == record
    assert comment_id not in queue_ids(client)


def test_minimal_comment_gets_defaults(client: FlaskClient) -> None:
    comment_id = new_id()
    record = submit(client, {"id": comment_id, "text": BENIGN}).get_json()
    assert record["thread_id"] is None
    assert record["author"] is None
    assert record["parent_id"] is None
    assert record["created_at"]  # the service stamps it
    assert record["version"] == 1


@pytest.mark.parametrize(
    ("text", "status", "decision", "flag"),
    [(REJECT_TEXT, "pending", "reject", "toxicity"), (REVIEW_TEXT, "pending", "review", "conspiracy")],
)
def test_harmful_comment_is_queued(client: FlaskClient, text: str, status: str, decision: str, flag: str) -> None:
    comment_id = new_id()
    response = submit(client, {"id": comment_id, "text": text})
    assert response.status_code == 201
    record = response.get_json()
    assert record["status"] == status
    assert record["verdict"]["decision"] == decision
    assert flag in record["verdict"]["flags"]
    assert queue_ids(client) == [comment_id]
    assert queue_ids(client, flag=flag) == [comment_id]


def test_unknown_comment_is_404(client: FlaskClient) -> None:
    response = get(client, new_id())
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] and error["message"]


def test_ids_may_use_every_allowed_character(client: FlaskClient) -> None:
    comment_id = "Az09._:-" + uuid.uuid4().hex + "x" * 88
    assert len(comment_id) == 128
    assert submit(client, {"id": comment_id, "text": BENIGN}).status_code == 201
    assert get(client, comment_id).get_json()["id"] == comment_id


def test_text_at_the_length_limit_is_accepted(client: FlaskClient) -> None:
    text = ("word " * 2000)[:9999] + "\U0001f600"  # 10,000 characters, the last one outside the BMP
    assert len(text) == 10_000
    response = submit(client, {"id": new_id(), "text": text})
    assert response.status_code == 201
    assert response.get_json()["text"] == text


def test_configured_text_limit_applies(env: dict[str, str], redis_client: redis.Redis) -> None:
    client = create_app({**env, "MODERATION_MAX_TEXT_CHARS": "20"}).test_client()
    assert submit(client, {"id": new_id(), "text": "a" * 20}).status_code == 201
    too_long = submit(client, {"id": new_id(), "text": "a" * 21})
    assert too_long.status_code == 422
    assert too_long.get_json()["error"]["field"] == "text"


def test_unicode_text_round_trips(client: FlaskClient) -> None:
    text = "Ça va? 日本語のコメント 👍🏽 \u2014 «quoted»"
    comment_id = new_id()
    assert submit(client, {"id": comment_id, "text": text}).status_code == 201
    assert get(client, comment_id).get_json()["text"] == text


# --- idempotency and edits ---------------------------------------------------------------------------------------


def test_same_id_same_text_returns_the_stored_record(client: FlaskClient, redis_client: redis.Redis) -> None:
    comment_id = new_id()
    first = submit(client, {"id": comment_id, "text": REJECT_TEXT})
    assert first.status_code == 201
    again = submit(client, {"id": comment_id, "text": REJECT_TEXT})
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert get(client, comment_id).get_json() == first.get_json()
    assert queue_ids(client) == [comment_id]
    assert redis_client.zcard(f"{KEY_PREFIX}queue:pending") == 1
    stats = client.get("/v1/queue/stats", headers=auth("moderator")).get_json()
    assert stats["by_status"]["pending"] == 1


def test_replay_of_a_published_comment_is_200(client: FlaskClient) -> None:
    comment_id = new_id()
    first = submit(client, {"id": comment_id, "text": BENIGN}).get_json()
    again = submit(client, {"id": comment_id, "text": BENIGN})
    assert again.status_code == 200
    assert again.get_json() == first


def test_edit_to_benign_text_leaves_the_queue(client: FlaskClient) -> None:
    comment_id = new_id()
    first = submit(client, {"id": comment_id, "text": REJECT_TEXT, "created_at": "2026-04-24T10:00:00Z"}).get_json()
    assert first["status"] == "pending"

    edited = submit(client, {"id": comment_id, "text": BENIGN})
    assert edited.status_code == 200
    record = edited.get_json()
    assert record["version"] == 2
    assert record["text"] == BENIGN
    assert record["status"] == "published"
    assert record["verdict"]["decision"] == "allow"
    assert record["created_at"] == first["created_at"]
    assert get(client, comment_id).get_json() == record
    assert queue_ids(client) == []
    assert queue_ids(client, flag="toxicity") == []


def test_edit_to_harmful_text_enters_the_queue(client: FlaskClient) -> None:
    comment_id = new_id()
    assert submit(client, {"id": comment_id, "text": BENIGN}).get_json()["status"] == "published"
    edited = submit(client, {"id": comment_id, "text": REJECT_TEXT})
    assert edited.status_code == 200
    assert edited.get_json()["version"] == 2
    assert edited.get_json()["status"] == "pending"
    assert queue_ids(client) == [comment_id]


def test_edit_of_a_pending_comment_keeps_one_updated_queue_entry(client: FlaskClient) -> None:
    comment_id = new_id()
    submit(client, {"id": comment_id, "text": REVIEW_TEXT, "thread_id": "t-edit"})
    edited = submit(client, {"id": comment_id, "text": REJECT_TEXT, "thread_id": "t-edit"})
    assert edited.status_code == 200
    record = edited.get_json()
    assert record["version"] == 2
    assert "toxicity" in record["verdict"]["flags"] and "conspiracy" not in record["verdict"]["flags"]
    assert queue_ids(client) == [comment_id]
    assert queue_ids(client, thread_id="t-edit") == [comment_id]
    assert queue_ids(client, flag="toxicity") == [comment_id]
    assert queue_ids(client, flag="conspiracy") == []
    items = client.get("/v1/queue", headers=auth("moderator")).get_json()["items"]
    assert items == [as_listed(record)]


def test_each_edit_bumps_the_version(client: FlaskClient) -> None:
    comment_id = new_id()
    texts = [BENIGN, REJECT_TEXT, BENIGN + " (edited)", REJECT_TEXT]
    for version, text in enumerate(texts, start=1):
        response = submit(client, {"id": comment_id, "text": text})
        assert response.status_code == (201 if version == 1 else 200)
        assert response.get_json()["version"] == version
    assert get(client, comment_id).get_json()["version"] == len(texts)
    assert queue_ids(client) == [comment_id]


# --- /v1/score and the verdict cache ---------------------------------------------------------------------------


def test_score_returns_verdicts_in_order_and_stores_nothing(client: FlaskClient, redis_client: redis.Redis) -> None:
    texts = [BENIGN, REJECT_TEXT, REVIEW_TEXT, BENIGN]
    response = client.post("/v1/score", json={"comments": [{"text": t} for t in texts]}, headers=auth("submitter"))
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == len(texts)
    for verdict in results:
        assert_verdict(verdict)
    assert [v["decision"] for v in results] == ["allow", "reject", "review", "allow"]
    assert results[0]["scores"] == results[3]["scores"]
    assert not redis_client.keys(f"{KEY_PREFIX}comment:*")
    assert not redis_client.keys(f"{KEY_PREFIX}queue:*")


def test_score_accepts_100_items(client: FlaskClient) -> None:
    comments = [{"text": f"comment number {i} about the article"} for i in range(100)]
    response = client.post("/v1/score", json={"comments": comments}, headers=auth("submitter"))
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 100


def test_score_uses_and_fills_the_cache(client: FlaskClient) -> None:
    text = f"a fresh remark about the article {uuid.uuid4()}"
    first = client.post("/v1/score", json={"comments": [{"text": text}]}, headers=auth("submitter"))
    assert first.get_json()["results"][0]["cached"] is False
    second = client.post("/v1/score", json={"comments": [{"text": text}]}, headers=auth("submitter"))
    cached = second.get_json()["results"][0]
    assert cached["cached"] is True
    assert {k: v for k, v in cached.items() if k != "cached"} == {
        k: v for k, v in first.get_json()["results"][0].items() if k != "cached"
    }
    # the cache /v1/score filled serves a submission of the same text
    record = submit(client, {"id": new_id(), "text": text}).get_json()
    assert record["verdict"]["cached"] is True


@pytest.mark.parametrize(("memory", "served_from_memory"), [("4096", True), ("0", False)])
def test_a_repeat_is_served_from_the_workers_memory_unless_turned_off(
    env: dict[str, str], redis_client: redis.Redis, memory: str, served_from_memory: bool
) -> None:
    client = create_app({**env, "MODERATION_LOCAL_CACHE_SIZE": memory}).test_client()
    body = {"comments": [{"text": f"a remark about the council vote {uuid.uuid4()}"}]}
    assert client.post("/v1/score", json=body, headers=auth("submitter")).get_json()["results"][0]["cached"] is False
    redis_client.flushdb()
    again = client.post("/v1/score", json=body, headers=auth("submitter")).get_json()["results"][0]
    assert again["cached"] is served_from_memory


def test_score_body_is_encoded_as_jsonify_would(app: Flask, client: FlaskClient) -> None:
    """/v1/score serialises with pydantic for speed; the bytes stay jsonify's: compact, ASCII-escaped, newline."""
    cia = "\uff43\uff49\uff41"  # fullwidth "cia": normalised for the cue, non-ASCII in the evidence text
    text = f"Caf\u00e9 {uuid.uuid4().hex}: the mayor is a {cia} puppet \U0001f921"
    for expect_cached in (False, True):
        response = client.post("/v1/score", json={"comments": [{"text": text}]}, headers=auth("submitter"))
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        document = response.get_json()
        assert document["results"][0]["cached"] is expect_cached
        assert document["results"][0]["evidence"]["conspiracy"][0]["text"] == f"{cia} puppet"
        with app.app_context():
            assert response.data == jsonify(document).data


def test_same_text_under_another_id_is_a_cache_hit(client: FlaskClient) -> None:
    text = f"{REJECT_TEXT} {uuid.uuid4().hex}"
    first = submit(client, {"id": new_id(), "text": text}).get_json()
    second = submit(client, {"id": new_id(), "text": text}).get_json()
    assert first["verdict"]["cached"] is False
    assert second["verdict"]["cached"] is True
    assert second["verdict"]["scores"] == first["verdict"]["scores"]
    assert second["verdict"]["decision"] == first["verdict"]["decision"]


# --- evidence spans point into the text that was submitted --------------------------------------------------------


def test_evidence_spans_point_into_the_submitted_text(client: FlaskClient, seed: dict[str, Any]) -> None:
    text = next(c["text"] for c in seed["comments"] if c["id"] == "seed-c1")
    record = submit(client, {"id": new_id(), "text": text}).get_json()
    spans = record["verdict"]["evidence"]["conspiracy"]
    assert spans
    assert_spans_point_into(text, record["verdict"])


def test_evidence_spans_of_a_cached_verdict_point_into_this_text(client: FlaskClient, seed: dict[str, Any]) -> None:
    """Two texts that normalise alike share a cache entry, but each one's spans must index its own text."""
    text = next(c["text"] for c in seed["comments"] if c["id"] == "seed-c1")
    spaced = "  \u200b" + text.replace(" ", "  ")
    submit(client, {"id": new_id(), "text": text})
    record = submit(client, {"id": new_id(), "text": spaced}).get_json()
    assert record["verdict"]["evidence"]["conspiracy"]
    assert_spans_point_into(spaced, record["verdict"])


def test_score_spans_index_each_texts_own_characters(client: FlaskClient, seed: dict[str, Any]) -> None:
    text = next(c["text"] for c in seed["comments"] if c["id"] == "seed-c1")
    spaced = "\t" + text.replace(" ", "   ")
    response = client.post(
        "/v1/score", json={"comments": [{"text": text}, {"text": spaced}]}, headers=auth("submitter")
    )
    first, second = response.get_json()["results"]
    assert_spans_point_into(text, first)
    assert_spans_point_into(spaced, second)
