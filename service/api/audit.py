"""The audit stream read back, and the transparency report the Digital Services Act asks of a platform."""

from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Response, jsonify, stream_with_context
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from service.api.context import get_moderation
from service.api.guard import requires
from service.api.schemas import AuditPageOut, AuditQuery, TransparencyOut, TransparencyQuery, responses
from service.config import Role
from service.store.audit import AuditFilter
from service.store.connection import unavailable_as_503
from service.timestamps import epoch_ms

bp = APIBlueprint("audit", __name__, url_prefix="/v1", abp_tags=[Tag(name="audit")], abp_security=[{"bearer": []}])


@bp.get(
    "/audit",
    summary="Page through the audit stream, oldest first, filtered by time, moderator, site and action",
    description="`format=jsonl` answers every matching entry as JSON Lines (`application/x-ndjson`), for export.",
    responses=responses({200: AuditPageOut}, 401, 403, 422, 503),
)
@requires(Role.ADMIN)
def audit(query: AuditQuery) -> Response:
    where = AuditFilter(
        start_ms=epoch_ms(query.start) if query.start else None,
        end_ms=epoch_ms(query.end) if query.end else None,
        moderator=query.moderator,
        site=query.site,
        action=query.action,
    )
    log = get_moderation().audit
    if query.format == "jsonl":
        found = log.entries(where, query.cursor)
        with unavailable_as_503():  # the first read answers 503 while Redis is down, before the stream starts
            first = next(found, None)

        def lines() -> Iterator[str]:
            if first is None:
                return
            yield json.dumps(first, ensure_ascii=False) + "\n"
            for entry in found:
                yield json.dumps(entry, ensure_ascii=False) + "\n"

        return Response(stream_with_context(lines()), mimetype="application/x-ndjson")
    with unavailable_as_503():
        entries, cursor = log.page(where, query.limit, query.cursor)
    return jsonify({"entries": entries, "next_cursor": cursor})


@bp.get(
    "/transparency",
    summary="A period's moderation figures: the policy's decisions against people's, overturned holds, time to decide",
    description="The figures a Digital Services Act transparency report asks for. `from` and `to` are RFC 3339; a "
    "period is at most 366 days. The policy's decisions are counted by the hour.",
    responses=responses({200: TransparencyOut}, 401, 403, 422, 503),
)
@requires(Role.ADMIN)
def transparency(query: TransparencyQuery) -> Response:
    start, end = query.period
    with unavailable_as_503():
        return jsonify(get_moderation().audit.transparency(start, end, query.site))
