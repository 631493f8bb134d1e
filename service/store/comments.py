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
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis
from redis.client import Pipeline

from service.errors import BadRequest
from service.keys import Keys
from service.schemas import QUEUE_STATUSES, CommentRecord, Status

# rank = (RISK_STEPS - risk in thousandths) * 2**SEQ_BITS + arrival sequence: an exact float below 2**53.
_RISK_STEPS = 2000
_SEQ_BITS = 42


class VersionConflict(Exception):
    """The record changed between read and write; the caller re-reads and tries again."""


class NotPending(Exception):
    def __init__(self, status: Status) -> None:
        super().__init__(status)
        self.status = status


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

    def save(self, record: CommentRecord, text_sha256: str, risk: float, expected_version: int) -> None:
        """Write a new version; raise VersionConflict if someone else wrote first."""
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
                pipe.hset(key, mapping={"json": record.model_dump_json(), "text_sha256": text_sha256})
                if rank is None:
                    pipe.hdel(key, "rank")
                else:
                    pipe.hset(key, "rank", repr(rank))
                    for index in self._index_keys(record):
                        pipe.zadd(index, {record.id: rank})
                pipe.execute()
            except redis.WatchError:
                raise VersionConflict(record.id) from None

    def decide(
        self, decided: CommentRecord, audit: dict[str, str], also: Callable[[Pipeline], None] | None = None
    ) -> CommentRecord:
        """Move a pending record to its decided status and append to the audit stream, atomically.

        `also` queues more commands in the same MULTI (the decision's feedback labels): they happen exactly when
        the decision does, never for a decision that lost a race.
        """
        key = self._keys.comment(decided.id)
        with self._redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]
                current = self._parse(pipe.hmget(key, ["json", "text_sha256", "rank"]))  # type: ignore[arg-type]
                if current is None:
                    raise KeyError(decided.id)
                if current.record.status is not Status.PENDING or current.record.version != decided.version:
                    raise NotPending(current.record.status)
                pipe.multi()
                for index in self._index_keys(current.record):
                    pipe.zrem(index, decided.id)
                pipe.hset(key, "json", decided.model_dump_json())
                if current.rank is not None:
                    for index in self._index_keys(decided):
                        pipe.zadd(index, {decided.id: current.rank})
                pipe.xadd(self._keys.audit(), audit)  # type: ignore[arg-type]
                if also is not None:
                    also(pipe)
                pipe.execute()
            except redis.WatchError:
                # Someone else changed it first: report what it is now.
                latest = self.get(decided.id)
                raise NotPending(latest.record.status if latest else Status.PENDING) from None
        return decided

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
    ) -> QueuePage:
        """Keyset paging on the rank: items present when paging starts are never skipped nor repeated.

        `site` picks one site's index; `sites` (a key's limit) filters whatever index is read."""
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
            for record, rank in zip(self._records(i for i, _ in batch), (r for _, r in batch), strict=True):
                after = int(rank)
                if record is None or record.status is not status:
                    continue  # decided or edited between the two reads
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
        entries: list[tuple[str, dict[str, str]]] = self._redis.xrevrange(  # type: ignore[assignment]
            self._keys.audit(), count=count
        )
        return [{"id": entry_id, **fields} for entry_id, fields in entries]


def audit_entry(previous: CommentRecord, decided: CommentRecord) -> dict[str, str]:
    assert decided.moderation is not None
    return {
        "comment_id": decided.id,
        "site": decided.site,
        "version": str(decided.version),
        "action": decided.moderation.action,
        "decided_by": decided.moderation.decided_by,
        "decided_at": decided.moderation.decided_at,
        "note": decided.moderation.note or "",
        "overridden_decision": previous.verdict.decision.value,
        "overridden_verdict": json.dumps(previous.verdict.model_dump(mode="json"), sort_keys=True),
    }
