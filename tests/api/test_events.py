"""GET /v1/events: each change a comment goes through, in order, written in the change's own transaction."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tests.api.test_queue import BENIGN, REJECT_TEXT, REVIEW_TEXT, decide, submit
from tests.conftest import API_KEYS, KEY_PREFIX, auth

NEWS_KEY = {"Authorization": "Bearer news-secret"}


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "MODERATION_API_KEYS": API_KEYS + ",news-backend:submitter:news-secret",
        "MODERATION_KEY_SITES": "news-backend=news",
    }


def read(client: FlaskClient, headers: dict[str, str] | None = None, **query: Any) -> dict[str, Any]:
    response = client.get("/v1/events", query_string=query, headers=headers or auth("submitter"))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_every_change_is_an_event_in_order(client: FlaskClient) -> None:
    submit(client, BENIGN)  # allowed: nothing to report
    held = submit(client, REVIEW_TEXT)["id"]
    rejected = submit(client, REJECT_TEXT)["id"]
    decide(client, held, "approve")
    decide(client, rejected, "reject", reason="ABUSIVE")
    assert client.post(f"/v1/queue/{rejected}/reopen", headers=auth("moderator")).status_code == 200

    events = read(client)["events"]
    assert [(e["type"], e["comment"]["id"]) for e in events] == [
        ("comment.held", held),
        ("comment.rejected", rejected),
        ("comment.decided", held),
        ("comment.decided", rejected),
        ("comment.reopened", rejected),
    ]
    assert events[3]["comment"]["status"] == "rejected"
    assert events[3]["comment"]["moderation"]["reason"] == "ABUSIVE"
    assert events[4]["comment"]["status"] == "pending"
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert all(e["created_at"] for e in events)


def test_paging_with_after(client: FlaskClient) -> None:
    ids = [submit(client, REJECT_TEXT)["id"] for _ in range(5)]
    first = read(client, limit=2)
    assert [e["comment"]["id"] for e in first["events"]] == ids[:2]
    rest = read(client, after=first["next_after"])
    assert [e["comment"]["id"] for e in rest["events"]] == ids[2:]
    nothing = read(client, after=rest["next_after"])
    assert nothing == {"events": [], "next_after": rest["next_after"]}


def test_a_site_key_reads_its_own_sites_events(client: FlaskClient) -> None:
    news = submit(client, REJECT_TEXT, site="news")["id"]
    submit(client, REJECT_TEXT, site="sport")
    assert [e["comment"]["id"] for e in read(client, NEWS_KEY)["events"]] == [news]
    assert client.get("/v1/events?site=sport", headers=NEWS_KEY).status_code == 403
    assert len(read(client, site="sport")["events"]) == 1
    assert len(read(client, auth("moderator"))["events"]) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("after=abc", "after"),
        ("after=99999999999999999999-0", "after"),
        ("after=1-99999999999999999999", "after"),
        ("limit=0", "limit"),
        ("site=a%20b", "site"),
    ],
)
def test_bad_queries(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/v1/events?{query}", headers=auth("submitter"))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_erasure_removes_the_authors_events(client: FlaskClient, redis_client: redis.Redis) -> None:
    mine = submit(client, REJECT_TEXT, author={"id": "erased-reader"})["id"]
    other = submit(client, REJECT_TEXT, author={"id": "kept-reader"})["id"]
    assert client.delete("/v1/authors/erased-reader", headers=auth("admin")).status_code == 200
    assert [e["comment"]["id"] for e in read(client)["events"]] == [other]
    assert mine not in str(redis_client.xrange(f"{KEY_PREFIX}events"))


def test_after_the_largest_id_is_empty(client: FlaskClient) -> None:
    submit(client, REJECT_TEXT)
    last = "18446744073709551615-18446744073709551615"
    assert read(client, after=last) == {"events": [], "next_after": last}
    assert len(read(client, after="1-18446744073709551615")["events"]) == 1
