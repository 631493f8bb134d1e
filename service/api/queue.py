"""The moderation queue, for moderators: listing, claims, decisions one by one or in bulk, and undo."""

from __future__ import annotations

from flask import Response, g, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from service.api.context import caller_sites, get_moderation
from service.api.errors import error_body
from service.api.guard import body_optional, requires
from service.api.schemas import (
    BulkDecisionIn,
    BulkDecisionOut,
    ClaimIn,
    ClaimOut,
    CommentPath,
    DecisionIn,
    QueuePageOut,
    QueueQuery,
    QueueStats,
    StatsQuery,
    responses,
)
from service.config import Role
from service.errors import ServiceError
from service.moderation import Moderator, Ruling
from service.schemas import CommentRecord, Status
from service.store.connection import unavailable_as_503

bp = APIBlueprint(
    "queue", __name__, url_prefix="/v1/queue", abp_tags=[Tag(name="queue")], abp_security=[{"bearer": []}]
)


def _moderator() -> Moderator:
    return Moderator(g.api_key.name, admin=g.api_key.role is Role.ADMIN, sites=caller_sites())


def _ruling(body: DecisionIn) -> Ruling:
    return Ruling(body.action, body.note, body.reason, body.legal_grounds, body.explanation)


@bp.get(
    "",
    summary="List queued comments, riskiest first, then oldest first, with who has claimed each",
    responses=responses({200: QueuePageOut}, 400, 401, 403, 422, 503),
)
@requires(Role.MODERATOR)
def list_queue(query: QueueQuery) -> Response:
    with unavailable_as_503():
        service = get_moderation()
        page = service.queue(
            Status(query.status),
            query.flag,
            query.thread_id,
            query.limit,
            query.cursor,
            site=query.site,
            sites=caller_sites(),
            unclaimed_for=g.api_key.name if query.unclaimed else None,
        )
        items = service.with_claims(page.items)
    return jsonify({"items": [i.model_dump(mode="json") for i in items], "next_cursor": page.next_cursor})


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
    summary="Approve or reject a pending comment, with a reason code; exactly one of two racing moderators wins",
    description="409 when the comment is no longer pending, or while another moderator's claim on it is live "
    "(admins excepted): the body's `claimed_by` names them.",
    responses=responses({200: CommentRecord}, 400, 401, 403, 404, 409, 413, 415, 422, 503),
)
@requires(Role.MODERATOR)
def decide(path: CommentPath, body: DecisionIn) -> Response:
    with unavailable_as_503():
        record = get_moderation().rule(path.comment_id, _ruling(body), _moderator())
    return jsonify(record.model_dump(mode="json"))


@bp.post(
    "/decisions",
    summary="Decide up to 100 comments; each item succeeds or fails on its own",
    description="Each result carries the status the single decision would have answered (200, 403, 404, 409) and "
    "the record or the error. There is no all-or-nothing: an item that fails changes nothing, the others stand.",
    responses=responses({200: BulkDecisionOut}, 400, 401, 403, 413, 415, 422, 503),
)
@requires(Role.MODERATOR)
def decide_many(body: BulkDecisionIn) -> Response:
    service = get_moderation()
    moderator = _moderator()
    results = []
    with unavailable_as_503():
        for item in body.decisions:
            try:
                record = service.rule(item.id, _ruling(item), moderator)
            except ServiceError as exc:
                if exc.status >= 500:  # the store or the models are down: the whole request is retried
                    raise
                results.append({"id": item.id, "status": exc.status, "error": error_body(exc)})
            else:
                results.append({"id": item.id, "status": 200, "record": record.model_dump(mode="json")})
    return jsonify({"results": results})


@bp.post(
    "/<comment_id>/claim",
    summary="Claim a pending comment for a while (renews the caller's own claim)",
    description="409 while another moderator holds it (the body's `claimed_by` names them) or when it is not pending.",
    responses=responses({200: ClaimOut}, 400, 401, 403, 404, 409, 413, 415, 422, 503),
)
@requires(Role.MODERATOR)
@body_optional
def claim(path: CommentPath, body: ClaimIn) -> Response:
    with unavailable_as_503():
        held = get_moderation().claim(path.comment_id, _moderator(), body.seconds)
    return jsonify({"id": path.comment_id, "claimed_by": held.holder, "claim_expires_at": held.expires_at})


@bp.delete(
    "/<comment_id>/claim",
    summary="Release the caller's claim (an admin's releases anyone's)",
    responses=responses({204: None}, 401, 403, 404, 409, 422, 503),
)
@requires(Role.MODERATOR)
def release(path: CommentPath) -> tuple[str, int]:
    with unavailable_as_503():
        get_moderation().release(path.comment_id, _moderator())
    return "", 204


@bp.post(
    "/<comment_id>/reopen",
    summary="Undo a decision within MODERATION_UNDO_SECONDS: the comment is pending again",
    description="Its feedback labels are withdrawn, and the audit stream records who reopened what. 409 after the "
    "window, or for a comment that was never decided.",
    responses=responses({200: CommentRecord}, 400, 401, 403, 404, 409, 413, 415, 422, 503),
)
@requires(Role.MODERATOR)
@body_optional
def reopen(path: CommentPath) -> Response:
    with unavailable_as_503():
        record = get_moderation().reopen(path.comment_id, _moderator())
    return jsonify(record.model_dump(mode="json"))
