"""ModerationService with the real engine and a real redis-server: submit, edit, replay, cache, decide."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from service.app import load_engine
from service.categories import TOXICITY_CATEGORIES
from service.config import Settings
from service.errors import Conflict, NotFound
from service.keys import Keys
from service.moderation import ModerationService, decision_feedback
from service.policy import Decision
from service.rules import RulesCache
from service.schemas import Moderation, Status
from service.scoring.engine import ScoringEngine
from service.store.audit import AuditLog
from service.store.cache import VerdictCache
from service.store.comments import CommentStore, NotPending, audit_entry
from service.store.events import EventLog
from service.store.feedback import Feedback, FeedbackStore
from service.store.rules import RulesStore
from service.store.webhooks import WebhookStore

TTL = 600
THREAD = "southfront-isis-resurfaced-central-syria"
NEUTRAL = "Thanks for the detailed report, the map of the region was very helpful."
CONSPIRACY_ONLY = "the new mayor is a cia puppet and the speech was for public consumption"


@pytest.fixture(scope="module")
def engine() -> ScoringEngine:
    return load_engine(Settings.model_validate({}))


@pytest.fixture
def keys() -> Keys:
    return Keys("t:")


def _service(engine: ScoringEngine, client: redis.Redis, keys: Keys) -> ModerationService:
    return ModerationService(
        engine,
        VerdictCache(client, keys, TTL),
        CommentStore(client, keys),
        FeedbackStore(client, keys),
        RulesCache(RulesStore(client, keys), engine.policy, {}, refresh_seconds=0.0),
        AuditLog(client, keys),
        EventLog(client, keys),
        WebhookStore(client, keys),
    )


@pytest.fixture
def service(engine: ScoringEngine, redis_client: redis.Redis, keys: Keys) -> ModerationService:
    return _service(engine, redis_client, keys)


def _text(seed: dict[str, Any], comment_id: str) -> str:
    return next(c["text"] for c in seed["comments"] if c["id"] == comment_id)


def _pending_ids(client: redis.Redis, keys: Keys) -> list[str]:
    return client.zrange(keys.queue("pending"), 0, -1)  # type: ignore[return-value]


# --- submit ---------------------------------------------------------------------------------------------------


def test_submit_new_comment(
    service: ModerationService, seed: dict[str, Any], redis_client: redis.Redis, keys: Keys
) -> None:
    text = _text(seed, "seed-c1")
    record, created = service.submit(
        {"id": "c1", "text": text, "thread_id": THREAD, "author": {"name": "the narrative"}, "metadata": {"n": 1}}
    )
    assert created is True
    assert record.version == 1
    assert record.text == text
    assert record.thread_id == THREAD
    assert record.author is not None and record.author.name == "the narrative"
    assert record.metadata == {"n": 1}
    assert record.moderation is None
    assert record.verdict.decision in (Decision.REVIEW, Decision.REJECT)
    assert "conspiracy" in record.verdict.flags
    assert record.status is Status.PENDING
    assert service.get("c1") == record
    assert _pending_ids(redis_client, keys) == ["c1"]
    assert redis_client.zrange(keys.queue_by_thread("pending", THREAD), 0, -1) == ["c1"]


def test_submit_allowed_comment_is_published(service: ModerationService, redis_client: redis.Redis, keys: Keys) -> None:
    record, created = service.submit({"id": "calm", "text": NEUTRAL})
    assert created is True
    assert record.verdict.decision is Decision.ALLOW
    assert record.status is Status.PUBLISHED
    assert _pending_ids(redis_client, keys) == []


def test_submit_same_text_again_is_a_replay(
    service: ModerationService, seed: dict[str, Any], redis_client: redis.Redis, keys: Keys
) -> None:
    text = _text(seed, "seed-c1")
    first, _ = service.submit({"id": "c1", "text": text, "thread_id": THREAD})
    rank = redis_client.zscore(keys.queue("pending"), "c1")
    sequence = redis_client.get(keys.sequence())

    again, created = service.submit({"id": "c1", "text": text, "thread_id": THREAD})
    assert created is False
    assert again == first
    assert again.version == 1
    assert service.get("c1") == first
    assert _pending_ids(redis_client, keys) == ["c1"]
    assert redis_client.zcard(keys.queue("pending")) == 1
    assert redis_client.zscore(keys.queue("pending"), "c1") == rank
    assert redis_client.get(keys.sequence()) == sequence


def test_edit_to_an_allowed_text_rescored_and_dequeued(
    service: ModerationService, seed: dict[str, Any], redis_client: redis.Redis, keys: Keys
) -> None:
    first, _ = service.submit({"id": "c1", "text": _text(seed, "seed-c1"), "thread_id": THREAD})
    assert first.status is Status.PENDING

    edited, created = service.submit({"id": "c1", "text": NEUTRAL, "thread_id": THREAD})
    assert created is False
    assert edited.version == 2
    assert edited.text == NEUTRAL
    assert edited.verdict.decision is Decision.ALLOW
    assert edited.verdict.scores != first.verdict.scores
    assert edited.status is Status.PUBLISHED
    assert edited.created_at == first.created_at
    assert edited.updated_at >= first.updated_at
    assert service.get("c1") == edited
    assert _pending_ids(redis_client, keys) == []
    assert redis_client.zcard(keys.queue_by_thread("pending", THREAD)) == 0
    assert redis_client.zcard(keys.queue_by_flag("pending", "conspiracy")) == 0


def test_edit_to_another_flagged_text_updates_the_queue_entry(
    service: ModerationService, seed: dict[str, Any], redis_client: redis.Redis, keys: Keys
) -> None:
    first, _ = service.submit({"id": "c1", "text": _text(seed, "seed-c1")})
    first_rank = redis_client.zscore(keys.queue("pending"), "c1")
    edited, created = service.submit({"id": "c1", "text": _text(seed, "seed-c2")})
    assert created is False
    assert edited.version == 2
    assert edited.status is Status.PENDING
    assert "toxicity" in edited.verdict.flags
    assert _pending_ids(redis_client, keys) == ["c1"]
    assert redis_client.zscore(keys.queue("pending"), "c1") != first_rank
    for flag in edited.verdict.flags:
        assert redis_client.zrange(keys.queue_by_flag("pending", flag), 0, -1) == ["c1"]
    for flag in set(first.verdict.flags) - set(edited.verdict.flags):
        assert redis_client.zcard(keys.queue_by_flag("pending", flag)) == 0


def test_queue_orders_submissions_by_risk(service: ModerationService, seed: dict[str, Any]) -> None:
    records = [service.submit({"id": c["id"], "text": c["text"]})[0] for c in seed["comments"]]
    pending = [r for r in records if r.status is Status.PENDING]
    assert pending
    page = service.queue(Status.PENDING, None, None, limit=100, cursor=None)
    assert {r.id for r in page.items} == {r.id for r in pending}
    risks = [service.engine.policy.risk(r.verdict.decision, r.verdict.scores, r.verdict.flags) for r in page.items]
    assert risks == sorted(risks, reverse=True)
    stats = service.stats()
    assert stats["by_status"]["pending"] == len(pending)
    assert set(stats["pending_by_flag"]) == {*service.engine.policy.review, "wordlist"}
    assert stats["pending_by_flag"]["conspiracy"] == sum("conspiracy" in r.verdict.flags for r in pending)


# --- verdicts and the cache -----------------------------------------------------------------------------------


def test_verdicts_second_call_is_cached(service: ModerationService, seed: dict[str, Any]) -> None:
    observed: list[tuple[int, int, int]] = []
    service.cache.observe = lambda memory, redis, misses: observed.append((memory, redis, misses))
    text = _text(seed, "seed-c2")

    (first,) = service.verdicts([text])
    (second,) = service.verdicts([text])
    assert first.cached is False
    assert second.cached is True
    assert second.model_copy(update={"cached": False}) == first
    assert observed == [(0, 0, 1), (0, 1, 0)]  # this service keeps no verdicts in memory


def test_verdicts_batch_keeps_order_and_scores_duplicates_once(
    service: ModerationService, seed: dict[str, Any]
) -> None:
    observed: list[tuple[int, int, int]] = []
    service.cache.observe = lambda memory, redis, misses: observed.append((memory, redis, misses))
    c1, c3 = _text(seed, "seed-c1"), _text(seed, "seed-c3")
    service.verdicts([c3])
    verdicts = service.verdicts([c1, c3, c1])
    assert [v.cached for v in verdicts] == [False, True, False]
    assert verdicts[0] == verdicts[2]
    assert verdicts[0].decision is not Decision.ALLOW
    assert verdicts[1].decision is Decision.ALLOW
    assert observed[-1] == (0, 1, 2)
    assert service.verdicts([]) == []


def test_cosmetic_variant_hits_the_cache(service: ModerationService) -> None:
    plain = "they say it is for public consumption"
    variant = "they  say it\u200b is \uff46\uff4f\uff52 public consumption "
    (first,) = service.verdicts([plain])
    (second,) = service.verdicts([variant])
    assert second.cached is True
    assert (second.decision, second.flags, second.scores) == (first.decision, first.flags, first.scores)


def test_cached_verdict_evidence_points_into_the_submitted_text(service: ModerationService) -> None:
    # Evidence is promised at offsets into the text the author wrote, also when the verdict came from the cache.
    service.verdicts(["they say it is for public consumption"])
    variant = "\u200b  they   say it is for public consumption"
    (verdict,) = service.verdicts([variant])
    (span,) = verdict.evidence["conspiracy"]
    assert variant[span.start : span.end] == span.text == "for public consumption"


def test_a_cached_verdict_moves_the_models_spans_into_the_submitted_text(service: ModerationService) -> None:
    (first,) = service.verdicts(["I would love to 🔪 some 👳🏾 tonight"])
    variant = "\u200b I would  love to\n🔪 some\u200b 👳🏾   tonight"
    (cached,) = service.verdicts([variant])
    assert cached.cached is True
    spans = [s for s in cached.evidence["threat"] if s.cue == "model"]
    assert len(spans) == len([s for s in first.evidence["threat"] if s.cue == "model"]) > 0
    for span in spans:
        assert variant[span.start : span.end] == span.text


def test_evidence_of_variants_in_one_batch_points_into_each_text(service: ModerationService) -> None:
    texts = ["they say it is for public consumption", "\u200b  they   say it is for public consumption"]
    verdicts = service.verdicts(texts)
    for text, verdict in zip(texts, verdicts, strict=True):
        (span,) = verdict.evidence["conspiracy"]
        assert text[span.start : span.end] == span.text == "for public consumption", repr(text)


def test_a_new_policy_decides_from_the_cached_scores(
    service: ModerationService, engine: ScoringEngine, redis_client: redis.Redis, keys: Keys
) -> None:
    """The cache keeps scores, not decisions: a deployment with a stricter policy reuses them, and decides anew."""
    from service.policy import Policy

    (before,) = service.verdicts([NEUTRAL])
    assert before.decision is Decision.ALLOW
    # The conspiracy threshold stays: it decides which scores carry a claim's sentence, so it keys the cache.
    strict = {category: 0.0 for category in engine.policy.review} | {"conspiracy": engine.policy.review["conspiracy"]}
    other = ScoringEngine(engine.toxicity, engine.conspiracy, Policy("strict", strict, engine.policy.reject))
    (verdict,) = _service(other, redis_client, keys).verdicts([NEUTRAL])
    assert verdict.cached is True
    assert verdict.scores == before.scores
    assert verdict.policy == other.policy.version != before.policy
    assert verdict.decision is Decision.REVIEW


# --- decide ---------------------------------------------------------------------------------------------------


def test_decide_pending(
    service: ModerationService, seed: dict[str, Any], redis_client: redis.Redis, keys: Keys
) -> None:
    submitted, _ = service.submit({"id": "c1", "text": _text(seed, "seed-c1")})
    decided = service.decide("c1", "reject", "mod-ann", "conspiracy framing")
    assert decided.status is Status.REJECTED
    assert decided.version == submitted.version
    assert decided.verdict == submitted.verdict
    assert decided.moderation is not None
    assert (decided.moderation.action, decided.moderation.decided_by, decided.moderation.note) == (
        "reject",
        "mod-ann",
        "conspiracy framing",
    )
    assert service.get("c1") == decided
    assert _pending_ids(redis_client, keys) == []
    assert redis_client.zrange(keys.queue("rejected"), 0, -1) == ["c1"]
    (entry,) = service.comments.audit_trail()
    assert entry["decided_by"] == "mod-ann"
    assert entry["action"] == "reject"
    assert entry["overridden_decision"] == submitted.verdict.decision.value


def test_decide_non_pending_is_a_conflict(service: ModerationService, seed: dict[str, Any]) -> None:
    service.submit({"id": "calm", "text": NEUTRAL})
    with pytest.raises(Conflict):
        service.decide("calm", "reject", "mod-ann", None)

    service.submit({"id": "c1", "text": _text(seed, "seed-c1")})
    service.decide("c1", "approve", "mod-ann", None)
    with pytest.raises(Conflict):
        service.decide("c1", "reject", "root", None)
    assert service.get("c1").status is Status.APPROVED
    assert len(service.comments.audit_trail()) == 1


def test_decide_unknown_is_not_found(service: ModerationService) -> None:
    with pytest.raises(NotFound):
        service.decide("missing", "approve", "mod-ann", None)
    with pytest.raises(NotFound):
        service.get("missing")


def test_replay_after_decision_keeps_the_decision(service: ModerationService, seed: dict[str, Any]) -> None:
    text = _text(seed, "seed-c1")
    service.submit({"id": "c1", "text": text})
    decided = service.decide("c1", "approve", "mod-ann", None)
    again, created = service.submit({"id": "c1", "text": text})
    assert created is False
    assert again == decided


# --- decisions as feedback ------------------------------------------------------------------------------------


def _labels(service: ModerationService) -> list[tuple[str, str, float]]:
    return [(e.comment_id or "", e.attribute, e.value) for e in service.feedback.export()]


def test_a_rejection_labels_each_flagged_toxicity_category_toxic(
    service: ModerationService, seed: dict[str, Any]
) -> None:
    text = _text(seed, "seed-c2")
    submitted, _ = service.submit({"id": "c2", "text": text})
    flagged = [c for c in TOXICITY_CATEGORIES if c in submitted.verdict.flags]
    assert len(flagged) >= 2, submitted.verdict.flags  # the case under test: several categories at once
    decided = service.decide("c2", "reject", "mod-ann", None)
    assert decided.moderation is not None
    expected_attributes = flagged + (["conspiracy"] if "conspiracy" in submitted.verdict.flags else [])
    assert list(service.feedback.export()) == [
        Feedback(
            text=text,
            attribute=attribute,
            value=1.0,
            source="queue",
            comment_id="c2",
            created_at=decided.moderation.decided_at,
            site="default",
        )
        for attribute in expected_attributes
    ]


def test_an_approval_of_a_comment_held_for_conspiracy_alone_says_it_is_not_toxic(service: ModerationService) -> None:
    submitted, _ = service.submit({"id": "c9", "text": CONSPIRACY_ONLY})
    assert submitted.verdict.flags == ["conspiracy"]
    service.decide("c9", "approve", "mod-ann", None)
    assert _labels(service) == [("c9", "toxicity", 0.0), ("c9", "conspiracy", 0.0)]


def test_a_verdict_that_flagged_nothing_labels_toxicity(service: ModerationService) -> None:
    record, _ = service.submit({"id": "calm", "text": NEUTRAL})
    decided = record.model_copy(
        update={
            "status": Status.REJECTED,
            "moderation": Moderation(action="reject", decided_by="mod-ann", decided_at="2026-01-01T00:00:00.000Z"),
        }
    )
    assert record.verdict.flags == []
    assert [(e.attribute, e.value) for e in decision_feedback(decided)] == [("toxicity", 1.0)]


def test_a_decision_that_fails_stores_no_feedback(service: ModerationService, seed: dict[str, Any]) -> None:
    service.submit({"id": "calm", "text": NEUTRAL})
    with pytest.raises(Conflict):  # published, never pending
        service.decide("calm", "reject", "mod-ann", None)
    with pytest.raises(NotFound):
        service.decide("missing", "reject", "mod-ann", None)
    assert _labels(service) == []

    service.submit({"id": "c1", "text": _text(seed, "seed-c1")})
    service.decide("c1", "approve", "mod-ann", None)
    stored = _labels(service)
    assert stored and {value for *_, value in stored} == {0.0}
    with pytest.raises(Conflict):  # already decided
        service.decide("c1", "reject", "root", None)
    assert _labels(service) == stored

    # A decision that loses the race inside the store's transaction: the labels queued with it go too.
    service.submit({"id": "c2", "text": _text(seed, "seed-c2")})
    stale = service.get("c2")
    service.submit({"id": "c2", "text": _text(seed, "seed-c1")})  # edited meanwhile: version 2
    late = stale.model_copy(
        update={
            "status": Status.REJECTED,
            "moderation": Moderation(action="reject", decided_by="root", decided_at="2026-01-01T00:00:00.000Z"),
        }
    )
    with pytest.raises(NotPending):
        service.comments.decide(
            late, audit_entry(stale, late), also=lambda pipe: service.feedback.add_to(pipe, decision_feedback(late))
        )
    assert _labels(service) == stored
    assert len(service.comments.audit_trail()) == 1


def test_record_feedback_stores_suggestscore_labels_as_given(service: ModerationService) -> None:
    labels = [
        Feedback("a comment", "PROFANITY", 0.8, "suggestscore", community_id="Coral:https://news.example"),
        Feedback("a comment", "APPROVED", 1.0, "suggestscore", client_token="comment:7"),
    ]
    service.record_feedback(labels)
    stored = list(service.feedback.export())
    assert [(e.attribute, e.value, e.community_id, e.client_token) for e in stored] == [
        ("PROFANITY", 0.8, "Coral:https://news.example", None),
        ("APPROVED", 1.0, None, "comment:7"),
    ]
    assert all(e.created_at for e in stored)
