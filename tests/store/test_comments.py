"""Comment records and the moderation queue against a real redis-server."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from service.errors import BadRequest
from service.keys import Keys
from service.policy import Decision
from service.schemas import Author, CommentRecord, EvidenceSpan, Moderation, Reason, Status, Verdict
from service.store.comments import ClaimedByOther, CommentStore, NotPending, VersionConflict, audit_entry

MODELS = {"toxicity": "minilm-l6-toxicity-logreg+cues@0123456789ab", "conspiracy": "minilm-l6-logreg+cues@6d8c26cbdec1"}
POLICY = "default@6ad8177c"
BASE_TIME = datetime(2025, 4, 25, 9, 30, tzinfo=UTC)
THREAD = "southfront-isis-resurfaced-central-syria"


def _timestamp(minutes: int = 0) -> str:
    return (BASE_TIME + timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_verdict(decision: Decision, flags: list[str] | None = None) -> Verdict:
    flags = flags if flags is not None else ([] if decision is Decision.ALLOW else ["conspiracy"])
    scores = {"toxicity": 0.0177, "conspiracy": 0.2}
    for rank, flag in enumerate(flags):
        scores[flag] = 0.8 - rank * 0.05 if decision is Decision.REVIEW else 0.97 - rank * 0.01
    evidence: list[EvidenceSpan] = []
    if "conspiracy" in flags:
        evidence.append(EvidenceSpan(start=8, end=30, text="for public consumption", cue="staged_for_show"))
    return Verdict(
        decision=decision,
        flags=flags,
        scores=scores,
        evidence={"conspiracy": evidence},
        models=MODELS,
        policy=POLICY,
        cached=False,
        language="en",
        language_supported=True,
    )


def make_record(
    comment_id: str,
    *,
    version: int = 1,
    decision: Decision = Decision.REVIEW,
    flags: list[str] | None = None,
    thread_id: str | None = THREAD,
    text: str | None = None,
    minutes: int = 0,
) -> CommentRecord:
    verdict = make_verdict(decision, flags)
    return CommentRecord(
        id=comment_id,
        version=version,
        text=text if text is not None else f"comment {comment_id} v{version}: it is all for public consumption",
        thread_id=thread_id,
        author=Author(id=f"user-{comment_id}", name="the narrative"),
        parent_id=None,
        metadata={"source": "test"},
        status=Status.PUBLISHED if decision is Decision.ALLOW else Status.PENDING,
        verdict=verdict,
        moderation=None,
        created_at=_timestamp(minutes),
        updated_at=_timestamp(minutes),
    )


def decided_copy(
    record: CommentRecord, action: str, moderator: str = "mod-ann", note: str | None = None
) -> CommentRecord:
    return record.model_copy(
        update={
            "status": Status.APPROVED if action == "approve" else Status.REJECTED,
            "moderation": Moderation(action=action, decided_by=moderator, decided_at=_timestamp(60), note=note),
            "updated_at": _timestamp(60),
        }
    )


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys) -> CommentStore:
    return CommentStore(redis_client, keys)


@pytest.fixture
def save(store: CommentStore) -> Callable[..., CommentRecord]:
    """Save a new version of a record; `risk` is the queue priority."""

    def _save(record: CommentRecord, risk: float = 0.8, expected: int | None = None) -> CommentRecord:
        store.save(record, _sha(record.text), risk, record.version - 1 if expected is None else expected)
        return record

    return _save


def _members(client: redis.Redis, key: str) -> list[str]:
    return client.zrange(key, 0, -1)  # type: ignore[return-value]


def _all_index_entries(client: redis.Redis, keys: Keys) -> dict[str, list[str]]:
    """Every queue index key and its members."""
    return {key: _members(client, key) for key in client.scan_iter(match=f"{keys.prefix}queue:*")}  # type: ignore[misc]


# --- save and get ---------------------------------------------------------------------------------------------


def test_get_unknown_returns_none(store: CommentStore) -> None:
    assert store.get("nope") is None


def test_save_new_then_get(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    record = save(make_record("c1"))
    stored = store.get("c1")
    assert stored is not None
    assert stored.record == record
    assert stored.text_sha256 == _sha(record.text)
    assert stored.rank is not None


def test_save_published_has_no_rank(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    save(make_record("c1", decision=Decision.ALLOW))
    stored = store.get("c1")
    assert stored is not None
    assert stored.record.status is Status.PUBLISHED
    assert stored.rank is None


def test_save_new_with_wrong_expected_version_raises(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    with pytest.raises(VersionConflict):
        save(make_record("c1"), expected=1)
    assert store.get("c1") is None
    assert _members(redis_client, keys.queue("pending")) == []


def test_save_stale_version_raises_and_changes_nothing(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    first = save(make_record("c1", flags=["conspiracy"]))
    before = _all_index_entries(redis_client, keys)
    for expected in (0, 2):
        with pytest.raises(VersionConflict):
            save(make_record("c1", version=2, flags=["toxicity"]), expected=expected)
    stored = store.get("c1")
    assert stored is not None and stored.record == first
    assert _all_index_entries(redis_client, keys) == before


def test_pending_record_is_indexed_by_queue_flag_and_thread(
    save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    save(make_record("c1", flags=["toxicity", "conspiracy"]))
    assert _members(redis_client, keys.queue("pending")) == ["c1"]
    assert _members(redis_client, keys.queue_by_flag("pending", "toxicity")) == ["c1"]
    assert _members(redis_client, keys.queue_by_flag("pending", "conspiracy")) == ["c1"]
    assert _members(redis_client, keys.queue_by_thread("pending", THREAD)) == ["c1"]
    # All indexes share one rank.
    scores = {redis_client.zscore(key, "c1") for key in _all_index_entries(redis_client, keys)}
    assert len(scores) == 1


def test_record_without_thread_has_no_thread_index(
    save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    save(make_record("c1", thread_id=None))
    assert set(_all_index_entries(redis_client, keys)) == {
        keys.queue("pending"),
        keys.queue_by_flag("pending", "conspiracy"),
        keys.queue_by_site("pending", "default"),
        keys.queue_by_site_flag("pending", "default", "conspiracy"),
    }


def test_published_record_is_not_queued(
    save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    save(make_record("c1", decision=Decision.ALLOW))
    assert _all_index_entries(redis_client, keys) == {}


def test_edit_to_allowed_removes_queue_entries(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    save(make_record("c1", flags=["toxicity", "conspiracy"]))
    save(make_record("c2"))
    edited = save(make_record("c1", version=2, decision=Decision.ALLOW, text="a calm and polite comment"))
    stored = store.get("c1")
    assert stored is not None
    assert stored.record == edited
    assert stored.rank is None
    assert stored.text_sha256 == _sha("a calm and polite comment")
    for members in _all_index_entries(redis_client, keys).values():
        assert "c1" not in members
    assert _members(redis_client, keys.queue("pending")) == ["c2"]


def test_edit_moves_between_flag_indexes(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    save(make_record("c1", flags=["conspiracy"]), risk=0.8)
    first_rank = redis_client.zscore(keys.queue("pending"), "c1")
    save(make_record("c1", version=2, flags=["toxicity"]), risk=0.6)
    assert _members(redis_client, keys.queue_by_flag("pending", "conspiracy")) == []
    assert _members(redis_client, keys.queue_by_flag("pending", "toxicity")) == ["c1"]
    assert _members(redis_client, keys.queue("pending")) == ["c1"]
    stored = store.get("c1")
    assert stored is not None and stored.rank == redis_client.zscore(keys.queue("pending"), "c1") != first_rank


def test_edit_of_a_decided_record_leaves_the_decided_queue(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    record = save(make_record("c1"))
    store.decide(decided_copy(record, "approve"), audit_entry(record, decided_copy(record, "approve")))
    save(make_record("c1", version=2))
    assert _members(redis_client, keys.queue("approved")) == []
    assert _members(redis_client, keys.queue_by_thread("approved", THREAD)) == []
    assert _members(redis_client, keys.queue("pending")) == ["c1"]


# --- decide ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "status"), [("approve", Status.APPROVED), ("reject", Status.REJECTED)])
def test_decide_moves_pending_to_decided_and_audits(
    store: CommentStore,
    save: Callable[..., CommentRecord],
    redis_client: redis.Redis,
    keys: Keys,
    action: str,
    status: Status,
) -> None:
    record = save(make_record("c1", flags=["toxicity", "conspiracy"]))
    rank = redis_client.zscore(keys.queue("pending"), "c1")
    decided = decided_copy(record, action, moderator="mod-ann", note="checked the thread")
    assert store.decide(decided, audit_entry(record, decided)) == decided

    stored = store.get("c1")
    assert stored is not None
    assert stored.record == decided
    assert stored.record.status is status
    for index in ("pending",):
        assert _members(redis_client, keys.queue(index)) == []
        assert _members(redis_client, keys.queue_by_flag(index, "toxicity")) == []
        assert _members(redis_client, keys.queue_by_thread(index, THREAD)) == []
    assert _members(redis_client, keys.queue(status.value)) == ["c1"]
    assert _members(redis_client, keys.queue_by_flag(status.value, "toxicity")) == ["c1"]
    assert _members(redis_client, keys.queue_by_flag(status.value, "conspiracy")) == ["c1"]
    assert _members(redis_client, keys.queue_by_thread(status.value, THREAD)) == ["c1"]
    assert redis_client.zscore(keys.queue(status.value), "c1") == rank

    assert redis_client.xlen(keys.audit()) == 1
    (entry,) = store.audit_trail()
    assert entry["comment_id"] == "c1"
    assert entry["version"] == "1"
    assert entry["action"] == action
    assert entry["decided_by"] == "mod-ann"
    assert entry["note"] == "checked the thread"
    assert entry["overridden_decision"] == record.verdict.decision.value
    assert json.loads(entry["overridden_verdict"]) == record.verdict.model_dump(mode="json")


def test_decide_twice_raises_not_pending(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    record = save(make_record("c1"))
    approved = decided_copy(record, "approve")
    store.decide(approved, audit_entry(record, approved))
    rejected = decided_copy(record, "reject", moderator="root")
    with pytest.raises(NotPending) as caught:
        store.decide(rejected, audit_entry(record, rejected))
    assert caught.value.status is Status.APPROVED
    stored = store.get("c1")
    assert stored is not None and stored.record == approved
    assert redis_client.xlen(keys.audit()) == 1
    assert _members(redis_client, keys.queue("rejected")) == []


def test_decide_a_published_record_raises_not_pending(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    record = save(make_record("c1", decision=Decision.ALLOW))
    decided = decided_copy(record, "reject")
    with pytest.raises(NotPending) as caught:
        store.decide(decided, audit_entry(record, decided))
    assert caught.value.status is Status.PUBLISHED


def test_decide_a_stale_version_raises_not_pending(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    old = save(make_record("c1"))
    save(make_record("c1", version=2))
    decided = decided_copy(old, "approve")
    with pytest.raises(NotPending):
        store.decide(decided, audit_entry(old, decided))
    assert _members(redis_client, keys.queue("pending")) == ["c1"]
    assert redis_client.xlen(keys.audit()) == 0


def test_decide_unknown_raises_key_error(store: CommentStore) -> None:
    ghost = make_record("ghost")
    decided = decided_copy(ghost, "approve")
    with pytest.raises(KeyError):
        store.decide(decided, audit_entry(ghost, decided))


# --- page -----------------------------------------------------------------------------------------------------


def test_page_orders_by_risk_then_oldest_first(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    for comment_id, risk in [("a", 0.6), ("b", 0.9), ("c", 0.6), ("d", 1.5), ("e", 0.9), ("f", 0.6004)]:
        save(make_record(comment_id), risk=risk)
    page = store.page(Status.PENDING, flag=None, thread_id=None, limit=10, cursor=None)
    # 0.6004 rounds to the same thousandth as 0.6, so arrival order decides among a, c and f.
    assert [r.id for r in page.items] == ["d", "b", "e", "a", "c", "f"]
    assert page.next_cursor is None


def test_page_on_an_empty_queue(store: CommentStore) -> None:
    page = store.page(Status.PENDING, flag=None, thread_id=None, limit=5, cursor=None)
    assert page.items == []
    assert page.next_cursor is None


@pytest.mark.parametrize("limit", [1, 2, 3, 6, 7, 50, 100])
def test_paging_visits_every_item_exactly_once(
    store: CommentStore, save: Callable[..., CommentRecord], limit: int
) -> None:
    total = 67  # more than one internal chunk of 50
    for i in range(total):
        save(make_record(f"c{i:02d}"), risk=(i % 5) / 10 + 0.5)
    expected = [r.id for r in store.page(Status.PENDING, flag=None, thread_id=None, limit=total, cursor=None).items]
    assert len(expected) == total

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = store.page(Status.PENDING, flag=None, thread_id=None, limit=limit, cursor=cursor)
        pages += 1
        assert len(page.items) <= limit
        seen += [r.id for r in page.items]
        if page.next_cursor is None:
            break
        assert len(page.items) == limit
        cursor = page.next_cursor
        assert pages <= total
    assert seen == expected
    assert len(set(seen)) == total
    assert pages == -(-total // limit)


def test_paging_skips_items_decided_meanwhile(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    records = [save(make_record(f"c{i}"), risk=0.8) for i in range(6)]
    first = store.page(Status.PENDING, flag=None, thread_id=None, limit=3, cursor=None)
    assert [r.id for r in first.items] == ["c0", "c1", "c2"]
    decided = decided_copy(records[3], "reject")
    store.decide(decided, audit_entry(records[3], decided))
    second = store.page(Status.PENDING, flag=None, thread_id=None, limit=3, cursor=first.next_cursor)
    assert [r.id for r in second.items] == ["c4", "c5"]
    assert second.next_cursor is None


def test_page_with_flag_filter(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    save(make_record("tox", flags=["toxicity"]), risk=0.7)
    save(make_record("both", flags=["conspiracy", "toxicity"]), risk=0.9)
    save(make_record("con", flags=["conspiracy"]), risk=0.8)
    page = store.page(Status.PENDING, flag="toxicity", thread_id=None, limit=10, cursor=None)
    assert [r.id for r in page.items] == ["both", "tox"]
    page = store.page(Status.PENDING, flag="conspiracy", thread_id=None, limit=1, cursor=None)
    assert [r.id for r in page.items] == ["both"]
    page = store.page(Status.PENDING, flag="conspiracy", thread_id=None, limit=1, cursor=page.next_cursor)
    assert [r.id for r in page.items] == ["con"]
    assert page.next_cursor is None
    assert store.page(Status.PENDING, flag="threat", thread_id=None, limit=10, cursor=None).items == []


def test_page_with_thread_filter(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    save(make_record("t1-a", thread_id="t1"), risk=0.7)
    save(make_record("t2-a", thread_id="t2"), risk=0.9)
    save(make_record("t1-b", thread_id="t1", flags=["toxicity"]), risk=0.8)
    save(make_record("none", thread_id=None), risk=1.0)
    page = store.page(Status.PENDING, flag=None, thread_id="t1", limit=10, cursor=None)
    assert [r.id for r in page.items] == ["t1-b", "t1-a"]
    page = store.page(Status.PENDING, flag="toxicity", thread_id="t1", limit=10, cursor=None)
    assert [r.id for r in page.items] == ["t1-b"]
    assert store.page(Status.PENDING, flag=None, thread_id="t3", limit=10, cursor=None).items == []


def test_page_of_decided_status(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    record = save(make_record("c1"))
    save(make_record("c2"))
    decided = decided_copy(record, "approve")
    store.decide(decided, audit_entry(record, decided))
    assert [r.id for r in store.page(Status.APPROVED, flag=None, thread_id=None, limit=5, cursor=None).items] == ["c1"]
    assert [r.id for r in store.page(Status.PENDING, flag=None, thread_id=None, limit=5, cursor=None).items] == ["c2"]
    assert store.page(Status.REJECTED, flag=None, thread_id=None, limit=5, cursor=None).items == []


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        base64.urlsafe_b64encode(b"x123").decode(),
        base64.urlsafe_b64encode(b"rabc").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_bad_cursor_raises_bad_request(store: CommentStore, save: Callable[..., CommentRecord], cursor: str) -> None:
    save(make_record("c1"))
    with pytest.raises(BadRequest) as caught:
        store.page(Status.PENDING, flag=None, thread_id=None, limit=5, cursor=cursor)
    assert caught.value.field == "cursor"


# --- stats ----------------------------------------------------------------------------------------------------


def test_stats_counts(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    save(make_record("p1", flags=["toxicity"]))
    save(make_record("p2", flags=["toxicity", "conspiracy"]))
    save(make_record("p3", flags=["conspiracy"]))
    save(make_record("published", decision=Decision.ALLOW))
    approve_me = save(make_record("a1", flags=["toxicity"]))
    reject_me = save(make_record("r1", decision=Decision.REJECT, flags=["conspiracy"]))
    for record, action in ((approve_me, "approve"), (reject_me, "reject")):
        decided = decided_copy(record, action)
        store.decide(decided, audit_entry(record, decided))

    stats = store.stats(["toxicity", "conspiracy", "threat"])
    assert stats == {
        "by_status": {"pending": 3, "approved": 1, "rejected": 1},
        "pending_by_flag": {"toxicity": 2, "conspiracy": 2, "threat": 0},
    }


def test_stats_on_an_empty_store(store: CommentStore) -> None:
    assert store.stats(["toxicity"]) == {
        "by_status": {"pending": 0, "approved": 0, "rejected": 0},
        "pending_by_flag": {"toxicity": 0},
    }


# --- concurrency ----------------------------------------------------------------------------------------------


def _run_together(count: int, work: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run `work(i)` in `count` threads released at once; return ("ok", value) or ("error", exception)."""
    barrier = threading.Barrier(count)
    results: list[tuple[str, Any]] = [("missing", None)] * count

    def run(i: int) -> None:
        barrier.wait(timeout=10)
        try:
            results[i] = ("ok", work(i))
        except Exception as exc:
            results[i] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.parametrize("round_number", range(5))
def test_two_moderators_deciding_at_once_exactly_one_wins(
    store: CommentStore,
    save: Callable[..., CommentRecord],
    redis_client: redis.Redis,
    keys: Keys,
    round_number: int,
) -> None:
    record = save(make_record(f"race-{round_number}"))
    choices = [decided_copy(record, "approve", moderator="ann"), decided_copy(record, "reject", moderator="bob")]

    results = _run_together(2, lambda i: store.decide(choices[i], audit_entry(record, choices[i])))

    winners = [i for i, (kind, _) in enumerate(results) if kind == "ok"]
    losers = [value for kind, value in results if kind == "error"]
    assert len(winners) == 1, results
    assert len(losers) == 1 and isinstance(losers[0], NotPending), results
    winner = choices[winners[0]]
    assert losers[0].status is winner.status

    stored = store.get(record.id)
    assert stored is not None and stored.record == winner
    assert redis_client.xlen(keys.audit()) == 1
    assert store.audit_trail()[0]["decided_by"] == winner.moderation.decided_by  # type: ignore[union-attr]
    assert _members(redis_client, keys.queue("pending")) == []
    assert _members(redis_client, keys.queue(winner.status.value)) == [record.id]
    loser_status = Status.REJECTED if winner.status is Status.APPROVED else Status.APPROVED
    assert _members(redis_client, keys.queue(loser_status.value)) == []


@pytest.mark.parametrize("round_number", range(5))
def test_two_moderators_claiming_at_once_exactly_one_holds_it(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys, round_number: int
) -> None:
    record = save(make_record(f"claim-race-{round_number}"))
    names = ["ann", "bob"]

    results = _run_together(2, lambda i: store.claim(record.id, names[i], 60))

    winners = [names[i] for i, (kind, _) in enumerate(results) if kind == "ok"]
    losers = [value for kind, value in results if kind == "error"]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], ClaimedByOther) and losers[0].holder == winners[0]
    assert redis_client.get(keys.claim(record.id)) == winners[0]
    assert 0 < redis_client.pttl(keys.claim(record.id)) <= 60_000


def test_claimed_item_refuses_another_decider_and_is_released_by_the_holders_decision(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    record = save(make_record("claimed"))
    store.claim(record.id, "ann", 60)
    by_bob = decided_copy(record, "reject", moderator="bob")
    with pytest.raises(ClaimedByOther):
        store.decide(by_bob, audit_entry(record, by_bob))
    assert redis_client.xlen(keys.audit()) == 0
    by_ann = decided_copy(record, "approve", moderator="ann")
    store.decide(by_ann, audit_entry(record, by_ann))
    assert not redis_client.exists(keys.claim(record.id))
    with pytest.raises(NotPending):
        store.claim(record.id, "bob", 60)  # only a pending comment can be claimed
    assert not redis_client.exists(keys.claim(record.id))


def test_author_counts_follow_every_change(store: CommentStore, save: Callable[..., CommentRecord]) -> None:
    record = save(make_record("counted"))
    author = record.author.id  # type: ignore[union-attr]
    assert store.author_counts(author, None) == ({"published": 0, "pending": 1, "approved": 0, "rejected": 0}, {})
    rejected = decided_copy(record, "reject")
    assert rejected.moderation is not None
    decided = rejected.model_copy(update={"moderation": rejected.moderation.model_copy(update={"reason": Reason.SPAM})})
    store.decide(decided, audit_entry(record, decided))
    assert store.author_counts(author, None) == (
        {"published": 0, "pending": 0, "approved": 0, "rejected": 1},
        {"SPAM": 1},
    )
    assert store.author_counts(author, frozenset({"elsewhere"}))[0]["rejected"] == 0
    edited = make_record("counted", version=2, decision=Decision.ALLOW)
    save(edited)
    assert store.author_counts(author, None) == ({"published": 1, "pending": 0, "approved": 0, "rejected": 0}, {})


def test_concurrent_saves_of_distinct_comments_stay_consistent(
    store: CommentStore, redis_client: redis.Redis, keys: Keys
) -> None:
    threads, per_thread = 8, 12

    def work(worker: int) -> list[CommentRecord]:
        saved = []
        for n in range(per_thread):
            comment_id = f"w{worker}-{n}"
            decision = (Decision.ALLOW, Decision.REVIEW, Decision.REJECT)[(worker + n) % 3]
            first = make_record(comment_id, decision=decision, thread_id=f"thread-{worker % 2}")
            store.save(first, _sha(first.text), 0.5 + (n % 4) / 10, 0)
            if n % 4 == 0:  # edit some: flip between published and pending
                edited = make_record(
                    comment_id,
                    version=2,
                    decision=Decision.REVIEW if decision is Decision.ALLOW else Decision.ALLOW,
                    thread_id=f"thread-{worker % 2}",
                )
                store.save(edited, _sha(edited.text), 0.7, 1)
                first = edited
            saved.append(first)
        return saved

    results = _run_together(threads, work)
    assert all(kind == "ok" for kind, _ in results), results
    records = {r.id: r for _, saved in results for r in saved}
    assert len(records) == threads * per_thread

    pending = {cid for cid, r in records.items() if r.status is Status.PENDING}
    queue = redis_client.zrange(keys.queue("pending"), 0, -1, withscores=True)
    queued_ids = [cid for cid, _ in queue]  # type: ignore[misc]
    assert sorted(queued_ids) == sorted(pending)
    assert len({score for _, score in queue}) == len(queue)  # type: ignore[misc]  # every rank is unique

    for cid, record in records.items():
        stored = store.get(cid)
        assert stored is not None and stored.record == record
        if record.status is Status.PENDING:
            assert stored.rank == redis_client.zscore(keys.queue("pending"), cid)
        else:
            assert stored.rank is None
    for thread in ("thread-0", "thread-1"):
        expected = {cid for cid in pending if records[cid].thread_id == thread}
        assert set(_members(redis_client, keys.queue_by_thread("pending", thread))) == expected
    assert set(_members(redis_client, keys.queue_by_flag("pending", "conspiracy"))) == pending

    seen = []
    cursor = None
    while True:
        page = store.page(Status.PENDING, flag=None, thread_id=None, limit=7, cursor=cursor)
        seen += [r.id for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(pending)


def test_concurrent_edits_of_one_comment_exactly_one_wins(
    store: CommentStore, save: Callable[..., CommentRecord], redis_client: redis.Redis, keys: Keys
) -> None:
    save(make_record("hot", flags=["conspiracy"]))
    flags = ["toxicity", "insult", "threat", "obscene", "identity_attack", "severe_toxicity"]
    edits = [make_record("hot", version=2, flags=[flag], text=f"edit by {flag}") for flag in flags]

    results = _run_together(len(edits), lambda i: store.save(edits[i], _sha(edits[i].text), 0.8, 1))

    winners = [i for i, (kind, _) in enumerate(results) if kind == "ok"]
    assert len(winners) == 1, results
    assert all(isinstance(value, VersionConflict) for kind, value in results if kind == "error")
    winner = edits[winners[0]]
    stored = store.get("hot")
    assert stored is not None and stored.record == winner
    assert _members(redis_client, keys.queue("pending")) == ["hot"]
    for flag in [*flags, "conspiracy"]:
        expected = ["hot"] if flag in winner.verdict.flags else []
        assert _members(redis_client, keys.queue_by_flag("pending", flag)) == expected, flag
