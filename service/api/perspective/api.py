"""The Perspective API's front door (Comment Analyzer v1alpha1) over the same moderation service as /v1.

analyze reads its scores from the verdicts /v1/score gives (the same pipeline and cache), one attribute per
category; suggestscore keeps the site's labels as moderator feedback. Every route also answers under a path
prefix: Coral Talk appends `/comments:analyze` to whatever endpoint it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, ValidationError

from service import errors, rate_limit
from service.api import guard
from service.api.context import get_moderation
from service.api.perspective import batch, discovery
from service.api.perspective import errors as perspective_errors
from service.api.perspective.schemas import (
    AnalyzeCommentRequest,
    AnalyzeCommentResponse,
    AttributeParameters,
    AttributeScores,
    Context,
    Score,
    SpanScore,
    SuggestCommentScoreRequest,
    SuggestCommentScoreResponse,
    TextEntry,
    wire,
)
from service.api.perspective.text import utf16_offsets
from service.categories import PERSPECTIVE_ATTRIBUTES
from service.config import ApiKey, Role
from service.decisions import DEFAULT_SITE
from service.ids import site_of_community
from service.scoring.language import UNDETERMINED, Detection, primary
from service.scoring.normalize import normalize
from service.scoring.sentences import sentences
from service.store.connection import unavailable_as_503
from service.store.feedback import Feedback
from service.timestamps import now_rfc3339

bp = Blueprint("perspective", __name__)
perspective_errors.register(bp)

# Perspective's limit, in UTF-8 bytes of the comment's text.
MAX_TEXT_BYTES = 20480
# Each span is scored as a text of its own: past this many sentences, the last span holds the rest of the text.
MAX_SPANS = 50
# A suggestscore request stores its text once a label: at most this many labels a request.
MAX_FEEDBACK_ATTRIBUTES = 32
_PROBABILITY = "PROBABILITY"
_TEXT_TYPES = {None: True, 0: True, "TEXT_TYPE_UNSPECIFIED": True, 1: True, "PLAIN_TEXT": True, 2: False, "HTML": False}
_SCORE_TYPES = ("SCORE_TYPE_UNSPECIFIED", "PROBABILITY", "STD_DEV_SCORE", "PERCENTILE", "RAW")
_JSON = "application/json; charset=UTF-8"
_CORS_HEADERS = "content-type, x-goog-api-key, x-goog-api-client, authorization"

V = TypeVar("V", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)


def _route(path: str, methods: list[str]) -> Callable[[V], V]:
    """The rule at the root and under any path prefix (`/<prefix>/v1alpha1/...`), without redirects."""

    def register(view: V) -> V:
        view = guard.reads_own_body(view)
        bp.add_url_rule(f"/{path}", view_func=view, methods=methods, strict_slashes=False)
        bp.add_url_rule(f"/<path:prefix>/{path}", view_func=view, methods=methods, strict_slashes=False)
        return view

    return register


@bp.after_request
def _cors(response: Response) -> Response:
    """Browsers may call Perspective directly, as Google's API allowed."""
    response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
    response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Vary"] = "Origin"
    return response


def _presented_key() -> str | None:
    """Google's order: `?key=`, X-Goog-Api-Key, a bearer token, then the OAuth query parameters."""
    if request.args.get("key"):
        return request.args["key"].strip()
    if request.headers.get("X-Goog-Api-Key"):
        return request.headers["X-Goog-Api-Key"].strip()
    token = guard.bearer_token()
    if token is not None:
        return token
    for name in ("access_token", "oauth_token"):
        if request.args.get(name):
            return request.args[name].strip()
    return None


def _known_key(secret: str) -> ApiKey:
    key = guard.find_key(secret, current_app.config["SETTINGS"].api_keys)
    if key is None:
        raise errors.InvalidApiKey("API key not valid. Please pass a valid API key.")
    return key


def _site(key: ApiKey, community_id: str | None) -> str:
    """The site `communityId` names, if the key may use it (Google's 403 otherwise)."""
    site = site_of_community(community_id, current_app.config["SETTINGS"].community_sites, DEFAULT_SITE)
    allowed = get_moderation().sites_of(key.name)
    if allowed is not None and site not in allowed:
        raise errors.Forbidden(f"The API key may not use community {community_id or DEFAULT_SITE!r}.")
    return site


def _authenticate() -> ApiKey:
    """Google's answers: no key 403, an unknown key 400. Checked before the body is read, as Google's front end
    does, so an unauthenticated caller learns nothing about the body's validity; the key's request is counted."""
    secret = _presented_key()
    if secret is None:
        raise errors.Forbidden(
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API."
        )
    key = _known_key(secret)
    if key.role not in (Role.SUBMITTER, Role.ADMIN):
        raise errors.Forbidden(f"The API key's role ({key.role.value}) may not call this method.")
    rate_limit.count_request(key)
    return key


def _body(model: type[M]) -> M:
    """Any Content-Type or none; strict JSON, else JSON5 (unquoted keys, as in Perspective's curl sample)."""
    document = guard.parse_json_object(request.get_data(cache=True), relaxed=True)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise errors.InvalidArgument(f"Invalid value at '{where}': {first['msg']}") from None


def _comment_text(comment: TextEntry | None) -> str:
    """The comment's text, refused in Perspective's words: empty (white space counts as empty), over 20480 UTF-8
    bytes (bytes, not characters: a text of 7,000 euro signs is too long), or HTML."""
    text = comment.text if comment is not None else None
    if not text or not text.strip():
        raise errors.InvalidArgument("Comment must be non-empty.", error_type="COMMENT_EMPTY")
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise errors.InvalidArgument(
            f"Comment text was too many bytes. Value ({size}) exceeded limit ({MAX_TEXT_BYTES}).",
            error_type=None,  # Google's answer has no detail here
        )
    kind = comment.type if comment is not None else None
    plain = _TEXT_TYPES.get(kind)
    if plain is None:
        raise errors.InvalidArgument("Unknown text type")
    if not plain:
        raise errors.InvalidArgument("Currently, only 'PLAIN_TEXT' comments are supported")
    return text


def _check_context(context: Context | None) -> None:
    if context is not None and context.entries and context.article_and_parent_comment is not None:
        raise errors.InvalidArgument(
            "Context can have either entries or article_and_parent_comment, but both fields were populated."
        )


def _score_type_name(value: str | int | None) -> str:
    if isinstance(value, int) and 0 <= value < len(_SCORE_TYPES):
        return _SCORE_TYPES[value]
    return str(value)


def _requested(attributes: dict[str, AttributeParameters] | None) -> dict[str, tuple[str, AttributeParameters]]:
    """Requested name -> (our category, its parameters), in request order. Only PROBABILITY scores exist here, as
    in Perspective, which refused the other score types too."""
    if not attributes:
        raise errors.InvalidArgument("Missing requested_attributes", error_type="NO_REQUESTED_ATTRIBUTES")
    requested = {}
    scored = get_moderation().engine.categories
    for name, parameters in attributes.items():
        # Names match exactly, as Google's do: one request can then ask for each attribute once.
        category = PERSPECTIVE_ATTRIBUTES.get(name)
        if category is None or category not in scored:  # Detoxify `original` has no sexual_explicit
            raise errors.InvalidArgument(f"Unknown requested attribute: {name}")
        if parameters.score_type not in (None, 0, 1, "SCORE_TYPE_UNSPECIFIED", _PROBABILITY):
            raise errors.InvalidArgument(
                f"Requested score type {_score_type_name(parameters.score_type)} is not supported by attribute {name}"
            )
        requested[name] = (category, parameters)
    return requested


def _json(message: BaseModel) -> Response:
    return Response(wire(message), content_type=_JSON)


def _given_languages(languages: list[str] | None) -> list[str]:
    return [tag for tag in languages or [] if tag.strip()]


def _answerable(
    requested: dict[str, tuple[str, AttributeParameters]],
    effective: list[str],
    detection: Detection,
    given: list[str],
    drop_unsupported: bool,
) -> dict[str, tuple[str, AttributeParameters]]:
    """The attributes whose model supports every effective language; any other is refused, or dropped."""
    engine = get_moderation().engine
    kept = {}
    for name, (category, parameters) in requested.items():
        if all(primary(tag) in engine.languages_of(category) for tag in effective):
            kept[name] = (category, parameters)
        elif not drop_unsupported:
            detected = [tag for tag in detection.candidates if tag != UNDETERMINED]
            refused: dict[str, Any] = {"detectedLanguages": detected, "attribute": name}
            if given:
                refused["requestedLanguages"] = given
            raise errors.InvalidArgument(
                f"Attribute {name} does not support request languages: {', '.join(effective)}",
                error_type="LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                detail={"languageNotSupportedByAttributeError": refused},
            )
    return kept


def _attribute_scores(
    text: str, attributes: dict[str, tuple[str, AttributeParameters]], by_sentence: bool, site: str
) -> dict[str, AttributeScores]:
    """Each attribute's summary (the whole text's verdict) and spans: one a sentence, with that sentence's own
    verdict, or one for the whole text. Every verdict comes from the service's pipeline and cache."""
    spans = sentences(text, MAX_SPANS) if by_sentence else [(0, len(text))]
    sentence_texts = [text[start:end] for start, end in spans] if by_sentence else []
    with unavailable_as_503():
        texts = [text, *sentence_texts]
        whole, *parts = get_moderation().verdicts(texts, [site] * len(texts))
    begins = utf16_offsets(text, [start for start, _ in spans])
    ends = utf16_offsets(text, [end for _, end in spans])
    scores = {}
    for name, (category, parameters) in attributes.items():
        summary = whole.scores[category]
        if parameters.score_threshold is not None and summary < parameters.score_threshold:
            continue
        scores[name] = AttributeScores(
            summary_score=Score(value=summary, type=_PROBABILITY),
            span_scores=[
                SpanScore(begin=begin, end=end, score=Score(value=verdict.scores[category], type=_PROBABILITY))
                for begin, end, verdict in zip(begins, ends, parts or [whole], strict=True)
            ],
        )
    return scores


@_route(discovery.ANALYZE_PATH, ["POST"])
def analyze(prefix: str | None = None) -> Response:
    key = _authenticate()
    body = _body(AnalyzeCommentRequest)
    text = _comment_text(body.comment)
    _check_context(body.context)
    with unavailable_as_503():
        site = _site(key, body.community_id)
    requested = _requested(body.requested_attributes)
    # Everything is checked before anything is scored: a refused request costs no model time.
    detection = get_moderation().engine.detect_language(normalize(text))
    detected = detection.language != UNDETERMINED
    given = _given_languages(body.languages)
    effective = given or ([detection.language] if detected else [])
    if not effective:
        raise errors.InvalidArgument("Unable to detect language", error_type="LANGUAGE_DETECTION_FAILED")
    kept = _answerable(requested, effective, detection, given, bool(body.drop_unsupported_attributes))
    scores = _attribute_scores(text, kept, bool(body.span_annotations), site) if kept else {}
    return _json(
        AnalyzeCommentResponse(
            attribute_scores=scores or None,
            languages=effective,
            detected_languages=list(detection.candidates) if detected else None,
            client_token=body.client_token,
        )
    )


@_route(discovery.SUGGEST_PATH, ["POST"])
def suggest_score(prefix: str | None = None) -> Response:
    key = _authenticate()
    body = _body(SuggestCommentScoreRequest)
    text = _comment_text(body.comment)
    _check_context(body.context)
    with unavailable_as_503():
        site = _site(key, body.community_id)
    if not body.attribute_scores:
        raise errors.InvalidArgument("Missing attribute_scores")
    if len(body.attribute_scores) > MAX_FEEDBACK_ATTRIBUTES:
        raise errors.InvalidArgument(
            f"Too many attribute_scores: at most {MAX_FEEDBACK_ATTRIBUTES} a request, not {len(body.attribute_scores)}"
        )
    when = now_rfc3339()
    labels = []
    for name, given in body.attribute_scores.items():
        summary = given.summary_score
        if summary is None or summary.value is None:
            raise errors.InvalidArgument(
                f"Invalid value at 'attribute_scores[{name}].summary_score': a value is required"
            )
        if not 0.0 <= summary.value <= 1.0:
            raise errors.InvalidArgument(
                f"Invalid value at 'attribute_scores[{name}].summary_score.value': must lie in [0, 1]"
            )
        for index, span in enumerate(given.span_scores or []):
            if span.begin is None or span.end is None or span.score is None or span.score.value is None:
                raise errors.InvalidArgument(
                    f"Invalid value at 'attribute_scores[{name}].span_scores[{index}]': needs begin, end and score"
                )
        labels.append(
            Feedback(
                text=text,
                attribute=name,
                value=summary.value,
                source="suggestscore",
                community_id=body.community_id,
                client_token=body.client_token,
                created_at=when,
                site=site,
            )
        )
    detection = get_moderation().engine.detect_language(normalize(text))
    with unavailable_as_503():
        get_moderation().record_feedback(labels)
    given_languages = _given_languages(body.languages)
    return _json(
        SuggestCommentScoreResponse(
            client_token=body.client_token,
            detected_languages=list(detection.candidates) if detection.language != UNDETERMINED else None,
            requested_languages=given_languages or None,
        )
    )


def _root_url(prefix: str | None) -> str:
    public: str | None = current_app.config["SETTINGS"].public_url
    if public:
        return public
    return request.host_url + (f"{prefix.strip('/')}/" if prefix else "")


@_route("$discovery/rest", ["GET"])
def discovery_document(prefix: str | None = None) -> Response:
    """Google's discovery path; the key a client appends is checked when it is given, as Google does."""
    version = request.args.get("version", discovery.API_VERSION)
    if version != discovery.API_VERSION:
        raise errors.NotFound(f"Discovery document not found for API service: {discovery.API_NAME} {version}")
    if request.args.get("key"):
        _known_key(request.args["key"].strip())
    return Response(current_app.json.dumps(discovery.document(_root_url(prefix))), content_type=_JSON)


@_route(f"discovery/v1/apis/{discovery.API_NAME}/{discovery.API_VERSION}/rest", ["GET"])
def legacy_discovery_document(prefix: str | None = None) -> Response:
    """Where google-api-python-client looks when it is given no discoveryServiceUrl (Google's host overridden)."""
    return discovery_document(prefix)


@_route(discovery.BATCH_PATH, ["POST"])
def batch_requests(prefix: str | None = None) -> Response:
    """multipart/mixed, as Google's clients batch: each inner request is answered, and authenticated, alone."""
    return batch.answer(request.get_data(cache=True), request.headers.get("Content-Type", ""))
