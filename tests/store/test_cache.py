"""The verdict cache against a real redis-server."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
import redis
from pydantic import ValidationError

from service.keys import Keys
from service.policy import Decision
from service.schemas import EvidenceSpan, Scored
from service.store.cache import VerdictCache

TTL = 3600
FINGERPRINT = "0123456789abcdef"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _verdict(decision: Decision = Decision.REVIEW) -> Scored:
    """Scores that a policy with a conspiracy threshold of 0.5 would decide as `decision`."""
    flagged = decision is not Decision.ALLOW
    return Scored(
        scores={"toxicity": 0.0177, "conspiracy": 0.8 if flagged else 0.21},
        evidence={
            "conspiracy": [EvidenceSpan(start=32, end=54, text="for public consumption", cue="staged_for_show")]
            if flagged
            else []
        },
        models={
            "toxicity": "minilm-l6-toxicity-logreg+cues@0123456789ab",
            "conspiracy": "minilm-l6-conspiracy-logreg+cues@6d8c26cbdec1",
        },
        evidence_if_flagged={
            "conspiracy": [EvidenceSpan(start=0, end=31, text="the attack was a staged event", cue="model")]
        }
        if flagged
        else {},
        cached=False,
        language="en",
        language_supported=True,
    )


@pytest.fixture
def cache(redis_client: redis.Redis, keys: Keys) -> VerdictCache:
    return VerdictCache(redis_client, keys, TTL)


def test_miss_returns_none(cache: VerdictCache) -> None:
    assert cache.get_many(FINGERPRINT, [_hash("never seen")]) == [None]


def _decision(scored: Scored) -> Decision:
    return Decision.REVIEW if scored.scores["conspiracy"] >= 0.5 else Decision.ALLOW


def _without_words(verdict: Scored) -> Scored:
    """What the cache gives back: evidence keeps its offsets, not the words (no comment text in the cache)."""

    def blank(evidence: dict[str, list[EvidenceSpan]]) -> dict[str, list[EvidenceSpan]]:
        return {c: [s.model_copy(update={"text": ""}) for s in found] for c, found in evidence.items()}

    return verdict.model_copy(
        update={"evidence": blank(verdict.evidence), "evidence_if_flagged": blank(verdict.evidence_if_flagged)}
    )


def test_empty_batch(cache: VerdictCache, redis_client: redis.Redis) -> None:
    assert cache.get_many(FINGERPRINT, []) == []
    cache.put_many(FINGERPRINT, {})
    assert redis_client.dbsize() == 0


def test_put_then_get_returns_a_cached_copy(cache: VerdictCache) -> None:
    verdict = _verdict()
    cache.put_many(FINGERPRINT, {_hash("a"): verdict})
    (got,) = cache.get_many(FINGERPRINT, [_hash("a")])
    assert got is not None
    assert got.cached is True
    assert got.model_copy(update={"cached": False}) == _without_words(verdict)
    assert verdict.cached is False  # the stored object is not changed


def test_no_word_of_a_comment_is_kept_in_redis(cache: VerdictCache, redis_client: redis.Redis) -> None:
    verdict = _verdict()
    assert verdict.evidence["conspiracy"][0].text == "for public consumption"
    cache.put_many(FINGERPRINT, {_hash("a"): verdict})
    (stored,) = [redis_client.get(key) for key in redis_client.keys("*")]
    assert stored is not None
    assert "public consumption" not in stored


def test_entries_carry_a_ttl(cache: VerdictCache, redis_client: redis.Redis, keys: Keys) -> None:
    cache.put_many(FINGERPRINT, {_hash("a"): _verdict(), _hash("b"): _verdict(Decision.ALLOW)})
    for text in ("a", "b"):
        ttl = redis_client.ttl(keys.verdict(FINGERPRINT, _hash(text)))
        assert 0 < ttl <= TTL


def test_short_ttl_is_respected(redis_client: redis.Redis, keys: Keys) -> None:
    VerdictCache(redis_client, keys, 5).put_many(FINGERPRINT, {_hash("a"): _verdict()})
    assert 0 < redis_client.ttl(keys.verdict(FINGERPRINT, _hash("a"))) <= 5


def test_different_fingerprint_misses(cache: VerdictCache) -> None:
    cache.put_many(FINGERPRINT, {_hash("a"): _verdict()})
    assert cache.get_many("fedcba9876543210", [_hash("a")]) == [None]
    assert cache.get_many(FINGERPRINT, [_hash("a")])[0] is not None


def test_different_prefix_misses(cache: VerdictCache, redis_client: redis.Redis) -> None:
    cache.put_many(FINGERPRINT, {_hash("a"): _verdict()})
    assert VerdictCache(redis_client, Keys("other:"), TTL).get_many(FINGERPRINT, [_hash("a")]) == [None]


def test_batch_keeps_order_and_mixes_hits_and_misses(cache: VerdictCache) -> None:
    review, allow = _verdict(Decision.REVIEW), _verdict(Decision.ALLOW)
    cache.put_many(FINGERPRINT, {_hash("r"): review, _hash("a"): allow})
    got = cache.get_many(FINGERPRINT, [_hash("a"), _hash("missing"), _hash("r"), _hash("a")])
    assert got[1] is None
    assert got[0] is not None and _decision(got[0]) is Decision.ALLOW
    assert got[2] is not None and _decision(got[2]) is Decision.REVIEW
    assert got[3] is not None and got[3] == got[0]
    assert all(v.cached for v in got if v is not None)


def test_put_overwrites(cache: VerdictCache) -> None:
    cache.put_many(FINGERPRINT, {_hash("a"): _verdict(Decision.REVIEW)})
    cache.put_many(FINGERPRINT, {_hash("a"): _verdict(Decision.ALLOW)})
    (got,) = cache.get_many(FINGERPRINT, [_hash("a")])
    assert got is not None and _decision(got) is Decision.ALLOW


# The worker's memory in front of Redis.


@pytest.fixture
def remembering(redis_client: redis.Redis, keys: Keys) -> VerdictCache:
    return VerdictCache(redis_client, keys, TTL, local_size=4)


def test_a_verdict_put_by_this_worker_is_served_from_memory(
    remembering: VerdictCache, redis_client: redis.Redis
) -> None:
    remembering.put_many(FINGERPRINT, {_hash("a"): _verdict()})
    redis_client.flushdb()  # nothing left to fetch: the hit below can only come from memory
    (got,) = remembering.get_many(FINGERPRINT, [_hash("a")])
    assert got is not None and got.cached is True
    assert got.model_copy(update={"cached": False}) == _without_words(_verdict())


def test_without_memory_every_lookup_goes_to_redis(cache: VerdictCache, redis_client: redis.Redis) -> None:
    cache.put_many(FINGERPRINT, {_hash("a"): _verdict()})
    redis_client.flushdb()
    assert cache.get_many(FINGERPRINT, [_hash("a")]) == [None]


def test_a_verdict_another_worker_put_is_fetched_once_then_remembered(
    remembering: VerdictCache, redis_client: redis.Redis, keys: Keys
) -> None:
    VerdictCache(redis_client, keys, TTL, local_size=4).put_many(FINGERPRINT, {_hash("a"): _verdict()})
    assert remembering.get_many(FINGERPRINT, [_hash("a")])[0] is not None
    redis_client.flushdb()
    assert remembering.get_many(FINGERPRINT, [_hash("a")])[0] is not None


def test_one_batch_mixes_memory_redis_and_misses_in_order(
    remembering: VerdictCache, redis_client: redis.Redis, keys: Keys
) -> None:
    remembering.put_many(FINGERPRINT, {_hash("mine"): _verdict(Decision.REVIEW)})
    VerdictCache(redis_client, keys, TTL).put_many(FINGERPRINT, {_hash("theirs"): _verdict(Decision.ALLOW)})
    observed: list[tuple[int, int, int]] = []
    remembering.observe = lambda memory, redis, misses: observed.append((memory, redis, misses))
    got = remembering.get_many(FINGERPRINT, [_hash("theirs"), _hash("missing"), _hash("mine")])
    assert got[0] is not None and _decision(got[0]) is Decision.ALLOW
    assert got[1] is None
    assert got[2] is not None and _decision(got[2]) is Decision.REVIEW
    assert observed == [(1, 1, 1)]  # from memory, from Redis, missing


def test_memory_keeps_only_the_most_recent_verdicts(remembering: VerdictCache, redis_client: redis.Redis) -> None:
    texts = [f"text {i}" for i in range(6)]
    for text in texts:
        remembering.put_many(FINGERPRINT, {_hash(text): _verdict()})
    redis_client.flushdb()
    got = remembering.get_many(FINGERPRINT, [_hash(t) for t in texts])
    assert [v is not None for v in got] == [False, False, True, True, True, True]


def test_memory_forgets_a_verdict_when_its_ttl_ends(redis_client: redis.Redis, keys: Keys) -> None:
    short = VerdictCache(redis_client, keys, 1, local_size=4)
    short.put_many(FINGERPRINT, {_hash("a"): _verdict()})
    redis_client.flushdb()
    assert short.get_many(FINGERPRINT, [_hash("a")])[0] is not None
    time.sleep(1.1)
    assert short.get_many(FINGERPRINT, [_hash("a")]) == [None]


def test_memory_is_per_fingerprint(remembering: VerdictCache, redis_client: redis.Redis) -> None:
    remembering.put_many(FINGERPRINT, {_hash("a"): _verdict()})
    redis_client.flushdb()
    assert remembering.get_many("fedcba9876543210", [_hash("a")]) == [None]


def test_a_remembered_verdict_cannot_be_changed_by_one_request_for_the_next(
    remembering: VerdictCache,
) -> None:
    remembering.put_many(FINGERPRINT, {_hash("a"): _verdict()})
    (got,) = remembering.get_many(FINGERPRINT, [_hash("a")])
    assert got is not None
    with pytest.raises(ValidationError):
        got.language = "fr"  # type: ignore[misc]


def test_concurrent_puts_and_gets_keep_every_entry_whole(redis_client: redis.Redis, keys: Keys) -> None:
    """Threads of one worker share the memory layer; smaller than the key set, so it evicts all the while."""
    shared = VerdictCache(redis_client, keys, TTL, local_size=8)
    decisions = {_hash(f"text {i}"): (Decision.ALLOW, Decision.REVIEW)[i % 2] for i in range(40)}
    VerdictCache(redis_client, keys, TTL).put_many(FINGERPRINT, {h: _verdict(d) for h, d in decisions.items()})
    failures: list[str] = []

    def work(offset: int) -> None:
        for round_ in range(30):
            text_hash = list(decisions)[(offset + round_) % len(decisions)]
            shared.put_many(FINGERPRINT, {text_hash: _verdict(decisions[text_hash])})
            for got, wanted in zip(shared.get_many(FINGERPRINT, list(decisions)), decisions.values(), strict=True):
                if got is None or _decision(got) is not wanted:
                    failures.append(f"{got!r} for {wanted}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures[:3]
