"""Request and response bodies of API v1; the OpenAPI document is generated from these."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from service.ids import ID_PATTERN
from service.schemas import CommentRecord, QueueItem, Reason, Verdict
from service.scoring.normalize import has_visible_text
from service.store.streams import is_stream_id

_METADATA_MAX_BYTES = 4096
# RFC 3339 section 5.6 date-time: full-date "T" full-time, with seconds and a zone.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _settings_limit() -> int:
    limit: int = current_app.config["SETTINGS"].max_text_chars
    return limit


def check_text(text: str) -> str:
    if len(text) > _settings_limit():
        raise ValueError(f"text is longer than {_settings_limit()} characters")
    if not has_visible_text(text):
        raise ValueError("text has no visible characters")
    return text


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


_SITE_DESCRIPTION = "The site the comment belongs to, whose policy and word lists decide; default `default`"


class AuthorIn(_Body):
    id: str | None = Field(
        default=None, min_length=1, max_length=128, description="The site's id for the commenter: their history"
    )
    name: str | None = Field(default=None, max_length=200)


class CommentIn(_Body):
    id: str = Field(pattern=ID_PATTERN, description="The site's id for the comment; the idempotency key")
    site: str | None = Field(default=None, pattern=ID_PATTERN, description=_SITE_DESCRIPTION)
    text: str = Field(min_length=1, description="The comment as written (at most MODERATION_MAX_TEXT_CHARS)")
    thread_id: str | None = Field(default=None, pattern=ID_PATTERN)
    author: AuthorIn | None = None
    parent_id: str | None = Field(default=None, pattern=ID_PATTERN)
    created_at: str | None = Field(
        default=None,
        description="RFC 3339 timestamp",
        examples=["2026-04-24T10:00:00Z"],
        json_schema_extra={"format": "date-time"},
    )
    metadata: dict[str, Any] | None = Field(default=None, description=f"At most {_METADATA_MAX_BYTES} bytes as JSON")

    _text = field_validator("text")(check_text)

    @field_validator("created_at")
    @classmethod
    def _rfc3339(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            _rfc3339_moment(value)
        except ValueError as error:
            raise ValueError(f"created_at is {error}") from None
        return value

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > _METADATA_MAX_BYTES:
            raise ValueError(f"metadata is larger than {_METADATA_MAX_BYTES} bytes")
        return value


class ScoreItem(_Body):
    text: str = Field(min_length=1)
    site: str | None = Field(default=None, pattern=ID_PATTERN, description=_SITE_DESCRIPTION)

    _text = field_validator("text")(check_text)


class ScoreRequest(_Body):
    comments: list[ScoreItem] = Field(min_length=1, max_length=100)


class ScoreResponse(BaseModel):
    results: list[Verdict]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None
    claimed_by: str | None = Field(default=None, description="On a 409 for a claimed queue item: who holds it")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class DecisionIn(_Body):
    action: Literal["approve", "reject"]
    note: str | None = Field(
        default=None, max_length=2000, description="For the moderators; the site's backend reads it in the record too"
    )
    reason: Reason | None = Field(default=None, description="Coral Talk's reason code")
    legal_grounds: str | None = Field(
        default=None, max_length=2000, description="The law or term of service a removal rests on"
    )
    explanation: str | None = Field(default=None, max_length=5000, description="What the commenter may be shown")

    # Strict bodies take no enum from a JSON string; this one field is read leniently, so a code is accepted.
    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: object) -> object:
        if value is None or isinstance(value, Reason):
            return value
        if isinstance(value, str) and value in Reason.__members__:
            return Reason(value)
        raise ValueError(f"unknown reason; one of {', '.join(Reason.__members__)}")


class BulkDecisionItem(DecisionIn):
    id: str = Field(pattern=ID_PATTERN)


BULK_MAX = 100


class BulkDecisionIn(_Body):
    decisions: list[BulkDecisionItem] = Field(min_length=1, max_length=BULK_MAX)

    @field_validator("decisions")
    @classmethod
    def _distinct(cls, value: list[BulkDecisionItem]) -> list[BulkDecisionItem]:
        seen: set[str] = set()
        for item in value:
            if item.id in seen:
                raise ValueError(f"id {item.id!r} appears twice; decide each comment once")
            seen.add(item.id)
        return value


class BulkResult(BaseModel):
    id: str
    status: int = Field(description="What the single decision would have answered: 200, 403, 404 or 409")
    record: CommentRecord | None = None
    error: ErrorDetail | None = None


class BulkDecisionOut(BaseModel):
    results: list[BulkResult] = Field(description="One per item, in the request's order")


class ClaimIn(_Body):
    """Optional: a POST without a body claims for the default time."""

    seconds: int | None = Field(default=None, ge=30, le=3600, description="Default MODERATION_CLAIM_SECONDS")

    @model_validator(mode="before")
    @classmethod
    def _no_body(cls, value: object) -> object:
        return {} if value is None else value


class ClaimOut(BaseModel):
    id: str
    claimed_by: str
    claim_expires_at: str


class AuthorPath(BaseModel):
    author_id: str = Field(min_length=1, max_length=128)


class AuthorOut(BaseModel):
    author_id: str
    counts: dict[str, int] = Field(description="The author's comments by status")
    total: int
    rejection_rate: float | None = Field(description="Rejected among those a moderator decided; null for none")
    reasons: dict[str, int] = Field(description="Reason code -> decisions that gave it")
    comments: list[CommentRecord] = Field(description="The latest 20, newest first")


class ErasedCounts(BaseModel):
    comments: int
    queue_entries: int = Field(description="Entries in the queue's indexes (one comment sits in several)")
    feedback_labels: int
    audit_texts: int = Field(description="Audit entries whose note, explanation and verdict were removed")


class AuthorErasedOut(BaseModel):
    author_id: str
    removed: ErasedCounts


class ContextOut(BaseModel):
    comment: CommentRecord
    parent: CommentRecord | None
    neighbours: list[CommentRecord] = Field(description="Up to 10 other comments of the thread, in thread order")


class MeOut(BaseModel):
    name: str
    role: str
    sites: list[str] | None = Field(description="None: every site")
    claim_seconds: int = Field(description="How long a claim lasts unless renewed (MODERATION_CLAIM_SECONDS)")
    undo_seconds: int = Field(description="How long a decision can be reopened (MODERATION_UNDO_SECONDS)")


class CommentPath(BaseModel):
    comment_id: str = Field(pattern=ID_PATTERN)


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "approved", "rejected"] = "pending"
    flag: str | None = Field(default=None, description="Only items flagged with this category")
    thread_id: str | None = Field(default=None, pattern=ID_PATTERN)
    site: str | None = Field(default=None, pattern=ID_PATTERN, description="Only this site's comments")
    unclaimed: bool = Field(default=False, description="Leave out the items other moderators have claimed")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(
        default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor of the previous page"
    )

    @field_validator("flag")
    @classmethod
    def _known_flag(cls, value: str | None) -> str | None:
        known = current_app.config["CATEGORIES"]
        if value is not None and value not in known:
            raise ValueError(f"unknown flag; one of {', '.join(sorted(known))}")
        return value


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str | None = Field(default=None, pattern=ID_PATTERN, description="Only this site's comments")


class QueuePageOut(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


class QueueStats(BaseModel):
    by_status: dict[str, int]
    pending_by_flag: dict[str, int]


Responses = dict[str | int, type[BaseModel] | dict[Any, Any] | None]


def responses(ok: dict[int, type[BaseModel] | None], *error_statuses: int) -> Responses:
    """The OpenAPI responses of a route: its success bodies and the error statuses it can return."""
    documented: Responses = {status: model for status, model in ok.items()}
    documented.update({status: ErrorResponse for status in error_statuses})
    return documented


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


def _known_categories(values: dict[str, float] | list[str] | None, where: str) -> None:
    known: frozenset[str] = current_app.config["SCORED_CATEGORIES"]
    for category in values or ():
        if category not in known:
            raise ValueError(f"unknown category {category!r} in {where}; one of {', '.join(sorted(known))}")


class PolicyIn(_Body):
    """A site's policy: its own thresholds over the deployment's (a category left out keeps the deployment's)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    review: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(default_factory=dict)
    reject: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(default_factory=dict)
    categories: list[str] | None = Field(
        default=None, description="The categories that can flag or reject (default: every one)"
    )
    unsupported_language: Literal["allow", "review", "reject"] | None = Field(
        default=None, description="The decision, at least, for a language no model supports (default: the deployment's)"
    )

    @field_validator("review", "reject", "categories")
    @classmethod
    def _known(cls, value: Any, info: Any) -> Any:
        _known_categories(value, info.field_name)
        return value


class EffectivePolicy(BaseModel):
    version: str = Field(description="What verdicts name in `policy`")
    review: dict[str, float]
    reject: dict[str, float]
    categories: list[str] | None
    unsupported_language: str


class PolicyOut(BaseModel):
    site: str
    own: bool = Field(description="False: the site has no policy of its own, and the deployment's applies")
    applies: bool = Field(
        description="False when the site's own policy no longer fits the deployment's thresholds (a reject below a "
        "review), so the deployment's decides until it is set again"
    )
    version: int | None = Field(description="1 for the site's first policy, one more for each change")
    updated_at: str | None
    updated_by: str | None
    document: dict[str, Any] | None = Field(description="The policy as stored (PUT's body)")
    effective: EffectivePolicy


class SitePath(BaseModel):
    site: str = Field(pattern=ID_PATTERN)


class WordListPath(BaseModel):
    name: str = Field(pattern=ID_PATTERN)


class KeyPath(BaseModel):
    name: str = Field(pattern=ID_PATTERN)


class WordListIn(_Body):
    action: Literal["reject", "review", "allow"]
    terms: list[str] = Field(description="Words or phrases; `*` stands for any letters inside a word")
    sites: list[Annotated[str, Field(pattern=ID_PATTERN)]] | None = Field(
        default=None, description="The sites it applies to (default: every site)"
    )
    language: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2,3}$", description="Only comments in this language (default: any)"
    )


class WordListCsvQuery(BaseModel):
    """A CSV body carries terms alone: the rest comes from the query, or from the list being replaced. A JSON body
    says all of it, and the query is ignored."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["reject", "review", "allow"] | None = Field(default=None, description="For a CSV body")
    sites: str | None = Field(default=None, description="Sites separated by commas, for a CSV body")
    language: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}$", description="For a CSV body")


class WordListOut(BaseModel):
    name: str
    action: str
    terms: list[str] | None = None
    term_count: int
    sites: list[str] | None
    language: str | None
    version: int
    updated_at: str
    updated_by: str


class WordListsOut(BaseModel):
    wordlists: list[WordListOut]


class WordListTestIn(_Body):
    text: str = Field(min_length=1)
    site: str = Field(default="default", pattern=ID_PATTERN)
    language: str = Field(default="en", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")

    _text = field_validator("text")(check_text)


class WordMatchOut(BaseModel):
    list: str
    action: str
    term: str
    start: int
    end: int
    text: str


class WordListTestOut(BaseModel):
    matches: list[WordMatchOut]
    decision: Literal["reject", "review"] | None = Field(description="What the matches alone would decide")


class KeySitesIn(_Body):
    sites: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(min_length=1, max_length=1000)


class KeySitesOut(BaseModel):
    name: str
    role: str
    sites: list[str] | None = Field(description="None: every site")
    source: Literal["admin", "environment", "none"]


class KeysOut(BaseModel):
    keys: list[KeySitesOut]


def _rfc3339_moment(value: str) -> datetime:
    """`value` as an aware datetime, if it is an RFC 3339 timestamp: fromisoformat alone takes forms RFC 3339 does
    not (a date alone, a space for the T), so the pattern decides the form and fromisoformat the calendar."""
    if not _RFC3339.fullmatch(value):
        raise ValueError("not an RFC 3339 timestamp (e.g. 2026-04-24T10:00:00Z)")
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not a valid date and time") from None


def parse_moment(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime (the API's query form of a time)."""
    if value is None:
        return None
    moment = _rfc3339_moment(value)
    if moment.timestamp() < 0:
        raise ValueError("before 1970-01-01T00:00:00Z, when the service's records begin")
    return moment


def check_stream_id(value: str | None) -> str | None:
    if value is not None and not is_stream_id(value):
        raise ValueError("not an id this service returned")
    return value


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str | None = Field(default=None, alias="from", description="RFC 3339: entries at or after")
    end: str | None = Field(default=None, alias="to", description="RFC 3339: entries before")
    moderator: str | None = Field(default=None, pattern=ID_PATTERN, description="The deciding key's name")
    site: str | None = Field(default=None, pattern=ID_PATTERN)
    action: Literal["approve", "reject", "reopen"] | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(default=None, pattern=r"^[0-9]{1,20}-[0-9]{1,20}$", description="next_cursor")
    _cursor = field_validator("cursor")(check_stream_id)
    format: Literal["json", "jsonl"] = Field(
        default="json", description="`jsonl`: every matching entry as JSON Lines, without paging"
    )

    @field_validator("start")
    @classmethod
    def _timestamp(cls, value: str | None) -> str | None:
        parse_moment(value)
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: str | None, info: ValidationInfo) -> str | None:
        start, end = parse_moment(info.data.get("start")), parse_moment(value)
        if start is not None and end is not None and end <= start:
            raise ValueError("`to` must be after `from`")
        return value


class AuditPageOut(BaseModel):
    entries: list[dict[str, str]] = Field(
        description="Oldest first: comment_id, site, action, decided_by, decided_at, reason, legal_grounds, flags, "
        "held_at, overridden_decision, and, unless erased, note, explanation and overridden_verdict"
    )
    next_cursor: str | None


TRANSPARENCY_MAX_DAYS = 366


class TransparencyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str = Field(alias="from", description="RFC 3339: the period's start")
    end: str = Field(alias="to", description="RFC 3339: the period's end (exclusive), at most a year later")
    site: str | None = Field(default=None, pattern=ID_PATTERN)

    @field_validator("start")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        parse_moment(value)
        return value

    @field_validator("end")
    @classmethod
    def _period(cls, value: str, info: ValidationInfo) -> str:
        end = parse_moment(value)
        start = parse_moment(info.data.get("start"))
        if start is not None and end is not None:
            if end <= start:
                raise ValueError("`to` must be after `from`")
            if end - start > timedelta(days=TRANSPARENCY_MAX_DAYS):
                raise ValueError(f"a period is at most {TRANSPARENCY_MAX_DAYS} days")
        return value

    @property
    def period(self) -> tuple[datetime, datetime]:
        start, end = parse_moment(self.start), parse_moment(self.end)
        assert start is not None and end is not None
        return start, end


class TransparencyOut(BaseModel):
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    site: str | None
    automated: dict[str, Any] = Field(description="Decisions the policy took at submission, by decision and flag")
    human: dict[str, Any] = Field(description="Moderators' decisions, by action, reason and flagged category")
    overturned: dict[str, Any] = Field(description="How often a moderator approved what the policy had held")
    time_to_decision_seconds: dict[str, Any] = Field(description="From the hold to the decision: median and p90")


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: str | None = Field(
        default=None, pattern=r"^[0-9]{1,20}-[0-9]{1,20}$", description="The last event id already read"
    )
    limit: int = Field(default=100, ge=1, le=1000)
    site: str | None = Field(default=None, pattern=ID_PATTERN, description="Only this site's events")

    _after = field_validator("after")(check_stream_id)


class EventOut(BaseModel):
    id: str = Field(description="Ordered; pass the last one read as `after`")
    type: Literal["comment.held", "comment.rejected", "comment.decided", "comment.reopened"]
    created_at: str
    comment: CommentRecord


class EventsOut(BaseModel):
    events: list[EventOut]
    next_after: str | None = Field(description="The `after` of the next call: the last event's id, or yours again")


class WebhookPath(BaseModel):
    name: str = Field(pattern=ID_PATTERN)


class WebhookDelivery(BaseModel):
    delivered: int
    failed: int = Field(description="Failed attempts, each retry counted")
    dead_lettered: int = Field(description="Events given up on after the retry period")
    dead_letters: int = Field(description="Dead letters waiting now (list them, replay them)")
    pending: int = Field(description="Events written that the webhook has not yet been sent, skipped or given up")
    oldest_pending_seconds: float | None


class WebhookOut(BaseModel):
    name: str
    url: str
    events: list[str]
    sites: list[str] | None = Field(description="None: every site")
    source: Literal["environment", "admin"] = Field(description="`environment`: MODERATION_WEBHOOKS, read-only here")
    updated_at: str | None
    updated_by: str | None
    delivery: WebhookDelivery


class WebhooksOut(BaseModel):
    webhooks: list[WebhookOut]


class DeadLettersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=100, ge=1, le=1000)


class DeadLetterOut(BaseModel):
    id: str = Field(description="The event's id")
    type: str
    site: str
    comment_id: str
    attempts: int
    last_error: str
    dead_at: str
    event: dict[str, Any] = Field(description="The body that was sent, as sent")


class DeadLettersOut(BaseModel):
    dead_letters: list[DeadLetterOut]


class ReplayIn(_Body):
    """Optional: a POST without a body replays every dead letter."""

    ids: list[str] | None = Field(default=None, min_length=1, max_length=1000, description="Only these events")

    @model_validator(mode="before")
    @classmethod
    def _no_body(cls, value: object) -> object:
        return {} if value is None else value

    @field_validator("ids")
    @classmethod
    def _stream_ids(cls, value: list[str] | None) -> list[str] | None:
        for entry_id in value or ():
            if not is_stream_id(entry_id):
                raise ValueError(f"{entry_id!r} is not an event id")
        return value


class ReplayOut(BaseModel):
    replayed: int
