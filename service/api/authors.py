"""What moderators see of a commenter: their counts, reasons and latest comments."""

from __future__ import annotations

from flask import Response, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from service.api.context import caller_sites, get_moderation
from service.api.guard import requires
from service.api.schemas import AuthorErasedOut, AuthorOut, AuthorPath, responses
from service.config import Role
from service.store.connection import unavailable_as_503

bp = APIBlueprint(
    "authors", __name__, url_prefix="/v1/authors", abp_tags=[Tag(name="authors")], abp_security=[{"bearer": []}]
)


@bp.get(
    "/<path:author_id>",
    summary="An author's history: comments by status, rejection rate, reasons, and the latest 20 comments",
    description="`author_id` is the `author.id` the site sent with its comments. A key limited to sites sees only "
    "those sites' comments and counts. 404 when there is none.",
    responses=responses({200: AuthorOut}, 401, 403, 404, 422, 503),
)
@requires(Role.MODERATOR)
def author(path: AuthorPath) -> Response:
    with unavailable_as_503():
        history = get_moderation().author(path.author_id, caller_sites())
    return jsonify(
        {
            "author_id": history.author_id,
            "counts": history.counts,
            "total": sum(history.counts.values()),
            "rejection_rate": history.rejection_rate,
            "reasons": history.reasons,
            "comments": [c.model_dump(mode="json") for c in history.comments],
        }
    )


@bp.delete(
    "/<path:author_id>",
    summary="Erase an author (GDPR): comments, queue entries, feedback labels and the text of their audit entries",
    description="The audit stream keeps the bare fact of each decision on their comments (who decided, when, what, "
    "with which reason code). Answers what was removed; 404 when the service holds nothing of the author.",
    responses=responses({200: AuthorErasedOut}, 401, 403, 404, 409, 422, 503),
)
@requires(Role.ADMIN)
def erase(path: AuthorPath) -> Response:
    with unavailable_as_503():
        erased = get_moderation().erase_author(path.author_id)
    return jsonify(
        {
            "author_id": path.author_id,
            "removed": {
                "comments": erased.comments,
                "queue_entries": erased.queue_entries,
                "feedback_labels": erased.feedback_labels,
                "audit_texts": erased.audit_texts,
            },
        }
    )
