"""GET /v1/events: what happened to comments, for a site that cannot receive webhooks and polls instead."""

from __future__ import annotations

from flask import Response, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from service.api.context import caller_sites, get_moderation
from service.api.guard import requires
from service.api.schemas import EventsOut, EventsQuery, responses
from service.config import Role
from service.moderation import check_site
from service.store.connection import unavailable_as_503

bp = APIBlueprint("events", __name__, url_prefix="/v1", abp_tags=[Tag(name="events")], abp_security=[{"bearer": []}])


@bp.get(
    "/events",
    summary="Events after an id, oldest first: comment.held, comment.rejected, comment.decided, comment.reopened",
    description="Each event carries the comment record as it was after the change. Poll with `after` set to the "
    "last id read; an empty list means nothing new. A key limited to sites reads only theirs.",
    responses=responses({200: EventsOut}, 401, 403, 422, 503),
)
@requires(Role.SUBMITTER, Role.MODERATOR)
def events(query: EventsQuery) -> Response:
    with unavailable_as_503():
        allowed = caller_sites()
        if query.site is not None:
            check_site(query.site, allowed)
        sites = frozenset({query.site}) if query.site is not None else allowed
        found = get_moderation().events.read(query.after, query.limit, sites)
    return jsonify({"events": found, "next_after": found[-1]["id"] if found else query.after})
