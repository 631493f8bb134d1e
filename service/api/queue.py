"""The moderation queue, for moderators."""

from __future__ import annotations

from flask import Response, g, jsonify
from flask_openapi3 import APIBlueprint, Tag

from service.api.context import get_moderation
from service.api.schemas import CommentPath, DecisionIn, ErrorResponse, QueuePageOut, QueueQuery, QueueStats
from service.api.guard import requires
from service.config import Role
from service.schemas import CommentRecord, Status
from service.store.connection import unavailable_as_503

bp = APIBlueprint(
    "queue", __name__, url_prefix="/v1/queue", abp_tags=[Tag(name="queue")], abp_security=[{"bearer": []}]
)
_ERRORS = {401: ErrorResponse, 403: ErrorResponse, 422: ErrorResponse, 503: ErrorResponse}


@bp.get(
    "",
    summary="List queued comments, riskiest first, then oldest first",
    responses={200: QueuePageOut, 400: ErrorResponse, **_ERRORS},
)
@requires(Role.MODERATOR)
def list_queue(query: QueueQuery) -> Response:
    with unavailable_as_503():
        page = get_moderation().queue(Status(query.status), query.flag, query.thread_id, query.limit, query.cursor)
    return jsonify({"items": [r.model_dump(mode="json") for r in page.items], "next_cursor": page.next_cursor})


@bp.get("/stats", summary="Queue counts by status and pending counts by flag", responses={200: QueueStats, **_ERRORS})
@requires(Role.MODERATOR)
def queue_stats() -> Response:
    with unavailable_as_503():
        return jsonify(get_moderation().stats())


@bp.post(
    "/<comment_id>/decision",
    summary="Approve or reject a pending comment; exactly one of two racing moderators wins",
    responses={200: CommentRecord, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse,
               413: ErrorResponse, 415: ErrorResponse, **_ERRORS},
)
@requires(Role.MODERATOR)
def decide(path: CommentPath, body: DecisionIn) -> Response:
    with unavailable_as_503():
        record = get_moderation().decide(path.comment_id, body.action, g.api_key.name, body.note)
    return jsonify(record.model_dump(mode="json"))
