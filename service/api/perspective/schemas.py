"""The Perspective API's request and response bodies (Comment Analyzer v1alpha1), as pydantic models.

Requests accept proto3-JSON's lowerCamelCase names and the proto field names (snake_case) alike, and ignore
fields they do not know, as a lenient superset of Google's parser. Enums stay strings or numbers here: the view
answers a bad one with Perspective's own message. Responses are always written in lowerCamelCase, unset fields
left out. The discovery document is generated from these models (`discovery.py`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Message(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="ignore")


class TextEntry(_Message):
    """A body of text."""

    text: str | None = Field(default=None, description="UTF-8 encoded text.")
    type: str | int | None = Field(
        default=None,
        description="Type of the text field: TEXT_TYPE_UNSPECIFIED or PLAIN_TEXT; HTML is refused.",
        json_schema_extra={"enum": ["TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT", "HTML"]},
    )


class ArticleAndParentComment(_Message):
    """A type of context specific to a comment left on a single-threaded comment message board."""

    article: TextEntry | None = Field(default=None, description="The source content about which the comment was made.")
    parent_comment: TextEntry | None = Field(default=None, description="Refers to text that is a direct parent.")


class Context(_Message):
    """Context is typically something that a Comment is referencing or replying to. The models ignore it."""

    entries: list[TextEntry] | None = Field(default=None, description="A list of messages.")
    article_and_parent_comment: ArticleAndParentComment | None = Field(
        default=None, description="Information about the source for which the original comment was made."
    )


class AttributeParameters(_Message):
    """Configurable parameters for attribute scoring."""

    score_type: str | int | None = Field(
        default=None,
        description="What type of scores to return. Only PROBABILITY (the default) is supported.",
        json_schema_extra={"enum": ["SCORE_TYPE_UNSPECIFIED", "PROBABILITY"]},
    )
    score_threshold: float | None = Field(
        default=None, description="Don't return scores for this attribute that are below this threshold."
    )


class AnalyzeCommentRequest(_Message):
    """The comment analysis request message."""

    comment: TextEntry | None = Field(default=None, description="The comment to analyze (at most 20480 bytes).")
    context: Context | None = Field(default=None, description="The context of the comment (ignored by the models).")
    requested_attributes: dict[str, AttributeParameters] | None = Field(
        default=None, description="Specification of requested attributes, by name: TOXICITY, INSULT, CONSPIRACY..."
    )
    span_annotations: bool | None = Field(
        default=None, description="An advisory parameter that will return span annotations: one span per sentence."
    )
    languages: list[str] | None = Field(
        default=None, description="The language(s) of the comment (ISO 639-1 or BCP-47); detected when empty."
    )
    do_not_store: bool | None = Field(
        default=None, description="Do not keep the comment's text: the service stores none of it in any case."
    )
    client_token: str | None = Field(default=None, description="Opaque token that is echoed from the request.")
    session_id: str | None = Field(default=None, description="Session ID, to group related requests.")
    community_id: str | None = Field(default=None, description="Optional identifier associating this request.")
    drop_unsupported_attributes: bool | None = Field(
        default=None,
        description="Drop the attributes that do not support the comment's language instead of refusing the request.",
    )


class Score(_Message):
    """Analysis scores are described by a value and a ScoreType."""

    value: float | None = Field(default=None, description="Score value in [0, 1].")
    type: str | int | None = Field(
        default=None,
        description="The type of the above value.",
        json_schema_extra={"enum": ["SCORE_TYPE_UNSPECIFIED", "PROBABILITY"]},
    )


class SpanScore(_Message):
    """This is a single score for a given span of text."""

    begin: int | None = Field(default=None, description="Start of the span, in UTF-16 code units.", ge=0)
    end: int | None = Field(default=None, description="End of the span (exclusive), in UTF-16 code units.", ge=0)
    score: Score | None = Field(default=None, description="The score value.")


class AttributeScores(_Message):
    """This holds score values for a single attribute, with per-span scores."""

    summary_score: Score | None = Field(default=None, description="Overall score for comment as a whole.")
    span_scores: list[SpanScore] | None = Field(default=None, description="Per-span scores.")


class AnalyzeCommentResponse(_Message):
    """The comment analysis response message."""

    attribute_scores: dict[str, AttributeScores] | None = Field(
        default=None, description="Scores for the requested attributes, by name."
    )
    languages: list[str] | None = Field(
        default=None, description="The language(s) used for analysis: the request's, else the detected one."
    )
    detected_languages: list[str] | None = Field(
        default=None, description="The language(s) detected in the comment, most likely first."
    )
    client_token: str | None = Field(default=None, description="Same token from the original request.")


class SuggestCommentScoreRequest(_Message):
    """The comment score suggestion request message: a moderator's label, kept for training."""

    comment: TextEntry | None = Field(default=None, description="The comment being scored.")
    context: Context | None = Field(default=None, description="The context of the comment.")
    attribute_scores: dict[str, AttributeScores] | None = Field(
        default=None, description="Attribute scores for the comment, by attribute name (any name is accepted)."
    )
    languages: list[str] | None = Field(default=None, description="The language(s) of the comment.")
    community_id: str | None = Field(default=None, description="Optional identifier associating this score.")
    client_token: str | None = Field(default=None, description="Opaque token that is echoed from the request.")
    session_id: str | None = Field(default=None, description="Session ID, to group related requests.")


class SuggestCommentScoreResponse(_Message):
    """The comment score suggestion response message."""

    client_token: str | None = Field(default=None, description="Same token from the original request.")
    detected_languages: list[str] | None = Field(default=None, description="The language(s) detected in the comment.")
    requested_languages: list[str] | None = Field(default=None, description="The language(s) requested by the client.")


def wire(message: BaseModel) -> str:
    """lowerCamelCase JSON with unset fields left out, as proto3-JSON writes it (UTF-8, not ASCII-escaped)."""
    return message.model_dump_json(by_alias=True, exclude_none=True)
