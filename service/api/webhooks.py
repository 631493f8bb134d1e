"""The admin API of webhooks: set them, see how delivery goes, and send dead letters back.

Webhooks of MODERATION_WEBHOOKS are listed here but changed only in the environment. The worker picks up a new or
changed webhook within a second.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from flask import Response, g, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from service import errors
from service.api.context import get_moderation
from service.api.guard import body_optional, requires
from service.api.schemas import (
    DeadLetterOut,
    DeadLettersOut,
    DeadLettersQuery,
    ReplayIn,
    ReplayOut,
    WebhookDelivery,
    WebhookOut,
    WebhookPath,
    WebhooksOut,
    responses,
)
from service.config import Role
from service.store.connection import unavailable_as_503
from service.store.webhooks import WebhookStore
from service.webhooks import Webhook, WebhookSpec

bp = APIBlueprint(
    "webhooks",
    __name__,
    url_prefix="/v1/admin/webhooks",
    abp_tags=[Tag(name="webhooks")],
    abp_security=[{"bearer": []}],
)


def _store() -> WebhookStore:
    return get_moderation().webhooks


def _out(store: WebhookStore, hook: Webhook) -> dict[str, object]:
    counts = store.counts(hook.name)
    return WebhookOut(
        name=hook.name,
        url=hook.spec.url,
        events=[e.value for e in hook.spec.events],
        sites=hook.spec.sites,
        source=hook.source,
        updated_at=hook.updated_at,
        updated_by=hook.updated_by,
        delivery=WebhookDelivery(**{k: v for k, v in asdict(counts).items() if k != "name"}),
    ).model_dump(mode="json")


def _existing(store: WebhookStore, name: str) -> Webhook:
    hook = store.get(name)
    if hook is None:
        raise errors.NotFound(f"no webhook named {name!r}", field="name")
    return hook


def _changeable(store: WebhookStore, name: str) -> None:
    if store.is_configured(name):
        raise errors.Conflict(f"webhook {name!r} is set by MODERATION_WEBHOOKS; change it there", field="name")


@bp.get("", summary="Every webhook, with its delivery counts", responses=responses({200: WebhooksOut}, 401, 403, 503))
@requires(Role.ADMIN)
def list_webhooks() -> Response:
    with unavailable_as_503():
        store = _store()
        return jsonify({"webhooks": [_out(store, hook) for hook in store.all()]})


@bp.get(
    "/<name>",
    summary="One webhook, with its delivery counts (never its secret)",
    responses=responses({200: WebhookOut}, 401, 403, 404, 422, 503),
)
@requires(Role.ADMIN)
def get_webhook(path: WebhookPath) -> Response:
    with unavailable_as_503():
        store = _store()
        return jsonify(_out(store, _existing(store, path.name)))


@bp.put(
    "/<name>",
    summary="Set a webhook: a new one is sent the events written from now on; a changed one keeps its place",
    responses=responses({200: WebhookOut, 201: WebhookOut}, 400, 401, 403, 409, 413, 415, 422, 503),
)
@requires(Role.ADMIN)
def put_webhook(path: WebhookPath, body: WebhookSpec) -> tuple[Response, int]:
    with unavailable_as_503():
        store = _store()
        _changeable(store, path.name)
        hook, created = store.put(path.name, body, g.api_key.name)
        return jsonify(_out(store, hook)), 201 if created else 200


@bp.delete(
    "/<name>",
    summary="Remove a webhook, with its undelivered events and dead letters",
    responses=responses({204: None}, 401, 403, 404, 409, 422, 503),
)
@requires(Role.ADMIN)
def delete_webhook(path: WebhookPath) -> tuple[str, int]:
    with unavailable_as_503():
        store = _store()
        _changeable(store, path.name)
        if not store.delete(path.name):
            raise errors.NotFound(f"no webhook named {path.name!r}", field="name")
    return "", 204


@bp.get(
    "/<name>/dead-letters",
    summary="The events given up on, oldest first, with the last error",
    responses=responses({200: DeadLettersOut}, 401, 403, 404, 422, 503),
)
@requires(Role.ADMIN)
def dead_letters(path: WebhookPath, query: DeadLettersQuery) -> Response:
    with unavailable_as_503():
        store = _store()
        _existing(store, path.name)
        letters = store.dead_letters(path.name, query.limit)
    found = [{**asdict(letter), "event": json.loads(letter.body)} for letter in letters]
    return jsonify({"dead_letters": [DeadLetterOut.model_validate(f).model_dump(mode="json") for f in found]})


@bp.post(
    "/<name>/dead-letters/replay",
    summary="Send dead letters again (all, or `ids`), before the webhook's next event",
    responses=responses({200: ReplayOut}, 400, 401, 403, 404, 413, 415, 422, 503),
)
@requires(Role.ADMIN)
@body_optional
def replay(path: WebhookPath, body: ReplayIn) -> Response:
    with unavailable_as_503():
        store = _store()
        _existing(store, path.name)
        return jsonify({"replayed": store.replay(path.name, body.ids)})
