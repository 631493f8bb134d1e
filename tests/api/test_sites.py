"""Sites through the API: the site a comment belongs to, keys limited to sites, and per-site queues and metrics."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.keys import Keys
from service.store.feedback import FeedbackStore
from tests.api.test_queue import REVIEW_TEXT, decide, ids, new_id, page, submit
from tests.conftest import KEY_PREFIX, auth

# The moderator key may use `sport` only, the submitter key `sport` and `news`.
KEY_SITES = "mod-ann=sport;site=sport|news"


@pytest.fixture
def limited_app(env: dict[str, str], redis_client: redis.Redis) -> Flask:
    return create_app({**env, "MODERATION_KEY_SITES": KEY_SITES})


@pytest.fixture
def limited(limited_app: Flask) -> FlaskClient:
    return limited_app.test_client()


def test_a_comment_belongs_to_its_site_and_keeps_it(client: FlaskClient) -> None:
    record = submit(client, REVIEW_TEXT, comment_id="c-site", site="news")
    assert record["site"] == "news" and record["verdict"]["site"] == "news"
    assert submit(client, REVIEW_TEXT)["site"] == "default"
    moved = client.post(
        "/v1/comments", json={"id": "c-site", "text": "edited", "site": "sport"}, headers=auth("submitter")
    )
    assert moved.status_code == 409 and moved.get_json()["error"]["field"] == "site"
    assert client.get("/v1/comments/c-site", headers=auth("moderator")).get_json()["version"] == 1


def test_a_limited_key_submits_to_its_sites_only(limited: FlaskClient, redis_client: redis.Redis) -> None:
    assert submit(limited, REVIEW_TEXT, site="news")["site"] == "news"
    for site in ("politics", None):  # no site: the default site, which this key may not use
        body: dict[str, Any] = {"id": new_id(), "text": REVIEW_TEXT, **({"site": site} if site else {})}
        response = limited.post("/v1/comments", json=body, headers=auth("submitter"))
        assert response.status_code == 403 and response.get_json()["error"]["field"] == "site"
        assert not redis_client.exists(Keys(KEY_PREFIX).comment(body["id"]))


def test_a_limited_key_reads_lists_and_decides_its_sites_only(limited: FlaskClient, client: FlaskClient) -> None:
    ours = submit(client, REVIEW_TEXT, site="sport")
    theirs = submit(client, REVIEW_TEXT, site="news")
    assert limited.get(f"/v1/comments/{theirs['id']}", headers=auth("moderator")).status_code == 403
    assert limited.get(f"/v1/comments/{ours['id']}", headers=auth("moderator")).status_code == 200
    refused = decide(limited, theirs["id"], "approve")
    assert refused.status_code == 403 and refused.get_json()["error"]["field"] == "site"
    assert client.get(f"/v1/comments/{theirs['id']}", headers=auth("moderator")).get_json()["status"] == "pending"

    # Its queue is its one site, unasked; another site's queue and stats are refused.
    assert ids(page(limited)) == [ours["id"]]
    assert limited.get("/v1/queue", query_string={"site": "news"}, headers=auth("moderator")).status_code == 403
    assert limited.get("/v1/queue/stats", query_string={"site": "news"}, headers=auth("moderator")).status_code == 403
    stats = limited.get("/v1/queue/stats", headers=auth("moderator")).get_json()
    assert stats["by_status"]["pending"] == 1
    assert decide(limited, ours["id"], "approve").status_code == 200


def test_a_key_limited_to_several_sites_sees_each_and_names_one_for_stats(
    limited: FlaskClient, client: FlaskClient
) -> None:
    sport, news = submit(client, REVIEW_TEXT, site="sport"), submit(client, REVIEW_TEXT, site="news")
    submit(client, REVIEW_TEXT, site="politics")
    # The submitter key cannot read the queue; an admin-made limit on a moderator key with two sites can.
    client.put("/v1/admin/keys/mod-ann/sites", json={"sites": ["sport", "news"]}, headers=auth("admin"))
    assert sorted(ids(page(client, role="moderator"))) == sorted([sport["id"], news["id"]])
    assert ids(page(client, role="moderator", site="news")) == [news["id"]]
    response = client.get("/v1/queue/stats", headers=auth("moderator"))
    assert response.status_code == 403 and response.get_json()["error"]["field"] == "site"


def test_queue_and_stats_filter_by_site(client: FlaskClient) -> None:
    first = submit(client, REVIEW_TEXT, site="sport")
    submit(client, REVIEW_TEXT, site="news")
    assert ids(page(client, site="sport")) == [first["id"]]
    flagged = page(client, site="sport", flag="conspiracy")
    assert ids(flagged) == [first["id"]]
    stats = client.get("/v1/queue/stats", query_string={"site": "sport"}, headers=auth("moderator")).get_json()
    assert stats["by_status"]["pending"] == 1 and stats["pending_by_flag"]["conspiracy"] == 1
    everything = client.get("/v1/queue/stats", headers=auth("moderator")).get_json()
    assert everything["by_status"]["pending"] == 2


def test_a_wordlist_flag_can_be_queued_and_filtered(client: FlaskClient) -> None:
    client.put("/v1/admin/wordlists/w", json={"action": "review", "terms": ["thunderbolt"]}, headers=auth("admin"))
    held = submit(client, "The thunderbolt parade starts at noon.", site="sport")
    assert held["status"] == "pending" and held["verdict"]["flags"] == ["wordlist"]
    assert ids(page(client, flag="wordlist")) == [held["id"]]


def test_metrics_count_decisions_and_queues_by_site(client: FlaskClient) -> None:
    submit(client, REVIEW_TEXT, site="sport")
    submit(client, REVIEW_TEXT, site="news")
    text = client.get("/metrics", query_string={"site": "sport"}).get_data(as_text=True)
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all('site="sport"' in line for line in samples)
    assert 'moderation_decisions_total{decision="review",site="sport"} 1.0' in samples
    assert 'moderation_site_queue_depth{site="sport",status="pending"} 1.0' in samples
    whole = client.get("/metrics").get_data(as_text=True)
    assert 'site="news"' in whole and "moderation_http_requests_total" in whole
    assert client.get("/metrics", query_string={"site": "not a site"}).status_code == 422


def test_decisions_label_feedback_with_the_site(client: FlaskClient, redis_client: redis.Redis) -> None:
    record = submit(client, REVIEW_TEXT, site="sport")
    assert decide(client, record["id"], "reject").status_code == 200
    other = submit(client, REVIEW_TEXT, site="news")
    assert decide(client, other["id"], "approve").status_code == 200
    store = FeedbackStore(redis_client, Keys(KEY_PREFIX))
    assert {label.site for label in store.export()} == {"sport", "news"}
    assert {label.comment_id for label in store.export(site="sport")} == {record["id"]}
