"""POST /integrations/coral/moderate: Coral Talk's external moderation phase, over the same service as /v1.

Coral's contract, not ours: it signs the raw body instead of sending a key, and reads only its own answer schema
(service/coral.py). So the route authenticates and parses its request itself, and stays out of the OpenAPI
document, as the Perspective routes do.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request
from pydantic import ValidationError

from service import coral, errors
from service.api import guard
from service.api.context import get_moderation
from service.api.errors import invalid_field
from service.config import Settings
from service.decisions import DEFAULT_SITE
from service.ids import clean_id, site_of_community
from service.store.connection import unavailable_as_503
from service.timestamps import now_rfc3339

bp = Blueprint("coral", __name__)


@bp.post("/integrations/coral/moderate")
@guard.reads_own_body
def moderate() -> Response:
    settings: Settings = current_app.config["SETTINGS"]
    secrets = tuple(s.get_secret_value() for s in settings.coral_secrets)
    if not secrets:
        raise errors.NotFound("the Coral integration is off: set MODERATION_CORAL_SECRETS")
    raw = _raw_body(settings.max_body_bytes)
    # The signature is checked on the bytes as sent, before anything reads them as JSON.
    if not coral.signature_matches(raw, request.headers.get(coral.SIGNATURE_HEADER), secrets):
        raise errors.Unauthorized(f"missing or wrong {coral.SIGNATURE_HEADER}", field=coral.SIGNATURE_HEADER)
    try:
        sent = coral.CoralRequest.model_validate(guard.parse_json_object(raw))
    except ValidationError as exc:
        raise invalid_field(exc) from None
    text = coral.plain_text(sent.comment.body)
    if not text:
        return Response(status=204)  # nothing to judge: Coral goes on with its own checks
    site = site_of_community(sent.site.id, settings.community_sites, DEFAULT_SITE)
    service = get_moderation()
    with unavailable_as_503():
        (verdict,) = service.verdicts([text], [site])
        reply = coral.answer(verdict, service.rules.current().policy(site), settings.coral_hold_status)
        if reply is None or not settings.coral_queue_copy:
            # Not stored: counted here for the transparency report, as storing it would have counted it.
            service.comments.count_policy_decision(verdict, now_rfc3339())
        else:
            service.submit(
                {
                    "id": coral.comment_key(sent, text),
                    "text": text,
                    "site": site,
                    "thread_id": clean_id(sent.story.id) or None,
                    "author": {"id": sent.author.id[:128]},
                    "metadata": {"coral": {"story_url": (sent.story.url or "")[:2000], "action": sent.action}},
                }
            )
    if reply is None:
        return Response(status=204)
    return Response(json.dumps(reply), status=200, mimetype="application/json")


def _raw_body(limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise errors.PayloadTooLarge(f"request body is larger than {limit} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise errors.PayloadTooLarge(f"request body is larger than {limit} bytes")
    return raw
