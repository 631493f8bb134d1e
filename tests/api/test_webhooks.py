"""The admin API of webhooks: setting them, the bad input it refuses, the configured ones it only shows, dead
letters, and the metrics of delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tests.api.test_queue import REJECT_TEXT, submit
from tests.conftest import KEY_PREFIX, auth

SECRET = "0123456789abcdef-secret"
HOOK = {"url": "https://news.example/hooks/moderation", "secret": SECRET, "events": ["comment.decided"]}
CONFIGURED = {"name": "desk", "url": "http://desk.internal/in", "secret": SECRET, "events": ["comment.held"]}


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "MODERATION_WEBHOOKS": json.dumps([CONFIGURED])}


def put(client: FlaskClient, name: str, body: Any, role: str = "admin") -> Any:
    return client.put(f"/v1/admin/webhooks/{name}", json=body, headers=auth(role))


def test_set_read_change_and_remove_a_webhook(client: FlaskClient, redis_client: redis.Redis) -> None:
    created = put(client, "newsroom", HOOK)
    assert created.status_code == 201
    body = created.get_json()
    assert body["url"] == HOOK["url"] and body["events"] == ["comment.decided"] and body["sites"] is None
    assert body["source"] == "admin" and body["updated_by"] == "root"
    assert "secret" not in body and SECRET not in created.get_data(as_text=True)
    assert body["delivery"] == {
        "delivered": 0,
        "failed": 0,
        "dead_lettered": 0,
        "dead_letters": 0,
        "pending": 0,
        "oldest_pending_seconds": None,
    }

    submit(client, REJECT_TEXT)  # written after the webhook was made: it is owed this event
    changed = put(client, "newsroom", {**HOOK, "events": ["comment.rejected"], "sites": ["default"]})
    assert changed.status_code == 200
    assert changed.get_json()["delivery"]["pending"] == 1  # a change keeps the webhook's place

    listed = client.get("/v1/admin/webhooks", headers=auth("admin")).get_json()["webhooks"]
    assert [(h["name"], h["source"]) for h in listed] == [("desk", "environment"), ("newsroom", "admin")]
    assert listed[1]["events"] == ["comment.rejected"] and listed[1]["sites"] == ["default"]

    assert client.delete("/v1/admin/webhooks/newsroom", headers=auth("admin")).status_code == 204
    assert client.get("/v1/admin/webhooks/newsroom", headers=auth("admin")).status_code == 404
    assert client.delete("/v1/admin/webhooks/newsroom", headers=auth("admin")).status_code == 404
    groups = [g["name"] for g in redis_client.xinfo_groups(f"{KEY_PREFIX}events")]  # type: ignore[union-attr]
    assert groups == ["webhook:desk"]  # the configured one's place was made at start-up


def test_a_new_webhook_is_sent_only_what_is_written_after_it(client: FlaskClient) -> None:
    submit(client, REJECT_TEXT)
    assert put(client, "later", {**HOOK, "events": ["comment.rejected"]}).get_json()["delivery"]["pending"] == 0


def test_a_configured_webhook_is_shown_but_changed_only_in_the_environment(client: FlaskClient) -> None:
    shown = client.get("/v1/admin/webhooks/desk", headers=auth("admin")).get_json()
    assert shown["source"] == "environment" and shown["url"] == CONFIGURED["url"]
    for response in (put(client, "desk", HOOK), client.delete("/v1/admin/webhooks/desk", headers=auth("admin"))):
        assert response.status_code == 409
        assert response.get_json()["error"]["field"] == "name"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://news.example/in"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "http://news.example:abc/in"}, "url"),
        ({"url": "http://news.example:99999/in"}, "url"),
        ({"url": "http://news.example/in\x7f"}, "url"),
        ({"events": ["comment.deleted"]}, "events"),
        ({"events": []}, "events"),
        ({"events": ["comment.held", "comment.held"]}, "events"),
        ({"events": "comment.held"}, "events"),
        ({"events": [{}]}, "events"),
        ({"secret": "short"}, "secret"),
        ({"sites": ["bad site"]}, "sites.0"),
        ({"sites": []}, "sites"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    client: FlaskClient, change: dict[str, Any], field: str
) -> None:
    response = put(client, "newsroom", {**HOOK, **change})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert client.get("/v1/admin/webhooks/newsroom", headers=auth("admin")).status_code == 404


def test_missing_fields_and_bad_names(client: FlaskClient) -> None:
    for missing in ("url", "secret", "events"):
        response = put(client, "newsroom", {k: v for k, v in HOOK.items() if k != missing})
        assert response.status_code == 422 and response.get_json()["error"]["field"] == missing
    assert put(client, "bad name!", HOOK).status_code == 422
    assert client.get("/v1/admin/webhooks/nothing/dead-letters", headers=auth("admin")).status_code == 404
    assert client.post("/v1/admin/webhooks/nothing/dead-letters/replay", headers=auth("admin")).status_code == 404


def test_only_admins(client: FlaskClient) -> None:
    assert put(client, "newsroom", HOOK, role="moderator").status_code == 403
    assert client.get("/v1/admin/webhooks", headers=auth("submitter")).status_code == 403
    assert client.get("/v1/admin/webhooks").status_code == 401


def test_replay_takes_no_body_or_event_ids(client: FlaskClient) -> None:
    put(client, "newsroom", HOOK)
    replay = "/v1/admin/webhooks/newsroom/dead-letters/replay"
    assert client.post(replay, headers=auth("admin")).get_json() == {"replayed": 0}
    bad = client.post(replay, json={"ids": ["yesterday"]}, headers=auth("admin"))
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "ids"
    assert client.get("/v1/admin/webhooks/newsroom/dead-letters?limit=0", headers=auth("admin")).status_code == 422


def test_metrics_report_each_webhooks_delivery(client: FlaskClient) -> None:
    put(client, "newsroom", {**HOOK, "events": ["comment.rejected"]})
    submit(client, REJECT_TEXT)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'moderation_webhook_pending{webhook="newsroom"} 1.0' in text
    assert 'moderation_webhook_pending{webhook="desk"} 1.0' in text
    assert 'moderation_webhook_delivered_total{webhook="newsroom"} 0.0' in text
    assert 'moderation_webhook_failed_total{webhook="newsroom"} 0.0' in text
    assert 'moderation_webhook_dead_letters{webhook="newsroom"} 0.0' in text
    oldest = next(line for line in text.splitlines() if line.startswith("moderation_webhook_oldest_pending_seconds"))
    assert float(oldest.split()[-1]) >= 0
