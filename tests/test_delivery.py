"""Webhook delivery against a real HTTP receiver: signed, in order, retried, given up on, replayed.

The sender runs in this process (the worker's own dispatcher, in a thread) over the real Redis; the receiver is a
real HTTP server on loopback that checks every signature. tests/e2e/test_webhook_worker.py kills a worker process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.config import Settings
from service.delivery import retry_delay, run_dispatcher
from service.store.webhooks import WebhookStore
from tests.api.test_queue import REJECT_TEXT, REVIEW_TEXT, decide, submit
from tests.conftest import auth
from tests.webhook_receiver import Receiver

SECRET = "a-receiver-secret-of-some-length"
ALL_EVENTS = ["comment.held", "comment.rejected", "comment.decided", "comment.reopened"]


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "MODERATION_WEBHOOK_RETRY_SECONDS": "0.05", "MODERATION_WEBHOOK_TIMEOUT_SECONDS": "2"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(SECRET, fail_first=3).start()
    yield started
    started.stop()


class Dispatcher:
    """The worker's dispatcher in a thread, stopped at the end of the test."""

    def __init__(self, app: Flask) -> None:
        self.store: WebhookStore = app.extensions["moderation.service"].webhooks
        self.settings: Settings = app.config["SETTINGS"]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=run_dispatcher, args=(self.store, self.settings, self.stop))

    def __enter__(self) -> Dispatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def put_hook(client: FlaskClient, name: str, url: str, **spec: Any) -> dict[str, Any]:
    body = {"url": url, "secret": SECRET, "events": ALL_EVENTS, **spec}
    response = client.put(f"/v1/admin/webhooks/{name}", json=body, headers=auth("admin"))
    assert response.status_code in (200, 201), response.get_json()
    document: dict[str, Any] = response.get_json()
    return document


def logged_events(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get("/v1/events", headers=auth("moderator"))
    events: list[dict[str, Any]] = response.get_json()["events"]
    return events


def delivery(client: FlaskClient, name: str) -> dict[str, Any]:
    counts: dict[str, Any] = client.get(f"/v1/admin/webhooks/{name}", headers=auth("admin")).get_json()["delivery"]
    return counts


def wait_until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_retry_delays_double_up_to_an_hour() -> None:
    assert [retry_delay(n, 10.0) for n in (1, 2, 3, 4)] == [10.0, 20.0, 40.0, 80.0]
    assert retry_delay(30, 10.0) == 3600.0


def test_a_receiver_failing_three_times_gets_every_event_as_sent_and_in_order(
    app: Flask, client: FlaskClient, receiver: Receiver
) -> None:
    put_hook(client, "site", receiver.url)
    held = submit(client, REVIEW_TEXT)["id"]
    rejected = submit(client, REJECT_TEXT)["id"]
    assert decide(client, held, "approve").status_code == 200
    assert decide(client, rejected, "reject", reason="ABUSIVE").status_code == 200
    assert client.post(f"/v1/queue/{rejected}/reopen", headers=auth("moderator")).status_code == 200
    events = logged_events(client)
    assert len(events) == 5

    with Dispatcher(app):
        accepted = receiver.wait_for(len(events))

    assert [d.status for d in receiver.attempts[:3]] == [503, 503, 503]
    assert {d.event_id for d in receiver.attempts[:3]} == {events[0]["id"]}  # head of line: the first, three times
    assert [json.loads(d.body) for d in accepted] == events  # exactly as the pull feed has them, in order
    assert [d.event_type for d in accepted] == [e["type"] for e in events]
    assert all(d.signed for d in receiver.attempts)
    assert delivery(client, "site") | {"oldest_pending_seconds": None} == {
        "delivered": 5,
        "failed": 3,
        "dead_lettered": 0,
        "dead_letters": 0,
        "pending": 0,
        "oldest_pending_seconds": None,
    }


def test_a_receiver_that_was_down_gets_its_events_when_it_comes_back(app: Flask, client: FlaskClient) -> None:
    down = Receiver(SECRET)  # its port, with nothing listening yet
    put_hook(client, "late", down.url)
    ids = [submit(client, REJECT_TEXT)["id"] for _ in range(3)]
    pending = delivery(client, "late")
    assert pending["pending"] == 3 and pending["oldest_pending_seconds"] >= 0
    with Dispatcher(app):
        wait_until(lambda: delivery(client, "late")["failed"] >= 2)
        assert delivery(client, "late")["delivered"] == 0
        down.start()
        try:
            accepted = down.wait_for(3)
        finally:
            down.stop()
    assert [json.loads(d.body)["comment"]["id"] for d in accepted] == ids


def test_an_event_given_up_on_becomes_a_dead_letter_and_replays(
    app: Flask, client: FlaskClient, env: dict[str, str]
) -> None:
    refusing = Receiver(SECRET, fail_first=10**6).start()
    try:
        put_hook(client, "gone", refusing.url)
        first = submit(client, REJECT_TEXT, author={"id": "reader-7"})["id"]
        second = submit(client, REJECT_TEXT)["id"]
        app.config["SETTINGS"] = app.config["SETTINGS"].model_copy(update={"webhook_give_up_seconds": 0.3})
        with Dispatcher(app):
            wait_until(lambda: delivery(client, "gone")["dead_letters"] == 2)
        letters = client.get("/v1/admin/webhooks/gone/dead-letters", headers=auth("admin")).get_json()
        assert [letter["comment_id"] for letter in letters["dead_letters"]] == [first, second]
        assert letters["dead_letters"][0]["last_error"] == "HTTP 503"
        assert letters["dead_letters"][0]["attempts"] >= 2
        assert letters["dead_letters"][0]["event"] == logged_events(client)[0]

        refusing.fail_first = 0
        replayed = client.post(
            "/v1/admin/webhooks/gone/dead-letters/replay",
            json={"ids": [letters["dead_letters"][1]["id"]]},
            headers=auth("admin"),
        )
        assert replayed.get_json() == {"replayed": 1}
        with Dispatcher(app):
            accepted = refusing.wait_for(1)
        assert json.loads(accepted[0].body)["comment"]["id"] == second
        assert delivery(client, "gone")["dead_letters"] == 1

        # The dead letter left quotes reader-7's comment: their erasure takes it.
        assert client.delete("/v1/authors/reader-7", headers=auth("admin")).status_code == 200
        assert delivery(client, "gone")["dead_letters"] == 0
    finally:
        refusing.stop()


def test_a_backlog_older_than_the_retry_period_gets_one_try_each(app: Flask, client: FlaskClient) -> None:
    """A receiver down longer than the period: each waiting event is tried once more, then dead-lettered, so the
    backlog does not wait a further period per event."""
    refusing = Receiver(SECRET, fail_first=10**6).start()
    try:
        put_hook(client, "stale", refusing.url)
        for _ in range(3):
            submit(client, REJECT_TEXT)
        time.sleep(1.2)  # the events are now older than the period below
        app.config["SETTINGS"] = app.config["SETTINGS"].model_copy(update={"webhook_give_up_seconds": 1.0})
        with Dispatcher(app):
            wait_until(lambda: delivery(client, "stale")["dead_letters"] == 3)
        assert len(refusing.attempts) == 3
    finally:
        refusing.stop()


def test_a_webhook_is_sent_only_its_events_and_sites(app: Flask, client: FlaskClient, receiver: Receiver) -> None:
    receiver.fail_first = 0
    put_hook(client, "news-decisions", receiver.url, events=["comment.decided"], sites=["news"])
    news = submit(client, REVIEW_TEXT, site="news")["id"]
    sport = submit(client, REVIEW_TEXT, site="sport")["id"]
    for comment_id in (news, sport):
        assert decide(client, comment_id, "reject", reason="ABUSIVE").status_code == 200
    with Dispatcher(app):
        accepted = receiver.wait_for(1)
        wait_until(lambda: delivery(client, "news-decisions")["pending"] == 0)
    assert [(d.event_type, json.loads(d.body)["comment"]["id"]) for d in accepted] == [("comment.decided", news)]
    assert delivery(client, "news-decisions")["delivered"] == 1
