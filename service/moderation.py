"""What the API does, independent of HTTP: verdicts through the cache, submissions, edits, decisions."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.client import Pipeline

from service.categories import CONSPIRACY, TOXICITY_CATEGORIES
from service.decisions import DEFAULT_SITE, WORDLIST, decide
from service.errors import Claimed, Conflict, Forbidden, NotFound
from service.policy import Decision
from service.rules import RulesCache, SiteRules
from service.schemas import Author, CommentRecord, Moderation, QueueItem, Reason, Scored, Status, Verdict
from service.scoring.engine import ScoringEngine
from service.scoring.normalize import NormalizedText, normalize
from service.store.audit import AuditLog
from service.store.cache import VerdictCache
from service.store.comments import (
    Claim,
    ClaimedByOther,
    CommentStore,
    Erased,
    NotPending,
    QueuePage,
    VersionConflict,
    audit_entry,
    reopen_entry,
)
from service.store.events import EventLog, EventType
from service.store.feedback import Feedback, FeedbackStore
from service.store.webhooks import WebhookStore
from service.timestamps import epoch_ms, now_rfc3339

# The sites a caller may use: None for every site.
Sites = frozenset[str] | None

_WRITE_ATTEMPTS = 5
AUTHOR_LATEST = 20
THREAD_NEIGHBOURS = 10


@dataclass(frozen=True)
class Moderator:
    """Who acts on the queue: the API key's name, whether it is an admin (claims do not bind it), its sites."""

    name: str
    admin: bool = False
    sites: Sites = None


@dataclass(frozen=True)
class Ruling:
    """A moderator's decision on one comment, with the statement of reasons a removal owes the commenter."""

    action: str  # approve or reject
    note: str | None = None
    reason: Reason | None = None
    legal_grounds: str | None = None
    explanation: str | None = None


@dataclass(frozen=True)
class AuthorHistory:
    author_id: str
    counts: dict[str, int]
    reasons: dict[str, int]
    comments: list[CommentRecord]

    @property
    def rejection_rate(self) -> float | None:
        decided = self.counts["approved"] + self.counts["rejected"]
        return self.counts["rejected"] / decided if decided else None


@dataclass(frozen=True)
class ThreadContext:
    comment: CommentRecord
    parent: CommentRecord | None
    neighbours: list[CommentRecord]


def _raw_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_site(site: str, allowed: Sites, field: str = "site") -> None:
    """403 for a site outside the caller's: a key limited to sites sees no other site's comments."""
    if allowed is not None and site not in allowed:
        raise Forbidden(f"this API key may not use site {site!r}", field=field)


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
            site=decided.site,
        )
        for attribute in attributes
    ]


class ModerationService:
    def __init__(
        self,
        engine: ScoringEngine,
        cache: VerdictCache,
        comments: CommentStore,
        feedback: FeedbackStore,
        rules: RulesCache,
        audit: AuditLog,
        events: EventLog,
        webhooks: WebhookStore,
        *,
        claim_seconds: int = 300,
        undo_seconds: int = 300,
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.comments = comments
        self.feedback = feedback
        self.rules = rules
        self.audit = audit
        self.events = events
        self.claim_seconds = claim_seconds
        self.undo_seconds = undo_seconds
        self.webhooks = webhooks
        self.observe_decision: Callable[[str, str], None] = lambda site, decision: None

    def scored(self, texts: list[str]) -> list[tuple[Scored, NormalizedText]]:
        """Cache first (one round trip), then one model call for all misses, each distinct text once; evidence at
        offsets into each text as written."""
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
            (self.engine.locate(v if v is not None else fresh[h], n), n)
            for h, n, v in zip(hashes, normalized, found, strict=True)
        ]

    def verdicts(self, texts: list[str], sites: Sequence[str] | None = None) -> list[Verdict]:
        """Each text's site's decision (`sites[i]`; the default site without): shared scores, then the site's
        policy and word lists, taken on every request."""
        rules = self.rules.current()
        scored = self.scored(texts)
        sites = sites if sites is not None else [DEFAULT_SITE] * len(texts)
        return [self._decide(s, text, site, rules) for (s, text), site in zip(scored, sites, strict=True)]

    def _decide(self, scored: Scored, text: NormalizedText, site: str, rules: SiteRules) -> Verdict:
        words = rules.matcher.matches(text, site, scored.language)
        verdict = decide(scored, rules.policy(site), site, words)
        self.observe_decision(site, verdict.decision.value)
        return verdict

    def sites_of(self, key_name: str) -> Sites:
        return self.rules.current().sites_of(key_name)

    def submit(self, comment: dict[str, Any]) -> tuple[CommentRecord, bool]:
        """Create, replay (same text: unchanged) or edit (new text: re-scored). Returns (record, created)."""
        text: str = comment["text"]
        site: str = comment.get("site") or DEFAULT_SITE
        text_sha256 = _raw_sha256(text)
        for _ in range(_WRITE_ATTEMPTS):
            current = self.comments.get(comment["id"])
            if current is not None and current.record.site != site:
                raise Conflict(
                    f"comment {comment['id']!r} belongs to site {current.record.site!r}; a comment keeps its site",
                    field="site",
                )
            if current is not None and current.text_sha256 == text_sha256:
                return current.record, False
            rules = self.rules.current()
            ((scored, normalized),) = self.scored([text])
            verdict = self._decide(scored, normalized, site, rules)
            status = Status.PUBLISHED if verdict.decision is Decision.ALLOW else Status.PENDING
            now = now_rfc3339()
            author = comment.get("author")
            record = CommentRecord(
                id=comment["id"],
                version=current.record.version + 1 if current else 1,
                text=text,
                site=site,
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
            risk = rules.policy(site).risk(verdict.decision, verdict.scores, verdict.flags)
            try:
                self.comments.save(
                    record, text_sha256, risk, current.record.version if current else 0, also=self._held_event(record)
                )
            except VersionConflict:
                continue
            return record, current is None
        raise Conflict("the comment is being changed by another request; retry", field="id")

    def _held_event(self, record: CommentRecord) -> Callable[[Pipeline], None] | None:
        """The event a stored comment's verdict gives: held for review, or rejected by the policy; none for allow."""
        kind = {Decision.REVIEW: EventType.HELD, Decision.REJECT: EventType.REJECTED}.get(record.verdict.decision)
        if kind is None:
            return None
        return lambda pipe: self.events.add_to(pipe, kind, record)

    def get(self, comment_id: str, sites: Sites = None) -> CommentRecord:
        stored = self.comments.get(comment_id)
        if stored is None:
            raise NotFound(f"no comment with id {comment_id!r}", field="id")
        check_site(stored.record.site, sites)
        return stored.record

    def decide(
        self, comment_id: str, action: str, moderator: str, note: str | None = None, sites: Sites = None
    ) -> CommentRecord:
        """One decision, by a moderator whose claims bind (the shorthand the tests and the CLI use)."""
        return self.rule(comment_id, Ruling(action, note), Moderator(moderator, sites=sites))

    def rule(self, comment_id: str, ruling: Ruling, moderator: Moderator) -> CommentRecord:
        """Approve or reject a pending comment, with its reasons; refused while another moderator's claim is live,
        unless the caller is an admin."""
        current = self.get(comment_id, moderator.sites)
        if current.status is not Status.PENDING:
            raise Conflict(f"comment {comment_id!r} is already {current.status.value}", field="id")
        now = now_rfc3339()
        decided = current.model_copy(
            update={
                "status": Status.APPROVED if ruling.action == "approve" else Status.REJECTED,
                "moderation": Moderation(
                    action=ruling.action,
                    decided_by=moderator.name,
                    decided_at=now,
                    note=ruling.note,
                    reason=ruling.reason,
                    legal_grounds=ruling.legal_grounds,
                    explanation=ruling.explanation,
                ),
                "updated_at": now,
            }
        )
        labels = decision_feedback(decided)

        def also(pipe: Pipeline) -> None:
            self.feedback.add_to(pipe, labels)
            self.events.add_to(pipe, EventType.DECIDED, decided)

        try:
            return self.comments.decide(
                decided,
                audit_entry(current, decided),
                also=also,
                claims_bind=not moderator.admin,
            )
        except NotPending as exc:
            raise Conflict(f"comment {comment_id!r} is already {exc.status.value}", field="id") from None
        except ClaimedByOther as exc:
            raise _claimed(comment_id, exc.holder) from None
        except KeyError:
            raise NotFound(f"no comment with id {comment_id!r}", field="id") from None

    def reopen(self, comment_id: str, moderator: Moderator) -> CommentRecord:
        """Undo a decision within the undo window: back to pending at its old place in the queue, its feedback
        labels withdrawn, an audit entry saying who and what."""
        current = self.get(comment_id, moderator.sites)
        if current.moderation is None or current.status not in (Status.APPROVED, Status.REJECTED):
            raise Conflict(f"comment {comment_id!r} is {current.status.value}, not decided", field="id")
        age = time.time() - epoch_ms(current.moderation.decided_at) / 1000
        if age > self.undo_seconds:
            raise Conflict(
                f"comment {comment_id!r} was decided {age:.0f} s ago; a decision can be reopened for "
                f"{self.undo_seconds} s",
                field="id",
            )
        now = now_rfc3339()
        reopened = current.model_copy(update={"status": Status.PENDING, "moderation": None, "updated_at": now})
        labels = self.feedback.decision_labels(comment_id, current.moderation.decided_at)

        def also(pipe: Pipeline) -> None:
            self.feedback.withdraw_in(pipe, labels)
            self.events.add_to(pipe, EventType.REOPENED, reopened)

        try:
            return self.comments.reopen(reopened, reopen_entry(current, moderator.name, now), also=also)
        except NotPending as exc:
            raise Conflict(f"comment {comment_id!r} is {exc.status.value}, not decided", field="id") from None
        except KeyError:
            raise NotFound(f"no comment with id {comment_id!r}", field="id") from None

    def claim(self, comment_id: str, moderator: Moderator, seconds: int | None = None) -> Claim:
        self.get(comment_id, moderator.sites)
        try:
            return self.comments.claim(comment_id, moderator.name, seconds or self.claim_seconds)
        except ClaimedByOther as exc:
            raise _claimed(comment_id, exc.holder) from None
        except NotPending as exc:
            raise Conflict(f"comment {comment_id!r} is {exc.status.value}, not pending", field="id") from None
        except KeyError:
            raise NotFound(f"no comment with id {comment_id!r}", field="id") from None

    def release(self, comment_id: str, moderator: Moderator) -> None:
        self.get(comment_id, moderator.sites)
        try:
            self.comments.release(comment_id, moderator.name, anyones=moderator.admin)
        except ClaimedByOther as exc:
            raise _claimed(comment_id, exc.holder) from None

    def author(self, author_id: str, sites: Sites = None) -> AuthorHistory:
        counts, reasons = self.comments.author_counts(author_id, sites)
        latest = self.comments.by_author(author_id, sites, AUTHOR_LATEST)
        if not latest and not any(counts.values()):
            raise NotFound(f"no comment by author {author_id!r}", field="author_id")
        return AuthorHistory(author_id, counts, reasons, latest)

    def erase_author(self, author_id: str) -> Erased:
        """The GDPR erasure of one commenter: their comments, queue entries, feedback labels and the text of their
        audit entries go; each decision's bare facts (who, when, what, why) stay."""

        def also(pipe: Pipeline, comment_ids: list[str]) -> int:
            self.events.erase_in(pipe, comment_ids)
            self.webhooks.erase_in(pipe, comment_ids)
            return self.feedback.erase_in(pipe, comment_ids)

        try:
            erased = self.comments.erase_author(author_id, also=also)
        except VersionConflict:
            raise Conflict(
                f"the comments of author {author_id!r} kept changing during the erasure; retry", field="author_id"
            ) from None
        if erased.comments == 0 and erased.audit_texts == 0:
            raise NotFound(f"no comment by author {author_id!r}", field="author_id")
        return erased

    def context(self, comment_id: str, sites: Sites = None) -> ThreadContext:
        record = self.get(comment_id, sites)
        parent = None
        if record.parent_id:
            stored = self.comments.get(record.parent_id)
            if stored is not None and (sites is None or stored.record.site in sites):
                parent = stored.record
        return ThreadContext(record, parent, self.comments.neighbours(record, sites, THREAD_NEIGHBOURS))

    def record_feedback(self, entries: list[Feedback]) -> None:
        """Store moderators' labels from outside the queue (Perspective suggestscore), all of them or none."""
        self.feedback.add(entries)

    def queue(
        self,
        status: Status,
        flag: str | None,
        thread_id: str | None,
        limit: int,
        cursor: str | None,
        site: str | None = None,
        sites: Sites = None,
        unclaimed_for: str | None = None,
    ) -> QueuePage:
        """One site's queue, or every site the caller may use; `unclaimed_for` leaves out other moderators'
        claims."""
        if site is not None:
            check_site(site, sites)
        elif sites is not None and len(sites) == 1:
            (site,) = sites
        return self.comments.page(
            status,
            flag=flag,
            thread_id=thread_id,
            limit=limit,
            cursor=cursor,
            site=site,
            sites=sites,
            unclaimed_for=unclaimed_for,
        )

    def with_claims(self, records: list[CommentRecord]) -> list[QueueItem]:
        return self.comments.with_claims(records)

    def stats(self, site: str | None = None, sites: Sites = None) -> dict[str, dict[str, int]]:
        """Counts for one site, or for every site (a key limited to sites must name one, unless it has one)."""
        if site is None and sites is not None:
            if len(sites) != 1:
                raise Forbidden("this API key is limited to sites: name one with ?site=", field="site")
            (site,) = sites
        if site is not None:
            check_site(site, sites)
        return self.comments.stats([*self.engine.policy.review, WORDLIST], site)


def _claimed(comment_id: str, holder: str) -> Claimed:
    return Claimed(f"comment {comment_id!r} is claimed by {holder}", holder=holder)
