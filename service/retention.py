"""Retention: what the service keeps of comments no longer than MODERATION_RETENTION_DAYS, swept by the worker.

A sweep removes the comments no moderator still has to decide whose record last changed before the cutoff (as an
author's erasure removes them), the feedback labels, events and webhook dead letters written before it, and the
text audit entries before it quote; the audit entries' bare facts stay. One worker sweeps at a time, across
replicas, under a lock in Redis.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass

import redis

from service.config import Settings
from service.keys import Keys
from service.store.audit import AuditLog
from service.store.comments import CommentStore
from service.store.events import EventLog
from service.store.feedback import FeedbackStore
from service.store.webhooks import WebhookStore
from service.webhooks import ConfiguredWebhook

_log = logging.getLogger(__name__)
DAY_MS = 24 * 3600 * 1000
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


@dataclass(frozen=True)
class Swept:
    cutoff_ms: int
    comments: int
    feedback_labels: int
    audit_texts: int
    events: int
    webhook_dead_letters: int


def sweep(
    client: redis.Redis,
    keys: Keys,
    days: int,
    now_ms: int | None = None,
    webhooks: tuple[ConfiguredWebhook, ...] = (),
) -> Swept:
    cutoff = (now_ms if now_ms is not None else int(time.time() * 1000)) - days * DAY_MS
    return Swept(
        cutoff_ms=cutoff,
        comments=CommentStore(client, keys).expire_before(cutoff),
        feedback_labels=FeedbackStore(client, keys).trim_before(cutoff),
        audit_texts=AuditLog(client, keys).drop_texts_before(cutoff),
        events=EventLog(client, keys).trim_before(cutoff),
        webhook_dead_letters=WebhookStore(client, keys, webhooks).drop_dead_before(cutoff),
    )


def sweep_once(client: redis.Redis, keys: Keys, settings: Settings) -> Swept | None:
    """A sweep, unless retention is off or another worker holds the lock (then None)."""
    if settings.retention_days is None:
        return None
    lock_seconds = max(60, int(settings.worker_interval_seconds))
    token = uuid.uuid4().hex
    if not client.set(keys.retention_lock(), token, nx=True, ex=lock_seconds):
        return None
    try:
        swept = sweep(client, keys, settings.retention_days, webhooks=settings.webhooks)
    finally:
        # Only our own lock: a sweep that outlived it must not free another worker's.
        client.eval(_RELEASE, 1, keys.retention_lock(), token)
    _log.info("retention sweep %s", json.dumps(asdict(swept)))
    return swept


def run_worker(client: redis.Redis, keys: Keys, settings: Settings, stop: threading.Event) -> None:
    """Sweep every `worker_interval_seconds` until `stop` is set; a Redis outage is logged and waited out."""
    while not stop.is_set():
        try:
            sweep_once(client, keys, settings)
        except redis.RedisError as exc:
            _log.warning("retention sweep failed, retrying at the next interval: %s", exc)
        stop.wait(settings.worker_interval_seconds)
