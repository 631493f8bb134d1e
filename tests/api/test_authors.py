"""DELETE /v1/authors/{author_id}: a commenter's erasure (GDPR), checked by scanning every key Redis holds."""

from __future__ import annotations

import json
import uuid
from typing import Any

import redis
from flask.testing import FlaskClient

from service.store.webhooks import RetryState, WebhookStore
from tests.api.test_queue import BENIGN, REJECT_TEXT, audit, decide, submit
from tests.conftest import KEY_PREFIX, auth


def everything_stored(redis_client: redis.Redis) -> str:
    """Every key and value in the database, as one string to search."""
    dumped: list[str] = []
    for key in redis_client.scan_iter("*"):
        kind = redis_client.type(key)
        value: Any
        if kind == "string":
            value = redis_client.get(key)
        elif kind == "hash":
            value = redis_client.hgetall(key)
        elif kind == "zset":
            value = redis_client.zrange(key, 0, -1)
        elif kind == "set":
            value = sorted(redis_client.smembers(key))  # type: ignore[arg-type]
        elif kind == "list":
            value = redis_client.lrange(key, 0, -1)
        elif kind == "stream":
            value = redis_client.xrange(key)
        else:
            value = kind
        dumped.append(f"{key} {json.dumps(value, default=str)}")
    return "\n".join(sorted(dumped))


def test_erasure_leaves_no_text_of_the_author(client: FlaskClient, redis_client: redis.Redis) -> None:
    marker = uuid.uuid4().hex[:12]
    author = {"id": f"reader-{marker}", "name": f"Reader {marker}"}
    hook = {"url": "http://127.0.0.1:9/in", "secret": "s" * 16, "events": ["comment.rejected"]}
    assert client.put("/v1/admin/webhooks/desk", json=hook, headers=auth("admin")).status_code == 201
    texts = [f"{REJECT_TEXT} {marker}a", f"{REJECT_TEXT} {marker}b", f"{BENIGN} {marker}c"]
    ids = [submit(client, text, author=author, thread_id="t-erase")["id"] for text in texts]
    # Both rejections' events given up on by the webhook, one of them sent back: each quotes the author.
    webhooks: WebhookStore = client.application.extensions["moderation.service"].webhooks
    assert webhooks.hold("desk", "test", 30)
    for _ in ids[:2]:
        item = webhooks.next_item("desk", "worker", 10)
        assert item is not None
        webhooks.dead_letter("desk", "test", item, RetryState(5, 0.0, 0.0, "HTTP 500"))
    assert webhooks.replay("desk", [webhooks.dead_letters("desk", 1)[0].id]) == 1
    other = submit(client, REJECT_TEXT, author={"id": "someone-else"}, thread_id="t-erase")["id"]
    decided = decide(
        client, ids[0], "reject", reason="ABUSIVE", note=f"quoting {marker}", explanation=f"You wrote {marker}a"
    )
    assert decided.status_code == 200
    decide(client, other, "approve")
    assert marker in everything_stored(redis_client)

    assert client.delete(f"/v1/authors/{author['id']}", headers=auth("moderator")).status_code == 403
    response = client.delete(f"/v1/authors/{author['id']}", headers=auth("admin"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["author_id"] == author["id"]
    removed = body["removed"]
    assert removed["comments"] == 3 and removed["audit_texts"] == 1
    assert removed["feedback_labels"] >= 1 and removed["queue_entries"] >= 2

    stored = everything_stored(redis_client)
    assert marker not in stored
    for comment_id in ids:
        assert client.get(f"/v1/comments/{comment_id}", headers=auth("moderator")).status_code == 404
    assert client.get(f"/v1/authors/{author['id']}", headers=auth("moderator")).status_code == 404
    assert client.delete(f"/v1/authors/{author['id']}", headers=auth("admin")).status_code == 404

    # The bare fact of the decision stays; the other author's comment and its audit entry are untouched.
    entries = {entry["comment_id"]: entry for entry in audit(redis_client)}
    fact = entries[ids[0]]
    assert (fact["action"], fact["decided_by"], fact["reason"]) == ("reject", "mod-ann", "ABUSIVE")
    assert "note" not in fact and "overridden_verdict" not in fact and "explanation" not in fact
    assert entries[other]["overridden_verdict"]
    assert client.get(f"/v1/comments/{other}", headers=auth("moderator")).get_json()["status"] == "approved"
    context = client.get(f"/v1/comments/{other}/context", headers=auth("moderator")).get_json()
    assert context["neighbours"] == []
    listed = client.get("/v1/queue", headers=auth("moderator")).get_json()["items"]
    assert [item["id"] for item in listed] == []
    assert redis_client.zcard(f"{KEY_PREFIX}queue:rejected") == 0


def test_erasure_of_an_unknown_author_is_404(client: FlaskClient, redis_client: redis.Redis) -> None:
    submit(client, REJECT_TEXT, author={"id": "kept"})
    before = everything_stored(redis_client)
    response = client.delete("/v1/authors/nobody", headers=auth("admin"))
    assert response.status_code == 404
    assert response.get_json()["error"]["field"] == "author_id"
    assert everything_stored(redis_client) == before


def test_any_author_id_can_be_erased(client: FlaskClient) -> None:
    for author_id in ("site/42", "mail:reader@example.org"):
        submit(client, REJECT_TEXT, author={"id": author_id})
        assert client.get(f"/v1/authors/{author_id}", headers=auth("moderator")).get_json()["total"] == 1
        response = client.delete(f"/v1/authors/{author_id}", headers=auth("admin"))
        assert response.status_code == 200, author_id
        assert response.get_json()["removed"]["comments"] == 1


def test_an_empty_author_id_is_refused(client: FlaskClient, redis_client: redis.Redis) -> None:
    response = client.post(
        "/v1/comments",
        json={"id": "c-empty-author", "text": REJECT_TEXT, "author": {"id": ""}},
        headers=auth("submitter"),
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "author.id"
    assert not redis_client.exists(f"{KEY_PREFIX}comment:c-empty-author")
