"""What the moderators' workspace needs of the queue API: claims, reasons, bulk decisions, undo, authors, threads.

Through the Flask test client, on the suite's real Redis; two moderators (`mod-ann`, `mod-bob`) and an admin.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.schemas import Reason
from service.timestamps import epoch_ms
from tests.api.test_queue import BENIGN, REJECT_TEXT, REVIEW_TEXT, audit, decide, ids, new_id, page, submit
from tests.conftest import API_KEYS, KEY_PREFIX, auth

BOB = {"Authorization": "Bearer bob-secret"}


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "MODERATION_API_KEYS": API_KEYS + ",mod-bob:moderator:bob-secret"}


def claim(client: FlaskClient, comment_id: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/v1/queue/{comment_id}/claim", json=body, headers=headers)


def feedback_ids(redis_client: redis.Redis) -> list[str]:
    return [entry_id for entry_id, _ in redis_client.xrange(f"{KEY_PREFIX}feedback")]  # type: ignore[union-attr]


# --- who am I ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "name"), [("moderator", "mod-ann"), ("admin", "root"), ("submitter", "site")])
def test_me_names_the_key(client: FlaskClient, role: str, name: str) -> None:
    response = client.get("/v1/me", headers=auth(role))
    assert response.status_code == 200
    assert response.get_json() == {
        "name": name,
        "role": role,
        "sites": None,
        "claim_seconds": 300,
        "undo_seconds": 300,
    }


def test_me_without_a_key_is_401(client: FlaskClient) -> None:
    assert client.get("/v1/me").status_code == 401


# --- claims --------------------------------------------------------------------------------------------------------


def test_claim_shows_in_the_queue_and_blocks_the_other_moderator(client: FlaskClient) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    response = claim(client, comment_id, auth("moderator"))
    assert response.status_code == 200
    held = response.get_json()
    assert held["id"] == comment_id and held["claimed_by"] == "mod-ann"
    item = page(client)["items"][0]
    assert item["claimed_by"] == "mod-ann"
    assert abs(epoch_ms(item["claim_expires_at"]) - epoch_ms(held["claim_expires_at"])) < 1000
    assert 299_000 < epoch_ms(held["claim_expires_at"]) - time.time() * 1000 <= 300_000

    taken = claim(client, comment_id, BOB)
    assert taken.status_code == 409
    error = taken.get_json()["error"]
    assert error["claimed_by"] == "mod-ann" and "mod-ann" in error["message"] and error["field"] == "id"

    refused = client.post(f"/v1/queue/{comment_id}/decision", json={"action": "approve"}, headers=BOB)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["claimed_by"] == "mod-ann"
    assert client.get(f"/v1/comments/{comment_id}", headers=auth("moderator")).get_json()["status"] == "pending"


def test_claim_without_a_body_and_renewal(client: FlaskClient) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    first = client.post(f"/v1/queue/{comment_id}/claim", headers=auth("moderator"))
    assert first.status_code == 200, first.get_json()
    again = claim(client, comment_id, auth("moderator"), seconds=3600)
    assert again.status_code == 200
    assert again.get_json()["claim_expires_at"] > first.get_json()["claim_expires_at"]


def test_claim_length_is_bounded(client: FlaskClient) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    response = claim(client, comment_id, auth("moderator"), seconds=5)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "seconds"


def test_unclaimed_filter_hides_other_moderators_claims_only(client: FlaskClient) -> None:
    mine, theirs, free = (submit(client, REJECT_TEXT)["id"] for _ in range(3))
    assert claim(client, mine, auth("moderator")).status_code == 200
    assert claim(client, theirs, BOB).status_code == 200
    assert sorted(ids(page(client, unclaimed="true"))) == sorted([mine, free])
    assert sorted(ids(page(client))) == sorted([mine, theirs, free])


def test_release_frees_the_item(client: FlaskClient) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    claim(client, comment_id, auth("moderator"))
    assert client.delete(f"/v1/queue/{comment_id}/claim", headers=BOB).status_code == 409
    assert client.delete(f"/v1/queue/{comment_id}/claim", headers=auth("moderator")).status_code == 204
    assert client.delete(f"/v1/queue/{comment_id}/claim", headers=auth("moderator")).status_code == 204
    assert claim(client, comment_id, BOB).status_code == 200
    assert page(client)["items"][0]["claimed_by"] == "mod-bob"


def test_admin_overrides_a_claim(client: FlaskClient) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    claim(client, comment_id, BOB)
    response = decide(client, comment_id, "reject", role="admin", reason="ABUSIVE")
    assert response.status_code == 200
    assert page(client, status="rejected")["items"][0]["claimed_by"] is None


def test_expired_claim_no_longer_binds(client: FlaskClient, redis_client: redis.Redis) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    claim(client, comment_id, BOB)
    redis_client.pexpire(f"{KEY_PREFIX}claim:{comment_id}", 1)
    time.sleep(0.05)
    assert page(client)["items"][0]["claimed_by"] is None
    assert decide(client, comment_id, "approve").status_code == 200


def test_claims_on_what_cannot_be_claimed(client: FlaskClient, redis_client: redis.Redis) -> None:
    published = submit(client, BENIGN)["id"]
    assert claim(client, published, auth("moderator")).status_code == 409
    assert claim(client, new_id(), auth("moderator")).status_code == 404
    pending = submit(client, REJECT_TEXT)["id"]
    assert claim(client, pending, auth("submitter")).status_code == 403
    assert not redis_client.exists(f"{KEY_PREFIX}claim:{published}", f"{KEY_PREFIX}claim:{pending}")


# --- reasons -------------------------------------------------------------------------------------------------------


def test_reason_is_stored_and_audited(client: FlaskClient, redis_client: redis.Redis) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    body = {"reason": "HATE_SPEECH", "legal_grounds": "NetzDG §3", "explanation": "Attacks a group."}
    response = decide(client, comment_id, "reject", **body)
    assert response.status_code == 200
    moderation = response.get_json()["moderation"]
    assert {k: moderation[k] for k in body} == body
    (entry,) = audit(redis_client)
    assert {k: entry[k] for k in body} == body


@pytest.mark.parametrize("reason", ["hate_speech", "RUDE", "", 3])
def test_unknown_reason_is_422_and_changes_nothing(client: FlaskClient, redis_client: redis.Redis, reason: Any) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    response = decide(client, comment_id, "reject", reason=reason)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "reason"
    assert audit(redis_client) == []
    assert client.get(f"/v1/comments/{comment_id}", headers=auth("moderator")).get_json()["status"] == "pending"


def test_every_coral_reason_code_is_accepted(client: FlaskClient) -> None:
    for reason in Reason:
        comment_id = submit(client, REJECT_TEXT)["id"]
        assert decide(client, comment_id, "reject", reason=reason.value).status_code == 200


# --- bulk ----------------------------------------------------------------------------------------------------------


def test_bulk_answers_each_item_on_its_own(client: FlaskClient, redis_client: redis.Redis) -> None:
    first, second, claimed = (submit(client, REJECT_TEXT)["id"] for _ in range(3))
    done = submit(client, REVIEW_TEXT)["id"]
    decide(client, done, "approve")
    claim(client, claimed, BOB)
    missing = new_id()
    items = [
        {"id": first, "action": "reject", "reason": "ABUSIVE"},
        {"id": missing, "action": "approve"},
        {"id": second, "action": "approve", "note": "fine in context"},
        {"id": done, "action": "reject"},
        {"id": claimed, "action": "reject"},
    ]
    response = client.post("/v1/queue/decisions", json={"decisions": items}, headers=auth("moderator"))
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [(r["id"], r["status"]) for r in results] == [
        (first, 200),
        (missing, 404),
        (second, 200),
        (done, 409),
        (claimed, 409),
    ]
    assert results[0]["record"]["moderation"]["reason"] == "ABUSIVE"
    assert results[2]["record"]["status"] == "approved"
    assert results[4]["error"]["claimed_by"] == "mod-bob"
    assert [e["comment_id"] for e in audit(redis_client)] == [done, first, second]


def test_bulk_limits(client: FlaskClient, redis_client: redis.Redis) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    cases = [
        ([{"id": comment_id, "action": "approve"}] * 2, "decisions"),
        ([{"id": new_id(), "action": "approve"} for _ in range(101)], "decisions"),
        ([], "decisions"),
        (
            [{"id": comment_id, "action": "approve"}, {"id": new_id(), "action": "reject", "reason": "NOPE"}],
            "decisions.1.reason",
        ),
    ]
    for decisions, field in cases:
        response = client.post("/v1/queue/decisions", json={"decisions": decisions}, headers=auth("moderator"))
        assert response.status_code == 422, decisions
        assert response.get_json()["error"]["field"] == field
    assert audit(redis_client) == []
    assert page(client)["items"][0]["status"] == "pending"


# --- undo ----------------------------------------------------------------------------------------------------------


def test_reopen_puts_it_back_and_withdraws_its_labels(client: FlaskClient, redis_client: redis.Redis) -> None:
    kept = submit(client, REJECT_TEXT)["id"]
    comment_id = submit(client, REJECT_TEXT)["id"]
    decide(client, kept, "approve")
    labels_before = feedback_ids(redis_client)
    decide(client, comment_id, "reject", reason="ABUSIVE")
    assert len(feedback_ids(redis_client)) > len(labels_before)

    response = client.post(f"/v1/queue/{comment_id}/reopen", headers=BOB)
    assert response.status_code == 200, response.get_json()
    record = response.get_json()
    assert record["status"] == "pending" and record["moderation"] is None
    assert ids(page(client)) == [comment_id]
    assert feedback_ids(redis_client) == labels_before
    entry = audit(redis_client)[-1]
    assert entry["action"] == "reopen" and entry["decided_by"] == "mod-bob"
    assert entry["reopened_action"] == "reject" and entry["reopened_reason"] == "ABUSIVE"

    assert decide(client, comment_id, "approve").status_code == 200


def test_reopen_refusals_change_nothing(client: FlaskClient, redis_client: redis.Redis) -> None:
    pending = submit(client, REJECT_TEXT)["id"]
    published = submit(client, BENIGN)["id"]
    for comment_id in (pending, published):
        response = client.post(f"/v1/queue/{comment_id}/reopen", headers=auth("moderator"))
        assert response.status_code == 409 and response.get_json()["error"]["field"] == "id"
    assert client.post(f"/v1/queue/{new_id()}/reopen", headers=auth("moderator")).status_code == 404
    assert client.post(f"/v1/queue/{pending}/reopen", headers=auth("submitter")).status_code == 403
    assert audit(redis_client) == []


def test_reopen_after_the_window_is_409(env: dict[str, str], redis_client: redis.Redis) -> None:
    from service import create_app

    client = create_app({**env, "MODERATION_UNDO_SECONDS": "0"}).test_client()
    comment_id = submit(client, REJECT_TEXT)["id"]
    decided = decide(client, comment_id, "reject").get_json()
    time.sleep(1.1)
    response = client.post(f"/v1/queue/{comment_id}/reopen", headers=auth("moderator"))
    assert response.status_code == 409
    assert "0 s" in response.get_json()["error"]["message"]
    assert client.get(f"/v1/comments/{comment_id}", headers=auth("moderator")).get_json() == decided
    assert len(audit(redis_client)) == 1


# --- author and thread ---------------------------------------------------------------------------------------------


def test_author_history(client: FlaskClient) -> None:
    author = {"id": "reader-7", "name": "Reader Seven"}
    rejected = submit(client, REJECT_TEXT, author=author, created_at="2026-12-01T10:00:00Z")["id"]
    approved = submit(client, REVIEW_TEXT, author=author, created_at="2026-12-01T11:00:00Z")["id"]
    published = submit(client, BENIGN, author=author, created_at="2026-12-01T12:00:00Z")["id"]
    submit(client, REJECT_TEXT, author={"id": "someone-else"})
    decide(client, rejected, "reject", reason="ABUSIVE")
    decide(client, approved, "approve")

    response = client.get("/v1/authors/reader-7", headers=auth("moderator"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["counts"] == {"published": 1, "pending": 0, "approved": 1, "rejected": 1}
    assert body["total"] == 3
    assert body["rejection_rate"] == 0.5
    assert body["reasons"] == {"ABUSIVE": 1}
    assert [c["id"] for c in body["comments"]] == [published, approved, rejected]

    client.post(f"/v1/queue/{rejected}/reopen", headers=auth("moderator"))
    body = client.get("/v1/authors/reader-7", headers=auth("moderator")).get_json()
    assert body["counts"]["pending"] == 1 and body["reasons"] == {}


def test_author_unknown_or_forbidden(client: FlaskClient) -> None:
    assert client.get("/v1/authors/nobody", headers=auth("moderator")).status_code == 404
    submit(client, REJECT_TEXT, author={"id": "a b/c"})
    assert client.get("/v1/authors/a b", headers=auth("moderator")).status_code == 404
    assert client.get("/v1/authors/x", headers=auth("submitter")).status_code == 403


def test_thread_context(client: FlaskClient) -> None:
    thread = new_id("thread")
    written = [
        submit(client, BENIGN, thread_id=thread, created_at=f"2026-12-01T10:{minute:02d}:00Z")["id"]
        for minute in range(15)
    ]
    parent = written[1]
    target = submit(client, REJECT_TEXT, thread_id=thread, parent_id=parent, created_at="2026-12-01T10:07:30Z")["id"]
    response = client.get(f"/v1/comments/{target}/context", headers=auth("moderator"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["comment"]["id"] == target
    assert body["parent"]["id"] == parent
    neighbours = [c["id"] for c in body["neighbours"]]
    assert len(neighbours) == 10 and parent not in neighbours and target not in neighbours
    assert neighbours == written[3:13]  # the ten nearest in thread order, the parent left out


def test_context_without_a_thread(client: FlaskClient) -> None:
    comment_id = submit(client, REJECT_TEXT)["id"]
    body = client.get(f"/v1/comments/{comment_id}/context", headers=auth("moderator")).get_json()
    assert body["parent"] is None and body["neighbours"] == []
    assert client.get(f"/v1/comments/{new_id()}/context", headers=auth("moderator")).status_code == 404
