"""Retention sweeps on a real redis-server: what goes at the cutoff, what stays, and the worker's command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import redis

from service.config import Settings
from service.keys import Keys
from service.policy import Decision
from service.redis_server import LocalRedis
from service.retention import DAY_MS, sweep, sweep_once
from service.schemas import CommentRecord, Reason, Status
from service.store.audit import AuditFilter, AuditLog
from service.store.comments import CommentStore, audit_entry
from service.store.feedback import Feedback, FeedbackStore
from service.timestamps import from_epoch_ms
from tests.conftest import ROOT
from tests.store.test_comments import _sha, decided_copy, make_record

KEYS = Keys("ret:")
NOW_MS = int(time.time() * 1000)


def aged(
    store: CommentStore, comment_id: str, days: float, *, pending: bool = False, decided: bool = False
) -> CommentRecord:
    """A record last changed `days` ago: published, pending, or rejected by a moderator."""
    stamp = from_epoch_ms(NOW_MS - days * DAY_MS)
    record = make_record(comment_id, decision=Decision.REVIEW if (pending or decided) else Decision.ALLOW)
    record = record.model_copy(update={"created_at": stamp, "updated_at": stamp})
    store.save(record, _sha(record.text), 0.5, 0)
    if decided:
        rejected = decided_copy(record, "reject")
        assert rejected.moderation is not None
        moderation = rejected.moderation.model_copy(update={"reason": Reason.SPAM, "decided_at": stamp})
        store.decide(
            rejected.model_copy(update={"updated_at": stamp, "moderation": moderation}), audit_entry(record, rejected)
        )
    return record


def test_a_sweep_removes_what_is_older_than_the_cutoff(redis_client: redis.Redis) -> None:
    store = CommentStore(redis_client, KEYS)
    old_published = aged(store, "old-published", 40)
    old_rejected = aged(store, "old-rejected", 40, decided=True)
    old_pending = aged(store, "old-pending", 40, pending=True)
    recent = aged(store, "recent", 2, decided=True)
    # Decided, then edited: pending again, so kept; its old decision's audit text is what a sweep removes.
    reopened = aged(store, "edited", 40, decided=True)
    edited = make_record("edited", version=2).model_copy(update={"updated_at": from_epoch_ms(NOW_MS)})
    store.save(edited, _sha(edited.text), 0.5, 1)
    feedback = FeedbackStore(redis_client, KEYS)
    feedback.add([Feedback(text="a label", attribute="toxicity", value=1.0, source="suggestscore")])

    swept = sweep(redis_client, KEYS, days=30, now_ms=NOW_MS)
    assert swept.comments == 2
    assert store.get(old_published.id) is None and store.get(old_rejected.id) is None
    kept = {r.id: store.get(r.id) for r in (old_pending, recent, reopened)}
    assert all(stored is not None for stored in kept.values())
    assert kept[old_pending.id].record.status is Status.PENDING  # type: ignore[union-attr]
    assert store.author_counts(f"user-{old_rejected.id}", None)[0]["rejected"] == 0
    # Labels and audit entries carry the stream's clock (written just now): too young for this cutoff.
    assert (swept.feedback_labels, swept.audit_texts) == (0, 0)
    assert redis_client.zscore(KEYS.comments_by_time(), old_pending.id) is not None
    assert redis_client.zscore(KEYS.comments_by_time(), old_rejected.id) is None

    later = sweep(redis_client, KEYS, days=30, now_ms=NOW_MS + 31 * DAY_MS)
    assert later.comments == 1  # the recent rejection, old by then; pending and edited ones stay
    assert later.feedback_labels == 1 and redis_client.xlen(KEYS.feedback()) == 0
    assert later.audit_texts == 1  # the edited comment's old decision; the removed comments' went with them
    entries = list(AuditLog(redis_client, KEYS).entries(AuditFilter()))
    assert len(entries) == 3 and all("note" not in e and "overridden_verdict" not in e for e in entries)
    assert store.get(old_pending.id) is not None and store.get(reopened.id) is not None
    again = sweep(redis_client, KEYS, days=30, now_ms=NOW_MS + 31 * DAY_MS)
    assert (again.comments, again.feedback_labels, again.audit_texts) == (0, 0, 0)


def test_one_sweep_at_a_time_and_none_when_off(redis_client: redis.Redis) -> None:
    off = Settings.model_validate({"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert sweep_once(redis_client, KEYS, off) is None
    on = Settings.model_validate({"MODERATION_RETENTION_DAYS": "30"})
    redis_client.set(KEYS.retention_lock(), "1", ex=60)
    assert sweep_once(redis_client, KEYS, on) is None  # another worker holds the lock
    redis_client.delete(KEYS.retention_lock())
    assert sweep_once(redis_client, KEYS, on) is not None
    assert not redis_client.exists(KEYS.retention_lock())


def test_worker_once_command(redis_server: LocalRedis, redis_client: redis.Redis) -> None:
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "REDIS_KEY_PREFIX": KEYS.prefix,
        "MODERATION_RETENTION_DAYS": "30",
        "HF_HUB_OFFLINE": "1",
    }
    store = CommentStore(redis_client, KEYS)
    aged(store, "old-published", 40)
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "worker", "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["comments"] == 1
    assert store.get("old-published") is None


def test_a_record_changed_after_the_index_was_read_stays(redis_client: redis.Redis) -> None:
    """The index says 40 days old, the record (rewritten since, as a decision or an edit in flight) says now."""
    store = CommentStore(redis_client, KEYS)
    record = aged(store, "young-again", 0)
    redis_client.zadd(KEYS.comments_by_time(), {record.id: NOW_MS - 40 * DAY_MS})
    assert sweep(redis_client, KEYS, days=30, now_ms=NOW_MS).comments == 0
    assert store.get(record.id) is not None


def test_the_lock_of_another_worker_is_not_released(redis_client: redis.Redis) -> None:
    settings = Settings.model_validate({"MODERATION_RETENTION_DAYS": "30"})
    assert sweep_once(redis_client, KEYS, settings) is not None
    redis_client.set(KEYS.retention_lock(), "another-worker", ex=60)
    assert sweep_once(redis_client, KEYS, settings) is None
    assert redis_client.get(KEYS.retention_lock()) == "another-worker"
