"""Request and response bodies of API v1; the OpenAPI document is generated from these."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.schemas import Author, CommentRecord, Verdict
from service.scoring.normalize import has_visible_text

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
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


class CommentIn(_Body):
    id: str = Field(pattern=ID_PATTERN, description="The site's id for the comment; the idempotency key")
    text: str = Field(min_length=1, description="The comment as written (at most MODERATION_MAX_TEXT_CHARS)")
    thread_id: str | None = Field(default=None, pattern=ID_PATTERN)
    author: Author | None = None
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
        if not _RFC3339.fullmatch(value):
            raise ValueError("created_at is not an RFC 3339 timestamp (e.g. 2026-04-24T10:00:00Z)")
        try:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("created_at is not a valid date and time") from None
        return value

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > _METADATA_MAX_BYTES:
            raise ValueError(f"metadata is larger than {_METADATA_MAX_BYTES} bytes")
        return value


class ScoreItem(_Body):
    text: str = Field(min_length=1)

    _text = field_validator("text")(check_text)


class ScoreRequest(_Body):
    comments: list[ScoreItem] = Field(min_length=1, max_length=100)


class ScoreResponse(BaseModel):
    results: list[Verdict]


class DecisionIn(_Body):
    action: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=2000)


class CommentPath(BaseModel):
    comment_id: str = Field(pattern=ID_PATTERN)


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "approved", "rejected"] = "pending"
    flag: str | None = Field(default=None, description="Only items flagged with this category")
    thread_id: str | None = Field(default=None, pattern=ID_PATTERN)
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


class QueuePageOut(BaseModel):
    items: list[CommentRecord]
    next_cursor: str | None


class QueueStats(BaseModel):
    by_status: dict[str, int]
    pending_by_flag: dict[str, int]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorResponse(BaseModel):
    error: ErrorDetail


Responses = dict[str | int, type[BaseModel] | dict[Any, Any] | None]


def responses(ok: dict[int, type[BaseModel]], *error_statuses: int) -> Responses:
    """The OpenAPI responses of a route: its success bodies and the error statuses it can return."""
    documented: Responses = {status: model for status, model in ok.items()}
    documented.update({status: ErrorResponse for status in error_statuses})
    return documented


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}
