"""Comment submission and lookup, for the site's backend."""

from __future__ import annotations

from flask import Response, g, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel

from service.api.context import caller_sites, get_moderation
from service.api.guard import requires
from service.api.schemas import (
    CommentIn,
    CommentPath,
    ContextOut,
    MeOut,
    ScoreRequest,
    ScoreResponse,
    responses,
)
from service.config import Role
from service.decisions import DEFAULT_SITE
from service.moderation import check_site
from service.schemas import CommentRecord
from service.store.connection import unavailable_as_503

bp = APIBlueprint(
    "comments", __name__, url_prefix="/v1", abp_tags=[Tag(name="comments")], abp_security=[{"bearer": []}]
)


@bp.post(
    "/comments",
    summary="Submit a comment: score it, store it, queue it when it needs a moderator",
    description="201 for a new id. The same id and text again returns 200 and the stored record (retries are "
    "safe). The same id with new text is an edit: version + 1, re-scored, its queue entry updated.",
    responses=responses({201: CommentRecord, 200: CommentRecord}, 400, 401, 403, 409, 413, 415, 422, 503),
)
@requires(Role.SUBMITTER)
def submit_comment(body: CommentIn) -> tuple[Response, int]:
    with unavailable_as_503():
        check_site(body.site or DEFAULT_SITE, caller_sites())
        record, created = get_moderation().submit(body.model_dump(exclude_none=True))
    return jsonify(record.model_dump(mode="json")), 201 if created else 200


@bp.get(
    "/comments/<comment_id>",
    summary="Read a comment record with its verdict and moderation state",
    responses=responses({200: CommentRecord}, 401, 403, 404, 422, 503),
)
@requires(Role.SUBMITTER, Role.MODERATOR)
def get_comment(path: CommentPath) -> Response:
    with unavailable_as_503():
        return jsonify(get_moderation().get(path.comment_id, caller_sites()).model_dump(mode="json"))


@bp.get(
    "/comments/<comment_id>/context",
    summary="A comment's thread around it: its parent and up to 10 neighbours, in thread order",
    responses=responses({200: ContextOut}, 401, 403, 404, 422, 503),
)
@requires(Role.MODERATOR)
def comment_context(path: CommentPath) -> Response:
    with unavailable_as_503():
        found = get_moderation().context(path.comment_id, caller_sites())
    return jsonify(
        {
            "comment": found.comment.model_dump(mode="json"),
            "parent": found.parent.model_dump(mode="json") if found.parent else None,
            "neighbours": [r.model_dump(mode="json") for r in found.neighbours],
        }
    )


@bp.get(
    "/me",
    summary="The calling key's name, role and sites: what a client shows after the key is pasted",
    responses=responses({200: MeOut}, 401, 403, 503),
)
@requires(Role.SUBMITTER, Role.MODERATOR)
def me() -> Response:
    with unavailable_as_503():
        service = get_moderation()
        sites = caller_sites()
    return jsonify(
        {
            "name": g.api_key.name,
            "role": g.api_key.role.value,
            "sites": sorted(sites) if sites else None,
            "claim_seconds": service.claim_seconds,
            "undo_seconds": service.undo_seconds,
        }
    )


@bp.post(
    "/score",
    summary="Score up to 100 texts without storing them (uses and fills the verdict cache)",
    responses=responses({200: ScoreResponse}, 400, 401, 403, 413, 415, 422, 503),
)
@requires(Role.SUBMITTER)
def score(body: ScoreRequest) -> Response:
    sites = [item.site or DEFAULT_SITE for item in body.comments]
    with unavailable_as_503():
        allowed = caller_sites()
        for index, site in enumerate(sites):
            check_site(site, allowed, field=f"comments.{index}.site")
        verdicts = get_moderation().verdicts([item.text for item in body.comments], sites)
    return _json_response(ScoreResponse(results=verdicts))


def _json_response(document: BaseModel) -> Response:
    """The bytes jsonify would send (compact, ASCII-escaped, newline-terminated), serialised by pydantic in one pass.

    Half the cost of model_dump(mode="json") then jsonify on the cache-hit path, where it is a visible share.
    """
    return Response(document.model_dump_json(ensure_ascii=True) + "\n", mimetype="application/json")
