"""The moderation queue, for moderators."""

from __future__ import annotations

from flask import Response, g, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from service.api.context import caller_sites, get_moderation
from service.api.guard import requires
from service.api.schemas import CommentPath, DecisionIn, QueuePageOut, QueueQuery, QueueStats, StatsQuery, responses
from service.config import Role
from service.schemas import CommentRecord, Status
from service.store.connection import unavailable_as_503

bp = APIBlueprint(
    "queue", __name__, url_prefix="/v1/queue", abp_tags=[Tag(name="queue")], abp_security=[{"bearer": []}]
)


@bp.get(
    "",
    summary="List queued comments, riskiest first, then oldest first",
    responses=responses({200: QueuePageOut}, 400, 401, 403, 422, 503),
)
@requires(Role.MODERATOR)
def list_queue(query: QueueQuery) -> Response:
    with unavailable_as_503():
        page = get_moderation().queue(
            Status(query.status),
            query.flag,
            query.thread_id,
            query.limit,
            query.cursor,
            site=query.site,
            sites=caller_sites(),
        )
    return jsonify({"items": [r.model_dump(mode="json") for r in page.items], "next_cursor": page.next_cursor})


@bp.get(
    "/stats",
    summary="Queue counts by status and pending counts by flag",
    responses=responses({200: QueueStats}, 401, 403, 422, 503),
)
@requires(Role.MODERATOR)
def queue_stats(query: StatsQuery) -> Response:
    with unavailable_as_503():
        return jsonify(get_moderation().stats(query.site, caller_sites()))


@bp.post(
    "/<comment_id>/decision",
    summary="Approve or reject a pending comment; exactly one of two racing moderators wins",
    responses=responses({200: CommentRecord}, 400, 401, 403, 404, 409, 413, 415, 422, 503),
)
@requires(Role.MODERATOR)
def decide(path: CommentPath, body: DecisionIn) -> Response:
    with unavailable_as_503():
        record = get_moderation().decide(path.comment_id, body.action, g.api_key.name, body.note, caller_sites())
    return jsonify(record.model_dump(mode="json"))
