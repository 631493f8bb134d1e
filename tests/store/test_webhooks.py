"""The webhook store on a real redis-server: what a webhook is owed first, what is skipped, the lock, dead letters
under erasure and retention, and the pending count."""

from __future__ import annotations

import json

import redis
from redis.client import Pipeline

from service.event_types import EventType
from service.keys import Keys
from service.retention import DAY_MS, sweep
from service.store.events import EventLog
from service.store.webhooks import Item, RetryState, WebhookStore
from service.webhooks import ConfiguredWebhook, WebhookSpec
from tests.store.test_comments import make_record

TOKEN = "this-worker"
SPEC = WebhookSpec.model_validate_json(
    '{"url": "http://127.0.0.1:9/in", "secret": "ssssssssssssssss", "events": ["comment.held"]}'
)


def add_event(client: redis.Redis, keys: Keys, comment_id: str) -> None:
    pipe: Pipeline = client.pipeline(transaction=True)
    EventLog(client, keys).add_to(pipe, EventType.HELD, make_record(comment_id))
    pipe.execute()


def read_one_event(client: redis.Redis, keys: Keys) -> tuple[WebhookStore, Item]:
    """The admin webhook `desk`, its lock held by TOKEN, having read (not yet settled) the event about comment `a`."""
    store = WebhookStore(client, keys)
    store.put("desk", SPEC, "root")
    assert store.hold("desk", TOKEN, 30)
    add_event(client, keys, "a")
    item = store.next_item("desk", "worker", 10)
    assert item is not None and item.body is not None
    return store, item


def dead_letter_of_configured(
    client: redis.Redis, keys: Keys, name: str
) -> tuple[WebhookStore, ConfiguredWebhook, Item]:
    """A webhook of MODERATION_WEBHOOKS that gave up on one event about comment `a`."""
    configured = ConfiguredWebhook.model_validate_json(
        f'{{"name": "{name}", "url": "http://127.0.0.1:9/in", "secret": "ssssssssssssssss",'
        ' "events": ["comment.held"]}'
    )
    store = WebhookStore(client, keys, (configured,))
    store.ensure_group(name)
    assert store.hold(name, TOKEN, 30)
    add_event(client, keys, "a")
    item = store.next_item(name, "worker", 10)
    assert item is not None
    assert store.dead_letter(name, TOKEN, item, RetryState(9, 0.0, 0.0, "HTTP 500"))
    return store, configured, item


def test_the_webhook_is_owed_a_replay_then_its_unacknowledged_event_then_new_ones(
    redis_client: redis.Redis, keys: Keys
) -> None:
    store = WebhookStore(redis_client, keys)
    store.put("desk", SPEC, "root")
    assert store.hold("desk", TOKEN, 30)
    for comment_id in ("a", "b", "c"):
        add_event(redis_client, keys, comment_id)
    first = store.next_item("desk", "worker", 10)
    assert first is not None and first.kind == "stream" and json.loads(first.body or b"")["comment"]["id"] == "a"
    # Not acknowledged (the worker died): it comes again before anything new.
    again = store.next_item("desk", "worker", 10)
    assert again is not None and again.event_id == first.event_id
    store.dead_letter("desk", TOKEN, first, RetryState(3, 0.0, 0.0, "HTTP 500"))
    second = store.next_item("desk", "worker", 10)
    assert second is not None and json.loads(second.body or b"")["comment"]["id"] == "b"
    store.finish("desk", TOKEN, second, delivered=True)
    assert store.replay("desk") == 1
    replayed = store.next_item("desk", "worker", 10)
    assert replayed is not None and replayed.kind == "replay" and replayed.body == first.body
    store.finish("desk", TOKEN, replayed, delivered=True)
    counts = store.counts("desk")
    totals = (counts.delivered, counts.failed, counts.dead_lettered, counts.dead_letters, counts.pending)
    assert totals == (2, 1, 1, 0, 1)
    assert counts.oldest_pending_seconds is not None and counts.oldest_pending_seconds >= 0


def test_an_event_erased_before_delivery_leaves_nothing_to_send(redis_client: redis.Redis, keys: Keys) -> None:
    store, read = read_one_event(redis_client, keys)
    pipe = redis_client.pipeline(transaction=True)
    EventLog(redis_client, keys).erase_in(pipe, ["a"])
    pipe.execute()
    gone = store.next_item("desk", "worker", 10)
    assert gone is not None and gone.event_id == read.event_id and gone.body is None
    store.finish("desk", TOKEN, gone, delivered=False)
    assert store.next_item("desk", "worker", 10) is None
    assert store.counts("desk").pending == 0


def test_one_holder_of_a_webhooks_lock_at_a_time(redis_client: redis.Redis, keys: Keys) -> None:
    store = WebhookStore(redis_client, keys)
    assert store.hold("desk", "one", 5)
    assert store.hold("desk", "one", 5)  # renewed
    assert not store.hold("desk", "two", 5)
    store.let_go("desk", "two")  # not its lock: nothing happens
    assert not store.hold("desk", "two", 5)
    store.let_go("desk", "one")
    assert store.hold("desk", "two", 5)


def test_retention_drops_dead_letters_of_old_events(redis_client: redis.Redis, keys: Keys) -> None:
    store, configured, item = dead_letter_of_configured(redis_client, keys, "desk")
    now_ms = int(item.event_id.split("-")[0])
    assert sweep(redis_client, keys, days=30, now_ms=now_ms, webhooks=(configured,)).webhook_dead_letters == 0
    later = sweep(redis_client, keys, days=30, now_ms=now_ms + 31 * DAY_MS, webhooks=(configured,))
    assert later.webhook_dead_letters == 1 and store.dead_letters("desk", 10) == []


def test_a_worker_whose_lock_lapsed_writes_nothing(redis_client: redis.Redis, keys: Keys) -> None:
    """A slow delivery outlived the lock and another worker took over: the late outcome is refused."""
    store = WebhookStore(redis_client, keys)
    store.put("desk", SPEC, "root")
    add_event(redis_client, keys, "a")
    assert store.hold("desk", "late", 30)
    item = store.next_item("desk", "worker", 10)
    assert item is not None
    store.let_go("desk", "late")
    assert store.hold("desk", "other", 30)
    assert not store.finish("desk", "late", item, delivered=True)
    assert not store.dead_letter("desk", "late", item, RetryState(1, 0.0, 0.0, "HTTP 500"))
    assert not store.retry_later("desk", "late", item, RetryState(1, 0.0, 9.0, "HTTP 500"))
    assert store.retry_state("desk", item) is None and store.dead_letters("desk", 10) == []
    assert store.counts("desk").delivered == 0
    again = store.next_item("desk", "worker", 10)
    assert again is not None and again.event_id == item.event_id  # still owed, to the lock's holder
    assert store.finish("desk", "other", again, delivered=True)


def test_an_event_erased_during_its_last_attempt_is_no_dead_letter(redis_client: redis.Redis, keys: Keys) -> None:
    store, item = read_one_event(redis_client, keys)
    pipe = redis_client.pipeline(transaction=True)
    EventLog(redis_client, keys).erase_in(pipe, ["a"])
    store.erase_in(pipe, ["a"])
    pipe.execute()
    assert store.dead_letter("desk", TOKEN, item, RetryState(9, 0.0, 0.0, "HTTP 500"))
    assert store.dead_letters("desk", 10) == [] and store.counts("desk").pending == 0


def test_erasure_reaches_the_letters_of_a_webhook_no_longer_configured(redis_client: redis.Redis, keys: Keys) -> None:
    before, _, _ = dead_letter_of_configured(redis_client, keys, "old")
    after_restart = WebhookStore(redis_client, keys)  # MODERATION_WEBHOOKS no longer names it
    pipe = redis_client.pipeline(transaction=True)
    after_restart.erase_in(pipe, ["a"])
    pipe.execute()
    assert before.dead_letters("old", 10) == []
