"""GET /v1/audit and GET /v1/transparency, against a queue each test builds through the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.test_queue import BENIGN, REJECT_TEXT, REVIEW_TEXT, decide, submit
from tests.conftest import API_KEYS, auth

BOB = {"Authorization": "Bearer bob-secret"}


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "MODERATION_API_KEYS": API_KEYS + ",mod-bob:moderator:bob-secret"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_queue(client: FlaskClient) -> dict[str, Any]:
    """Two sites; a published comment, held ones decided by two moderators with reasons, one undone."""
    ids = {
        "published": submit(client, BENIGN, site="news")["id"],
        "rejected": submit(client, REJECT_TEXT, site="news")["id"],
        "approved": submit(client, REVIEW_TEXT, site="news")["id"],
        "bob": submit(client, REJECT_TEXT, site="sport")["id"],
        "undone": submit(client, REJECT_TEXT, site="news")["id"],
        "pending": submit(client, REVIEW_TEXT, site="news")["id"],
    }
    assert decide(client, ids["rejected"], "reject", reason="ABUSIVE", note="quotes a slur").status_code == 200
    assert decide(client, ids["approved"], "approve").status_code == 200
    bob = client.post(
        f"/v1/queue/{ids['bob']}/decision", json={"action": "reject", "reason": "HATE_SPEECH"}, headers=BOB
    )
    assert bob.status_code == 200
    assert decide(client, ids["undone"], "approve").status_code == 200
    assert client.post(f"/v1/queue/{ids['undone']}/reopen", headers=auth("moderator")).status_code == 200
    return ids


def audit_page(client: FlaskClient, **query: Any) -> dict[str, Any]:
    response = client.get("/v1/audit", query_string=query, headers=auth("admin"))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_audit_pages_oldest_first_with_filters(client: FlaskClient) -> None:
    ids = build_queue(client)
    everything = audit_page(client)["entries"]
    assert [(e["comment_id"], e["action"]) for e in everything] == [
        (ids["rejected"], "reject"),
        (ids["approved"], "approve"),
        (ids["bob"], "reject"),
        (ids["undone"], "approve"),
        (ids["undone"], "reopen"),
    ]
    first = everything[0]
    assert first["decided_by"] == "mod-ann" and first["reason"] == "ABUSIVE" and first["note"] == "quotes a slur"
    assert first["overridden_decision"] == "reject" and first["held_at"] and "insult" in first["flags"]

    assert [e["comment_id"] for e in audit_page(client, moderator="mod-bob")["entries"]] == [ids["bob"]]
    assert {e["site"] for e in audit_page(client, site="news")["entries"]} == {"news"}
    assert [e["comment_id"] for e in audit_page(client, action="reopen")["entries"]] == [ids["undone"]]

    pages, cursor = [], None
    while True:
        page = audit_page(client, limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append([e["id"] for e in page["entries"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [[e["id"] for e in everything[i : i + 2]] for i in range(0, 5, 2)]

    later = stamp(datetime.now(UTC) + timedelta(minutes=1))
    assert audit_page(client, **{"from": later})["entries"] == []
    assert len(audit_page(client, to=later)["entries"]) == 5


def test_audit_exports_json_lines(client: FlaskClient) -> None:
    build_queue(client)
    response = client.get("/v1/audit", query_string={"format": "jsonl", "site": "news"}, headers=auth("admin"))
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert lines == audit_page(client, site="news")["entries"]
    empty = client.get("/v1/audit", query_string={"format": "jsonl", "site": "none"}, headers=auth("admin"))
    assert empty.status_code == 200 and empty.get_data() == b""


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "to"),
        ({"action": "delete"}, "action"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "1-99999999999999999999"}, "cursor"),
        ({"from": "1969-01-01T00:00:00Z"}, "from"),
        ({"to": "1969-12-31T23:59:59Z"}, "to"),
    ],
)
def test_audit_bad_queries(client: FlaskClient, query: dict[str, str], field: str) -> None:
    response = client.get("/v1/audit", query_string=query, headers=auth("admin"))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_audit_is_for_admins(client: FlaskClient) -> None:
    assert client.get("/v1/audit", headers=auth("moderator")).status_code == 403
    assert client.get("/v1/transparency", headers=auth("moderator")).status_code == 403


def transparency(client: FlaskClient, **query: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    period = {"from": stamp(now - timedelta(hours=1)), "to": stamp(now + timedelta(hours=1)), **query}
    response = client.get("/v1/transparency", query_string=period, headers=auth("admin"))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_transparency_figures_match_the_queue_built(client: FlaskClient) -> None:
    build_queue(client)
    report = transparency(client)
    automated = report["automated"]
    assert automated["total"] == 6
    assert automated["by_decision"]["allow"] == 1
    assert automated["by_decision"]["review"] + automated["by_decision"]["reject"] == 5
    assert automated["by_category"]["conspiracy"] == 2

    human = report["human"]
    assert human["total"] == 4
    assert human["by_action"] == {"approve": 2, "reject": 2}
    assert human["by_reason"] == {"ABUSIVE": 1, "HATE_SPEECH": 1}
    assert human["by_category"]["conspiracy"] == {"approve": 1, "reject": 0}
    assert human["reopened"] == 1
    assert report["overturned"]["held"] == 4 and report["overturned"]["approved"] == 2
    assert report["overturned"]["rate"] == 0.5
    waits = report["time_to_decision_seconds"]
    assert waits["count"] == 4 and 0 <= waits["median"] <= waits["p90"] < 120

    sport = transparency(client, site="sport")
    assert sport["automated"]["total"] == 1 and sport["human"]["by_action"] == {"approve": 0, "reject": 1}
    assert sport["overturned"]["rate"] == 0.0

    before = transparency(client, **{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"})
    assert before["automated"]["total"] == 0 and before["human"]["total"] == 0
    assert before["overturned"]["rate"] is None and before["time_to_decision_seconds"]["median"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}, "to"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}, "to"),
        ({"to": "2026-02-01T00:00:00Z"}, "from"),
        ({"from": "2026-01-01", "to": "2026-02-01T00:00:00Z"}, "from"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "site": "a b"}, "site"),
        ({"from": "1969-06-01T00:00:00Z", "to": "1969-06-02T00:00:00Z"}, "from"),
    ],
)
def test_transparency_bad_periods(client: FlaskClient, query: dict[str, str], field: str) -> None:
    response = client.get("/v1/transparency", query_string=query, headers=auth("admin"))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_the_largest_cursor_is_an_empty_page(client: FlaskClient) -> None:
    build_queue(client)
    assert audit_page(client, cursor="18446744073709551615-18446744073709551615") == {
        "entries": [],
        "next_cursor": None,
    }
    assert audit_page(client, to="1970-01-01T00:00:00.001Z")["entries"] == []
