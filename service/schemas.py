"""Wire shapes of verdicts and comment records (also what the store keeps as JSON)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from service.policy import Decision


class EvidenceSpan(BaseModel):
    start: int = Field(description="Offset of the first character in the submitted text")
    end: int = Field(description="Offset after the last character")
    text: str
    cue: str = Field(
        description="The cue family that matched, or `model` for a span the toxicity model's token head marked"
    )


class Scored(BaseModel):
    """What the models and cue phrases say of a text before any site's policy: the verdict cache's entry.

    Every site's decision is taken from it (`service.decisions`), so a second site costs no model time. Evidence
    that depends on what a policy flags is kept apart, under the category whose flag shows it.
    """

    # Frozen: the verdict cache hands one object to every request for the same text.
    model_config = ConfigDict(frozen=True)

    scores: dict[str, float]
    evidence: dict[str, list[EvidenceSpan]] = Field(description="Cue phrases: shown whatever the policy flags")
    evidence_if_flagged: dict[str, list[EvidenceSpan]] = Field(
        description="category -> spans shown only when it is flagged (`toxicity`: when any toxicity category is): "
        "a toxicity cue under its own category, the model's spans, the sentence that carries a conspiracy claim"
    )
    language: str
    language_supported: bool
    models: dict[str, str]
    cached: bool = False


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: Decision
    flags: list[str] = Field(description="Categories at or above their review threshold")
    scores: dict[str, float] = Field(description="Every category's score in [0, 1]")
    evidence: dict[str, list[EvidenceSpan]] = Field(
        description="category -> the spans that support its score: cue phrases, and the model's own spans for the "
        "toxicity categories it flagged"
    )
    language: str = Field(
        description="The language the comment counts as (ISO 639-1 where one exists, `und` when undetermined): "
        "detected, or MODERATION_DEFAULT_LANGUAGE for a text too short to place"
    )
    language_supported: bool = Field(
        description="Whether a model here supports that language; when not, the policy's `unsupported_language` "
        "decision applies at least (default review)"
    )
    models: dict[str, str] = Field(description="category family -> name@version of the model that scored it")
    policy: str = Field(description="Version of the policy that decided")
    cached: bool = Field(description="True when served from the verdict cache without running a model")
    site: str = Field(default="default", description="The site whose policy and word lists decided")


class Author(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=200)


class Status(StrEnum):
    PUBLISHED = "published"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


QUEUE_STATUSES = (Status.PENDING, Status.APPROVED, Status.REJECTED)


class Reason(StrEnum):
    """Why a moderator decided as they did: Coral Talk's rejection reason codes, so that a decision can travel to a
    Coral site unchanged, and the statement of reasons the Digital Services Act asks for has a code."""

    OFFENSIVE = "OFFENSIVE"
    ABUSIVE = "ABUSIVE"
    SPAM = "SPAM"
    BANNED_WORD = "BANNED_WORD"
    AD = "AD"
    ILLEGAL_CONTENT = "ILLEGAL_CONTENT"
    HARASSMENT_BULLYING = "HARASSMENT_BULLYING"
    MISINFORMATION = "MISINFORMATION"
    HATE_SPEECH = "HATE_SPEECH"
    IRRELEVANT_CONTENT = "IRRELEVANT_CONTENT"
    OTHER = "OTHER"


class Moderation(BaseModel):
    action: str
    decided_by: str
    decided_at: str
    note: str | None = None
    reason: Reason | None = None
    legal_grounds: str | None = Field(default=None, description="The law or term of service a removal rests on")
    explanation: str | None = Field(default=None, description="What the commenter may be shown")


class CommentRecord(BaseModel):
    id: str
    version: int
    text: str
    site: str = "default"
    thread_id: str | None = None
    author: Author | None = None
    parent_id: str | None = None
    metadata: dict[str, object] | None = None
    status: Status
    verdict: Verdict
    moderation: Moderation | None = None
    created_at: str
    updated_at: str


class QueueItem(CommentRecord):
    """A record as the queue lists it: with the claim a moderator holds on it, if any."""

    claimed_by: str | None = None
    claim_expires_at: str | None = None
