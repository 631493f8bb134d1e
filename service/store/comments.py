"""Comment records and the moderation queue.

A record is a hash: the record JSON plus the few fields the queue indexes need.
The queue is a sorted set per status (and per status and flag, per status and
thread), ranked so that the riskiest come first and, at equal risk, the oldest.
Every change runs in one MULTI/EXEC under WATCH of the record, so a change
either happens whole or not at all, and of two racing writers exactly one wins.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis
from redis.client import Pipeline

from service.errors import BadRequest
from service.keys import Keys
from service.schemas import QUEUE_STATUSES, CommentRecord, QueueItem, Status, Verdict
from service.store.audit import with_audit_text
from service.timestamps import epoch_ms, from_epoch_ms

# rank = (RISK_STEPS - risk in thousandths) * 2**SEQ_BITS + arrival sequence: an exact float below 2**53.
_RISK_STEPS = 2000
_SEQ_BITS = 42


class VersionConflict(Exception):
    """The record changed between read and write; the caller re-reads and tries again."""


class NotPending(Exception):
    """The record is not in the status the change starts from (pending, for a decision)."""

    def __init__(self, status: Status) -> None:
        super().__init__(status)
        self.status = status


class ClaimedByOther(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


@dataclass(frozen=True)
class AuditEntry:
    """One audit stream entry: the bare facts, kept for good (who, when, what, why), and what quotes the comment or
    its author, kept beside the stream so that an author's erasure removes it (a stream entry cannot be edited)."""

    facts: dict[str, str]
    text: dict[str, str]


@dataclass(frozen=True)
class Erased:
    comments: int
    queue_entries: int
    feedback_labels: int
    audit_texts: int


@dataclass(frozen=True)
class Claim:
    holder: str
    expires_at: str


# Claim when unclaimed or already the caller's (renewed); otherwise answer the holder. Only a pending comment can be
# claimed: KEYS = claim, comment; ARGV = caller, milliseconds.
_CLAIM = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {'held', holder} end
local document = redis.call('HGET', KEYS[2], 'json')
if not document then return {'missing', ''} end
local status = cjson.decode(document)['status']
if status ~= 'pending' then return {'status', status} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'ok', tostring(redis.call('PTTL', KEYS[1]))}
"""
# Release the caller's claim (any claim when ARGV[2] is '1'); answer the holder of one it may not release.
_RELEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and ARGV[2] ~= '1' then return holder end
redis.call('DEL', KEYS[1])
return false
"""
_TRANSITION_ATTEMPTS = 5
# The policy's hourly decision counts outlive a yearly transparency report, then go.
POLICY_COUNTS_TTL_SECONDS = 400 * 24 * 3600


@dataclass(frozen=True)
class StoredComment:
    record: CommentRecord
    text_sha256: str
    rank: float | None


@dataclass(frozen=True)
class QueuePage:
    items: list[CommentRecord]
    next_cursor: str | None


def encode_cursor(rank: float) -> str:
    return base64.urlsafe_b64encode(f"r{int(rank)}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("r"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is not one this service returned", field="cursor") from None


class CommentStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def get(self, comment_id: str) -> StoredComment | None:
        fields = self._redis.hmget(self._keys.comment(comment_id), ["json", "text_sha256", "rank"])
        return self._parse(fields)  # type: ignore[arg-type]

    @staticmethod
    def _parse(fields: list[str | None]) -> StoredComment | None:
        document, text_sha256, rank = fields
        if document is None:
            return None
        return StoredComment(
            CommentRecord.model_validate_json(document), text_sha256 or "", float(rank) if rank else None
        )

    def _index_keys(self, record: CommentRecord) -> list[str]:
        status = record.status.value
        keys = [self._keys.queue(status), self._keys.queue_by_site(status, record.site)]
        keys += [self._keys.queue_by_flag(status, flag) for flag in record.verdict.flags]
        keys += [self._keys.queue_by_site_flag(status, record.site, flag) for flag in record.verdict.flags]
        if record.thread_id:
            keys.append(self._keys.queue_by_thread(status, record.thread_id))
        return keys

    def next_rank(self, risk: float) -> float:
        sequence = int(self._redis.incr(self._keys.sequence()))
        risk_steps = max(0, min(_RISK_STEPS, round(risk * 1000)))
        return float((_RISK_STEPS - risk_steps) * 2**_SEQ_BITS + sequence)

    def _count(self, pipe: Pipeline, record: CommentRecord, sign: int) -> None:
        """Add (1) or take away (-1) a record's part in its author's counts: its status and its decision's reason."""
        if record.author is None or record.author.id is None:
            return
        counts = self._keys.author_counts(record.author.id)
        pipe.hincrby(counts, f"{record.site}:status:{record.status.value}", sign)
        if record.moderation is not None and record.moderation.reason is not None:
            pipe.hincrby(counts, f"{record.site}:reason:{record.moderation.reason.value}", sign)

    def _count_policy_decision(self, pipe: Pipeline, record: CommentRecord) -> None:
        """Every scoring of a new or edited comment is a decision the policy took without a person."""
        self._queue_policy_count(pipe, record.verdict, record.updated_at)

    def _queue_policy_count(self, pipe: Pipeline, verdict: Verdict, at: str) -> None:
        key = self._keys.policy_decisions(verdict.site, at[:13])
        pipe.hincrby(key, f"decision:{verdict.decision.value}", 1)
        for flag in verdict.flags:
            pipe.hincrby(key, f"flag:{flag}", 1)
        pipe.expire(key, POLICY_COUNTS_TTL_SECONDS)

    def count_policy_decision(self, verdict: Verdict, at: str) -> None:
        """Count a decision the policy took on a comment this service does not store (Coral's phase)."""
        with self._redis.pipeline(transaction=True) as pipe:
            self._queue_policy_count(pipe, verdict, at)
            pipe.execute()

    def _index_thread_and_author(self, pipe: Pipeline, previous: CommentRecord | None, record: CommentRecord) -> None:
        written = epoch_ms(record.created_at)
        if previous is not None and previous.author and previous.author.id and previous.author != record.author:
            pipe.zrem(self._keys.author(previous.author.id), record.id)
        if previous is not None and previous.thread_id and previous.thread_id != record.thread_id:
            pipe.zrem(self._keys.thread(previous.thread_id), record.id)
        if record.author is not None and record.author.id is not None:
            pipe.zadd(self._keys.author(record.author.id), {record.id: written})
        if record.thread_id:
            pipe.zadd(self._keys.thread(record.thread_id), {record.id: written})

    def save(
        self,
        record: CommentRecord,
        text_sha256: str,
        risk: float,
        expected_version: int,
        also: Callable[[Pipeline], None] | None = None,
    ) -> None:
        """Write a new version; raise VersionConflict if someone else wrote first. `also` queues more commands in
        the same transaction (the event that reports it)."""
        key = self._keys.comment(record.id)
        rank = self.next_rank(risk) if record.status is Status.PENDING else None
        with self._redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]
                previous = self._parse(pipe.hmget(key, ["json", "text_sha256", "rank"]))  # type: ignore[arg-type]
                current_version = previous.record.version if previous else 0
                if current_version != expected_version:
                    raise VersionConflict(record.id)
                pipe.multi()
                pipe.sadd(self._keys.sites(), record.site)
                if previous is not None:
                    for index in self._index_keys(previous.record):
                        pipe.zrem(index, record.id)
                    self._count(pipe, previous.record, -1)
                    pipe.delete(self._keys.claim(record.id))  # an edit is a new item to claim
                self._count(pipe, record, 1)
                self._count_policy_decision(pipe, record)
                pipe.zadd(self._keys.comments_by_time(), {record.id: epoch_ms(record.updated_at)})
                self._index_thread_and_author(pipe, previous.record if previous else None, record)
                pipe.hset(key, mapping={"json": record.model_dump_json(), "text_sha256": text_sha256})
                if rank is None:
                    pipe.hdel(key, "rank")
                else:
                    pipe.hset(key, "rank", repr(rank))
                    for index in self._index_keys(record):
                        pipe.zadd(index, {record.id: rank})
                if also is not None:
                    also(pipe)
                pipe.execute()
            except redis.WatchError:
                raise VersionConflict(record.id) from None

    def decide(
        self,
        decided: CommentRecord,
        audit: AuditEntry,
        also: Callable[[Pipeline], None] | None = None,
        *,
        claims_bind: bool = True,
    ) -> CommentRecord:
        """Move a pending record to its decided status and append to the audit stream, atomically.

        `also` queues more commands in the same MULTI (the decision's feedback labels): they happen exactly when
        the decision does, never for a decision that lost a race. A live claim by anyone but the decider refuses it
        (ClaimedByOther) unless `claims_bind` is False (an admin); the decision ends any claim.
        """
        assert decided.moderation is not None
        holder_may = decided.moderation.decided_by if claims_bind else None
        return self._transition(decided, Status.PENDING, audit, also, holder_may)

    def reopen(
        self, reopened: CommentRecord, audit: AuditEntry, also: Callable[[Pipeline], None] | None = None
    ) -> CommentRecord:
        """Move a decided record back to pending, at the rank it had, with an audit entry, atomically."""
        return self._transition(reopened, None, audit, also, None)

    def _transition(
        self,
        updated: CommentRecord,
        expected: Status | None,
        audit: AuditEntry,
        also: Callable[[Pipeline], None] | None,
        only_claimant: str | None,
    ) -> CommentRecord:
        """Replace a record of the same version whose status is `expected` (None: approved or rejected) by
        `updated`, moving its queue entries and its author's counts; retried while other writers interleave."""
        key = self._keys.comment(updated.id)
        claim_key = self._keys.claim(updated.id)
        for _ in range(_TRANSITION_ATTEMPTS):
            with self._redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key, claim_key)  # type: ignore[no-untyped-call]
                    current = self._parse(pipe.hmget(key, ["json", "text_sha256", "rank"]))  # type: ignore[arg-type]
                    if current is None:
                        raise KeyError(updated.id)
                    status = current.record.status
                    decided = status in (Status.APPROVED, Status.REJECTED)
                    if (status is not expected if expected is not None else not decided) or (
                        current.record.version != updated.version
                    ):
                        raise NotPending(status)
                    holder = pipe.get(claim_key)
                    if only_claimant is not None and holder is not None and holder != only_claimant:
                        raise ClaimedByOther(str(holder))
                    pipe.multi()
                    for index in self._index_keys(current.record):
                        pipe.zrem(index, updated.id)
                    self._count(pipe, current.record, -1)
                    self._count(pipe, updated, 1)
                    pipe.hset(key, "json", updated.model_dump_json())
                    pipe.zadd(self._keys.comments_by_time(), {updated.id: epoch_ms(updated.updated_at)})
                    if current.rank is not None:
                        for index in self._index_keys(updated):
                            pipe.zadd(index, {updated.id: current.rank})
                    pipe.delete(claim_key)
                    self._audit(pipe, updated.id, audit)
                    if also is not None:
                        also(pipe)
                    pipe.execute()
                    return updated
                except redis.WatchError:
                    continue  # someone else wrote first (or a claim came or went): check again
        latest = self.get(updated.id)
        raise NotPending(latest.record.status if latest else Status.PENDING)

    def _audit(self, pipe: Pipeline, comment_id: str, audit: AuditEntry) -> None:
        if not audit.text:
            pipe.xadd(self._keys.audit(), audit.facts)  # type: ignore[arg-type]
            return
        reference = uuid.uuid4().hex
        facts: dict[str, str] = {**audit.facts, "text_ref": reference}
        pipe.xadd(self._keys.audit(), facts)  # type: ignore[arg-type]
        pipe.hset(self._keys.audit_text(comment_id), reference, json.dumps(audit.text, sort_keys=True))

    def erase_author(self, author_id: str, also: Callable[[Pipeline, list[str]], int] | None = None) -> Erased:
        """Remove every comment of the author, its queue and thread entries, claims and audit texts, and the author's
        own index and counts, in one transaction; `also(pipe, comment_ids)` adds more to it (the feedback labels)
        and says how many it removes. The audit stream keeps each decision's bare facts."""
        author_key = self._keys.author(author_id)
        for _ in range(_TRANSITION_ATTEMPTS):
            with self._redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(author_key)  # type: ignore[no-untyped-call]
                    ids: list[str] = pipe.zrange(author_key, 0, -1)  # type: ignore[assignment]
                    keys = [self._keys.comment(i) for i in ids]
                    if keys:
                        pipe.watch(*keys)  # type: ignore[no-untyped-call]
                    records = [r for r in self._records(ids) if r is not None]
                    texts = sum(int(pipe.hlen(self._keys.audit_text(i))) for i in ids)
                    pipe.multi()
                    for record in records:
                        self._forget(pipe, record)
                    for comment_id in ids:  # an index entry whose record is already gone leaves too
                        pipe.delete(self._keys.audit_text(comment_id))
                    pipe.delete(author_key, self._keys.author_counts(author_id))
                    queue_entries = sum(
                        len(self._index_keys(record)) for record in records if record.status is not Status.PUBLISHED
                    )
                    labels = also(pipe, ids) if also is not None else 0
                    pipe.execute()
                    return Erased(len(records), queue_entries, labels, texts)
                except redis.WatchError:
                    continue
        raise VersionConflict(author_id)

    def expire_before(self, cutoff_ms: int, batch: int = 100) -> int:
        """Remove every comment no moderator still has to decide (published, approved or rejected) whose record last
        changed before `cutoff_ms`, as erasure removes an author's, a batch per transaction; returns how many went.
        Pending comments stay whatever their age."""
        by_time = self._keys.comments_by_time()
        removed = 0
        kept = 0  # old pending comments at the head of the index, skipped
        while True:
            ids: list[str] = self._redis.zrangebyscore(  # type: ignore[assignment]
                by_time, "-inf", f"({cutoff_ms}", start=kept, num=batch
            )
            if not ids:
                return removed
            with self._redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*[self._keys.comment(i) for i in ids])  # type: ignore[no-untyped-call]
                    records = dict(zip(ids, self._records(ids), strict=True))
                    batch_kept = batch_removed = 0
                    pipe.multi()
                    for comment_id, record in records.items():
                        # Read after WATCH: a record decided or edited since the index was read is young again.
                        if record is not None and (
                            record.status is Status.PENDING or epoch_ms(record.updated_at) >= cutoff_ms
                        ):
                            batch_kept += 1
                            continue
                        if record is not None:
                            self._forget(pipe, record)
                            batch_removed += 1
                        pipe.zrem(by_time, comment_id)
                    pipe.execute()
                except redis.WatchError:
                    continue  # a record changed meanwhile: read the batch again
                kept += batch_kept
                removed += batch_removed

    def _forget(self, pipe: Pipeline, record: CommentRecord) -> None:
        """Queue the removal of one record and every trace of it: indexes, claim, counts, audit texts."""
        for index in self._index_keys(record):
            pipe.zrem(index, record.id)
        if record.thread_id:
            pipe.zrem(self._keys.thread(record.thread_id), record.id)
        if record.author is not None and record.author.id is not None:
            pipe.zrem(self._keys.author(record.author.id), record.id)
        self._count(pipe, record, -1)
        pipe.delete(self._keys.comment(record.id), self._keys.claim(record.id), self._keys.audit_text(record.id))
        pipe.zrem(self._keys.comments_by_time(), record.id)

    def claim(self, comment_id: str, moderator: str, seconds: int) -> Claim:
        """Claim a pending item for `seconds`, or renew the caller's claim."""
        outcome, detail = self._redis.eval(
            _CLAIM, 2, self._keys.claim(comment_id), self._keys.comment(comment_id), moderator, seconds * 1000
        )
        if outcome == "held":
            raise ClaimedByOther(detail)
        if outcome == "missing":
            raise KeyError(comment_id)
        if outcome == "status":
            raise NotPending(Status(detail))
        return Claim(moderator, from_epoch_ms(time.time() * 1000 + int(detail)))

    def release(self, comment_id: str, moderator: str, anyones: bool = False) -> None:
        """Release the caller's claim (`anyones`: whoever holds it); nothing to release is fine."""
        holder = self._redis.eval(_RELEASE, 1, self._keys.claim(comment_id), moderator, "1" if anyones else "0")
        if holder:
            raise ClaimedByOther(str(holder))

    def claims(self, ids: list[str]) -> dict[str, Claim]:
        """The live claims on `ids`, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for comment_id in ids:
            pipe.get(self._keys.claim(comment_id))
            pipe.pttl(self._keys.claim(comment_id))
        answers = pipe.execute()
        now_ms = time.time() * 1000
        found = {}
        for comment_id, holder, ttl in zip(ids, answers[::2], answers[1::2], strict=True):
            if holder is not None and int(ttl) > 0:
                found[comment_id] = Claim(holder, from_epoch_ms(now_ms + int(ttl)))
        return found

    def with_claims(self, records: list[CommentRecord]) -> list[QueueItem]:
        claims = self.claims([r.id for r in records])
        return [
            QueueItem(
                **r.model_dump(),
                claimed_by=claims[r.id].holder if r.id in claims else None,
                claim_expires_at=claims[r.id].expires_at if r.id in claims else None,
            )
            for r in records
        ]

    def page(
        self,
        status: Status,
        *,
        flag: str | None,
        thread_id: str | None,
        limit: int,
        cursor: str | None,
        site: str | None = None,
        sites: frozenset[str] | None = None,
        unclaimed_for: str | None = None,
    ) -> QueuePage:
        """Keyset paging on the rank: items present when paging starts are never skipped nor repeated.

        `site` picks one site's index; `sites` (a key's limit) filters whatever index is read; `unclaimed_for`
        leaves out the items claimed by anyone but that moderator."""
        if thread_id is not None:
            index = self._keys.queue_by_thread(status.value, thread_id)
        elif site is not None and flag is not None:
            index = self._keys.queue_by_site_flag(status.value, site, flag)
        elif site is not None:
            index = self._keys.queue_by_site(status.value, site)
        elif flag is not None:
            index = self._keys.queue_by_flag(status.value, flag)
        else:
            index = self._keys.queue(status.value)
        after = decode_cursor(cursor) if cursor else None
        # One match beyond the page tells whether another page exists.
        matches: list[tuple[CommentRecord, float]] = []
        exhausted = False
        chunk = max(limit + 1, 50)
        while len(matches) <= limit and not exhausted:
            low = f"({after}" if after is not None else "-inf"
            batch: list[tuple[str, float]] = self._redis.zrangebyscore(  # type: ignore[assignment]
                index, low, "+inf", start=0, num=chunk, withscores=True
            )
            exhausted = len(batch) < chunk
            held = self.claims([i for i, _ in batch]) if unclaimed_for is not None else {}
            for record, rank in zip(self._records(i for i, _ in batch), (r for _, r in batch), strict=True):
                after = int(rank)
                if record is None or record.status is not status:
                    continue  # decided or edited between the two reads
                if record.id in held and held[record.id].holder != unclaimed_for:
                    continue
                if flag is not None and flag not in record.verdict.flags:
                    continue
                if (site is not None and record.site != site) or (sites is not None and record.site not in sites):
                    continue
                matches.append((record, rank))
                if len(matches) > limit:
                    break
        page = matches[:limit]
        has_more = len(matches) > limit
        return QueuePage([record for record, _ in page], encode_cursor(page[-1][1]) if has_more else None)

    def _records(self, ids: Iterable[str]) -> list[CommentRecord | None]:
        pipe = self._redis.pipeline(transaction=False)
        for comment_id in ids:
            pipe.hget(self._keys.comment(comment_id), "json")
        return [CommentRecord.model_validate_json(doc) if doc else None for doc in pipe.execute()]

    def by_author(self, author_id: str, sites: frozenset[str] | None, limit: int) -> list[CommentRecord]:
        """The author's latest `limit` comments (of `sites`), newest first."""
        found: list[CommentRecord] = []
        start = 0
        while len(found) < limit:
            ids: list[str] = self._redis.zrevrange(self._keys.author(author_id), start, start + 99)  # type: ignore[assignment]
            if not ids:
                break
            start += len(ids)
            found += [r for r in self._records(ids) if r is not None and (sites is None or r.site in sites)]
        return found[:limit]

    def author_counts(self, author_id: str, sites: frozenset[str] | None) -> tuple[dict[str, int], dict[str, int]]:
        """How many of the author's comments (on `sites`) are in each status, and each reason's count."""
        stored: dict[str, str] = self._redis.hgetall(self._keys.author_counts(author_id))  # type: ignore[assignment]
        statuses = {s.value: 0 for s in Status}
        reasons: dict[str, int] = {}
        for field, value in stored.items():
            site, kind, name = field.rsplit(":", 2)
            if sites is not None and site not in sites:
                continue
            if kind == "status" and name in statuses:
                statuses[name] += int(value)
            elif kind == "reason":
                reasons[name] = reasons.get(name, 0) + int(value)
        # Comments stored before the counts were kept can take one below zero when they change.
        return {k: max(0, v) for k, v in statuses.items()}, {k: v for k, v in sorted(reasons.items()) if v > 0}

    def neighbours(self, record: CommentRecord, sites: frozenset[str] | None, count: int) -> list[CommentRecord]:
        """Up to `count` other comments of the record's thread nearest to it (its parent excepted), in thread
        order."""
        if not record.thread_id:
            return []
        key = self._keys.thread(record.thread_id)
        position = self._redis.zrank(key, record.id)
        if position is None:
            return []
        low = max(0, int(position) - count - 1)  # type: ignore[arg-type]
        ids: list[str] = self._redis.zrange(key, low, int(position) + count + 1)  # type: ignore[arg-type, assignment]
        skip = {record.id, record.parent_id}
        candidates = [
            (abs(index - int(position)), index, r)  # type: ignore[arg-type]
            for index, r in enumerate(self._records(ids), start=low)
            if r is not None and r.id not in skip and (sites is None or r.site in sites)
        ]
        nearest = sorted(candidates, key=lambda c: (c[0], c[1]))[:count]
        return [r for _, _, r in sorted(nearest, key=lambda c: c[1])]

    def stats(self, flags: Iterable[str], site: str | None = None) -> dict[str, dict[str, int]]:
        """Counts by status and pending counts by flag, of one site or of all."""
        flags = list(flags)
        pipe = self._redis.pipeline(transaction=False)
        for status in QUEUE_STATUSES:
            pipe.zcard(self._keys.queue(status.value) if site is None else self._keys.queue_by_site(status.value, site))
        pending = Status.PENDING.value
        for flag in flags:
            index = self._keys.queue_by_flag(pending, flag)
            pipe.zcard(index if site is None else self._keys.queue_by_site_flag(pending, site, flag))
        counts = [int(n) for n in pipe.execute()]
        by_status = {s.value: n for s, n in zip(QUEUE_STATUSES, counts, strict=False)}
        by_flag = dict(zip(flags, counts[len(QUEUE_STATUSES) :], strict=True))
        return {"by_status": by_status, "pending_by_flag": by_flag}

    def sites(self) -> list[str]:
        """Every site a comment was stored for."""
        return sorted(self._redis.smembers(self._keys.sites()))  # type: ignore[arg-type]

    def audit_trail(self, count: int = 100) -> list[dict[str, str]]:
        """The latest entries, newest first, each with the text it quotes unless that was erased."""
        entries: list[tuple[str, dict[str, str]]] = self._redis.xrevrange(  # type: ignore[assignment]
            self._keys.audit(), count=count
        )
        return with_audit_text(self._redis, self._keys, entries)


def audit_entry(previous: CommentRecord, decided: CommentRecord) -> AuditEntry:
    assert decided.moderation is not None
    return AuditEntry(
        facts={
            "comment_id": decided.id,
            "site": decided.site,
            "version": str(decided.version),
            "action": decided.moderation.action,
            "decided_by": decided.moderation.decided_by,
            "decided_at": decided.moderation.decided_at,
            "reason": decided.moderation.reason.value if decided.moderation.reason else "",
            "legal_grounds": decided.moderation.legal_grounds or "",
            "overridden_decision": previous.verdict.decision.value,
            "flags": ",".join(previous.verdict.flags),
            "held_at": previous.updated_at,
        },
        text={
            "note": decided.moderation.note or "",
            "explanation": decided.moderation.explanation or "",
            "overridden_verdict": json.dumps(previous.verdict.model_dump(mode="json"), sort_keys=True),
        },
    )


def reopen_entry(decided: CommentRecord, moderator: str, at: str) -> AuditEntry:
    """The audit entry of an undo: who reopened which decision, and what that decision was."""
    assert decided.moderation is not None
    return AuditEntry(
        facts={
            "comment_id": decided.id,
            "site": decided.site,
            "version": str(decided.version),
            "action": "reopen",
            "decided_by": moderator,
            "decided_at": at,
            "reopened_action": decided.moderation.action,
            "reopened_by": decided.moderation.decided_by,
            "reopened_decided_at": decided.moderation.decided_at,
            "reopened_reason": decided.moderation.reason.value if decided.moderation.reason else "",
        },
        text={},
    )
