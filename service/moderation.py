"""What the API does, independent of HTTP: verdicts through the cache, submissions, edits, decisions."""

from __future__ import annotations

import hashlib
from typing import Any

from service.categories import CONSPIRACY, TOXICITY_CATEGORIES
from service.errors import Conflict, NotFound
from service.policy import Decision
from service.schemas import Author, CommentRecord, Moderation, Status, Verdict
from service.scoring.engine import ScoringEngine
from service.scoring.normalize import NormalizedText, normalize
from service.store.cache import VerdictCache
from service.store.comments import CommentStore, NotPending, QueuePage, VersionConflict, audit_entry
from service.store.feedback import Feedback, FeedbackStore
from service.timestamps import now_rfc3339

_WRITE_ATTEMPTS = 5


def _raw_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decision_feedback(decided: CommentRecord) -> list[Feedback]:
    """The labels a queue decision gives: each toxicity category the verdict flagged is 1 (rejected) or 0
    (approved); a comment held for none of them (conspiracy only) speaks to toxicity as a whole. A conspiracy flag
    is kept as a label of its own, for a later conspiracy training; toxicity training skips it."""
    assert decided.moderation is not None
    value = 1.0 if decided.status is Status.REJECTED else 0.0
    flags = decided.verdict.flags
    attributes = [c for c in TOXICITY_CATEGORIES if c in flags] or ["toxicity"]
    if CONSPIRACY in flags:
        attributes.append(CONSPIRACY)
    return [
        Feedback(
            text=decided.text,
            attribute=attribute,
            value=value,
            source="queue",
            comment_id=decided.id,
            created_at=decided.moderation.decided_at,
        )
        for attribute in attributes
    ]


class ModerationService:
    def __init__(
        self, engine: ScoringEngine, cache: VerdictCache, comments: CommentStore, feedback: FeedbackStore
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.comments = comments
        self.feedback = feedback

    def verdicts(self, texts: list[str]) -> list[Verdict]:
        """Cache first (one round trip), then one model call for all misses, each distinct text once."""
        normalized = [normalize(t) for t in texts]
        hashes = [n.sha256 for n in normalized]
        found = self.cache.get_many(self.engine.fingerprint, hashes)
        missing: dict[str, NormalizedText] = {
            h: n for h, n, v in zip(hashes, normalized, found, strict=True) if v is None
        }
        fresh = dict(zip(missing, self.engine.score_normalized(list(missing.values())), strict=True))
        self.cache.put_many(self.engine.fingerprint, fresh)
        # Cached evidence points into the normalised text, the cache key; each request's into its own original.
        return [
            self.engine.locate(v if v is not None else fresh[h], n)
            for h, n, v in zip(hashes, normalized, found, strict=True)
        ]

    def submit(self, comment: dict[str, Any]) -> tuple[CommentRecord, bool]:
        """Create, replay (same text: unchanged) or edit (new text: re-scored). Returns (record, created)."""
        text: str = comment["text"]
        text_sha256 = _raw_sha256(text)
        for _ in range(_WRITE_ATTEMPTS):
            current = self.comments.get(comment["id"])
            if current is not None and current.text_sha256 == text_sha256:
                return current.record, False
            verdict = self.verdicts([text])[0]
            status = Status.PUBLISHED if verdict.decision is Decision.ALLOW else Status.PENDING
            now = now_rfc3339()
            author = comment.get("author")
            record = CommentRecord(
                id=comment["id"],
                version=current.record.version + 1 if current else 1,
                text=text,
                thread_id=comment.get("thread_id"),
                author=Author.model_validate(author) if author else None,
                parent_id=comment.get("parent_id"),
                metadata=comment.get("metadata"),
                status=status,
                verdict=verdict,
                moderation=None,
                created_at=current.record.created_at if current else (comment.get("created_at") or now),
                updated_at=now,
            )
            risk = self.engine.policy.risk(verdict.decision, verdict.scores, verdict.flags)
            try:
                self.comments.save(record, text_sha256, risk, current.record.version if current else 0)
            except VersionConflict:
                continue
            return record, current is None
        raise Conflict("the comment is being changed by another request; retry", field="id")

    def get(self, comment_id: str) -> CommentRecord:
        stored = self.comments.get(comment_id)
        if stored is None:
            raise NotFound(f"no comment with id {comment_id!r}", field="id")
        return stored.record

    def decide(self, comment_id: str, action: str, moderator: str, note: str | None) -> CommentRecord:
        current = self.get(comment_id)
        if current.status is not Status.PENDING:
            raise Conflict(f"comment {comment_id!r} is already {current.status.value}", field="id")
        decided = current.model_copy(
            update={
                "status": Status.APPROVED if action == "approve" else Status.REJECTED,
                "moderation": Moderation(action=action, decided_by=moderator, decided_at=now_rfc3339(), note=note),
                "updated_at": now_rfc3339(),
            }
        )
        labels = decision_feedback(decided)
        try:
            return self.comments.decide(
                decided, audit_entry(current, decided), also=lambda pipe: self.feedback.add_to(pipe, labels)
            )
        except NotPending as exc:
            raise Conflict(f"comment {comment_id!r} is already {exc.status.value}", field="id") from None
        except KeyError:
            raise NotFound(f"no comment with id {comment_id!r}", field="id") from None

    def record_feedback(self, entries: list[Feedback]) -> None:
        """Store moderators' labels from outside the queue (Perspective suggestscore), all of them or none."""
        self.feedback.add(entries)

    def queue(
        self, status: Status, flag: str | None, thread_id: str | None, limit: int, cursor: str | None
    ) -> QueuePage:
        return self.comments.page(status, flag=flag, thread_id=thread_id, limit=limit, cursor=cursor)

    def stats(self) -> dict[str, dict[str, int]]:
        return self.comments.stats(self.engine.policy.review)
