"""GET /v1/queue, GET /v1/queue/stats and POST /v1/queue/{id}/decision through the Flask test client."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.config import Settings
from service.policy import Decision, load_policy
from tests.conftest import KEY_PREFIX, auth

BENIGN = "Thanks for the article, the map of the region was really helpful."
REJECT_TEXT = "shut up you fucking idiot"  # profanity and insult cues: reject
MILDER_REJECT_TEXT = "I will kill you"  # threat cue alone: reject at toxicity 0.9
REVIEW_TEXT = "the new mayor is a cia puppet and the speech was for public consumption"  # two cue families: review


def new_id(label: str = "q") -> str:
    return f"{label}-{uuid.uuid4()}"


def submit(client: FlaskClient, text: str, comment_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"id": comment_id or new_id(), "text": text, **extra}
    response = client.post("/v1/comments", json=body, headers=auth("submitter"))
    assert response.status_code in (200, 201), response.get_json()
    record: dict[str, Any] = response.get_json()
    return record


def page(client: FlaskClient, role: str = "moderator", **query: Any) -> dict[str, Any]:
    response = client.get("/v1/queue", query_string=query, headers=auth(role))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"items", "next_cursor"}
    return body


def as_listed(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the queue lists it, unclaimed."""
    return {**record, "claimed_by": None, "claim_expires_at": None}


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def decide(client: FlaskClient, comment_id: str, action: str, role: str = "moderator", **extra: Any) -> Any:
    return client.post(f"/v1/queue/{comment_id}/decision", json={"action": action, **extra}, headers=auth(role))


def audit(redis_client: redis.Redis) -> list[dict[str, str]]:
    """Every audit entry, oldest first, with the text kept beside it."""
    entries = []
    for _, fields in redis_client.xrange(f"{KEY_PREFIX}audit"):  # type: ignore[union-attr]
        text = redis_client.hget(f"{KEY_PREFIX}audit-text:{fields['comment_id']}", fields.get("text_ref", ""))
        entries.append({**fields, **(json.loads(text) if text else {})})  # type: ignore[arg-type]
    return entries


# --- listing -----------------------------------------------------------------------------------------------------


def test_empty_queue(client: FlaskClient) -> None:
    assert page(client) == {"items": [], "next_cursor": None}


def test_queue_lists_pending_records_only(client: FlaskClient) -> None:
    published = submit(client, BENIGN)
    pending = submit(client, REJECT_TEXT)
    body = page(client)
    assert body["items"] == [as_listed(pending)]
    assert body["next_cursor"] is None
    assert published["id"] not in ids(page(client, status="approved"))
    assert ids(page(client, status="pending")) == [pending["id"]]


def _risk(record: dict[str, Any]) -> float:
    verdict = record["verdict"]
    policy = load_policy(Settings.model_validate({}))
    return policy.risk(Decision(verdict["decision"]), verdict["scores"], verdict["flags"])


def test_riskiest_first_then_oldest(client: FlaskClient) -> None:
    review = submit(client, REVIEW_TEXT)
    rejects = [submit(client, MILDER_REJECT_TEXT), submit(client, REJECT_TEXT)]
    rejects += [submit(client, REJECT_TEXT) for _ in range(3)]  # same text: same verdict, same risk
    assert {r["verdict"]["decision"] for r in rejects} == {"reject"} and review["verdict"]["decision"] == "review"
    # Rejects before reviews; then the strongest flagged score; then the oldest (submitted first).
    expected = sorted(rejects, key=lambda r: -_risk(r))  # a stable sort keeps submission order among equals
    assert ids(page(client)) == [r["id"] for r in expected] + [review["id"]]


def test_filter_by_flag(client: FlaskClient) -> None:
    toxic = submit(client, REJECT_TEXT)["id"]
    conspiracy = submit(client, REVIEW_TEXT)["id"]
    assert ids(page(client, flag="toxicity")) == [toxic]
    assert ids(page(client, flag="conspiracy")) == [conspiracy]
    assert ids(page(client, flag="threat")) == []


def test_filter_by_thread(client: FlaskClient) -> None:
    thread = f"thread-{uuid.uuid4().hex}"
    inside = [submit(client, REJECT_TEXT, thread_id=thread)["id"] for _ in range(2)]
    submit(client, REJECT_TEXT, thread_id="another-thread")
    submit(client, REJECT_TEXT)
    assert ids(page(client, thread_id=thread)) == inside
    assert len(ids(page(client))) == 4


def test_default_limit_is_50(client: FlaskClient) -> None:
    for _ in range(51):
        submit(client, REJECT_TEXT)
    body = page(client)
    assert len(body["items"]) == 50
    assert body["next_cursor"]
    rest = page(client, cursor=body["next_cursor"])
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None


def test_limit_200_is_accepted(client: FlaskClient) -> None:
    submit(client, REJECT_TEXT)
    assert len(page(client, limit=200)["items"]) == 1


def test_cursor_pages_through_everything_once(client: FlaskClient) -> None:
    expected = [submit(client, text)["id"] for text in [REJECT_TEXT, REVIEW_TEXT, MILDER_REJECT_TEXT] * 3]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        body = page(client, limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(body["items"]) <= 2
        seen += ids(body)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 20
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))
    assert seen == ids(page(client))  # the same order as one big page
    assert pages == 5


def test_decided_items_leave_the_pending_queue(client: FlaskClient) -> None:
    approved = submit(client, REJECT_TEXT)["id"]
    rejected = submit(client, REVIEW_TEXT)["id"]
    still = submit(client, MILDER_REJECT_TEXT)["id"]
    assert decide(client, approved, "approve").status_code == 200
    assert decide(client, rejected, "reject").status_code == 200
    assert ids(page(client)) == [still]
    assert ids(page(client, status="approved")) == [approved]
    assert ids(page(client, status="rejected")) == [rejected]
    assert ids(page(client, status="approved", flag="toxicity")) == [approved]
    assert ids(page(client, flag="toxicity")) == [still]
    assert ids(page(client, flag="conspiracy")) == []


def test_admin_may_list_the_queue(client: FlaskClient) -> None:
    pending = submit(client, REJECT_TEXT)["id"]
    assert ids(page(client, role="admin")) == [pending]


# --- stats -------------------------------------------------------------------------------------------------------


def test_stats_count_by_status_and_flag(client: FlaskClient) -> None:
    submit(client, BENIGN)
    toxic = [submit(client, REJECT_TEXT) for _ in range(3)]
    conspiracy = submit(client, REVIEW_TEXT)
    decide(client, toxic[0]["id"], "approve")
    decide(client, toxic[1]["id"], "reject")
    response = client.get("/v1/queue/stats", headers=auth("moderator"))
    assert response.status_code == 200
    stats = response.get_json()
    assert stats["by_status"] == {"pending": 2, "approved": 1, "rejected": 1}
    pending_flags = [*toxic[2]["verdict"]["flags"], *conspiracy["verdict"]["flags"]]
    assert "toxicity" in toxic[2]["verdict"]["flags"] and conspiracy["verdict"]["flags"] == ["conspiracy"]
    assert stats["pending_by_flag"] == {flag: pending_flags.count(flag) for flag in stats["pending_by_flag"]}


# --- decisions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "status"), [("approve", "approved"), ("reject", "rejected")])
def test_decision_moves_the_record(client: FlaskClient, redis_client: redis.Redis, action: str, status: str) -> None:
    before = submit(client, REJECT_TEXT)
    response = decide(client, before["id"], action, note="checked by hand")
    assert response.status_code == 200
    record = response.get_json()
    assert record["id"] == before["id"]
    assert record["status"] == status
    assert record["version"] == before["version"]
    assert record["text"] == before["text"]
    assert record["verdict"] == before["verdict"]
    assert record["moderation"]["action"] == action
    assert record["moderation"]["decided_by"] == "mod-ann"
    assert record["moderation"]["note"] == "checked by hand"
    assert record["moderation"]["decided_at"]
    fetched = client.get(f"/v1/comments/{before['id']}", headers=auth("submitter"))
    assert fetched.get_json() == record

    entries = audit(redis_client)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["comment_id"] == before["id"]
    assert entry["action"] == action
    assert entry["decided_by"] == "mod-ann"
    assert entry["note"] == "checked by hand"
    assert entry["overridden_decision"] == "reject"
    assert json.loads(entry["overridden_verdict"])["decision"] == "reject"


def test_decision_without_note(client: FlaskClient) -> None:
    comment_id = submit(client, REVIEW_TEXT)["id"]
    response = decide(client, comment_id, "approve")
    assert response.status_code == 200
    assert response.get_json()["moderation"]["note"] is None


def test_admin_may_decide(client: FlaskClient) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    response = decide(client, comment_id, "reject", role="admin")
    assert response.status_code == 200
    assert response.get_json()["moderation"]["decided_by"] == "root"


@pytest.mark.parametrize("second", ["approve", "reject"])
@pytest.mark.parametrize("first", ["approve", "reject"])
def test_second_decision_is_409(client: FlaskClient, redis_client: redis.Redis, first: str, second: str) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    decided = decide(client, comment_id, first).get_json()
    response = decide(client, comment_id, second)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    assert client.get(f"/v1/comments/{comment_id}", headers=auth("moderator")).get_json() == decided
    assert len(audit(redis_client)) == 1


def test_decision_on_a_published_comment_is_409(client: FlaskClient, redis_client: redis.Redis) -> None:
    record = submit(client, BENIGN)
    response = decide(client, record["id"], "approve")
    assert response.status_code == 409
    assert client.get(f"/v1/comments/{record['id']}", headers=auth("moderator")).get_json() == record
    assert audit(redis_client) == []


def test_decision_on_unknown_comment_is_404(client: FlaskClient, redis_client: redis.Redis) -> None:
    comment_id = new_id()
    response = decide(client, comment_id, "approve")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"]
    assert audit(redis_client) == []
    assert not redis_client.exists(f"{KEY_PREFIX}comment:{comment_id}")


def test_edit_after_a_decision_needs_a_new_decision(client: FlaskClient) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    decide(client, comment_id, "approve")
    edited = submit(client, MILDER_REJECT_TEXT, comment_id=comment_id)
    assert edited["version"] == 2
    assert edited["status"] == "pending"
    assert ids(page(client)) == [comment_id]
    assert ids(page(client, status="approved")) == []
    assert decide(client, comment_id, "reject").status_code == 200
