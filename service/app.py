"""The application factory."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import redis
from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI

from service import observability, rate_limit
from service.api import (
    admin,
    audit,
    authors,
    comments,
    context,
    coral,
    errors,
    events,
    guard,
    health,
    queue,
    workspace,
)
from service.api import (
    webhooks as webhooks_api,
)
from service.api.perspective import api as perspective
from service.api.schemas import ErrorResponse
from service.config import Settings
from service.decisions import WORDLIST
from service.keys import Keys
from service.metrics import Metrics
from service.moderation import ModerationService
from service.rules import RulesCache
from service.scoring.engine import ScoringEngine
from service.store import connection
from service.store.audit import AuditLog
from service.store.cache import VerdictCache
from service.store.comments import CommentStore
from service.store.events import EventLog
from service.store.feedback import FeedbackStore
from service.store.rules import RulesStore
from service.store.webhooks import WebhookStore
from service.webhooks import configured_name

_ENGINE_FIELDS = {
    "toxicity_model",
    "detoxify_checkpoint",
    "detoxify_hf_config",
    "toxicity_head_path",
    "conspiracy_model_path",
    "policy_file",
    "review_thresholds",
    "reject_thresholds",
    "batch_max_size",
    "batch_max_wait_ms",
    "scoring_timeout_seconds",
    "default_language",
    "unsupported_language",
}


_log = logging.getLogger(__name__)
_engines: dict[str, ScoringEngine] = {}
_engines_lock = threading.Lock()


def load_engine(settings: Settings) -> ScoringEngine:
    """Models load once per process, however many apps the process builds."""
    key = settings.model_dump_json(include=_ENGINE_FIELDS)
    with _engines_lock:
        if key not in _engines:
            engine = _engines[key] = ScoringEngine.from_settings(settings)
            # One line per load: under gunicorn it shows who holds the models (the preloading master, once).
            _log.info("models loaded in process %d: %s", os.getpid(), ", ".join(engine.models.values()))
        return _engines[key]


def _start_webhooks(store: WebhookStore, settings: Settings) -> None:
    """Each configured webhook's position in the event log, from the first start that sees it: the events written
    after it was configured reach it even if the worker starts later. Redis may be down now; the worker makes any
    position still missing when it first reads."""
    try:
        for hook in settings.webhooks:
            store.ensure_group(configured_name(hook))
    except redis.RedisError as exc:
        _log.warning("webhook positions not made yet (the worker makes them): %s", exc)


def create_app(test_config: Mapping[str, Any] | None = None) -> OpenAPI:
    """Build the app from the environment; `test_config` overrides environment variables by name."""
    environment = {**os.environ, **(test_config or {})}
    settings = Settings.model_validate({k: v for k, v in environment.items() if isinstance(v, str)})
    engine = load_engine(settings)

    app = OpenAPI(
        __name__,
        info=Info(title="Comment moderation API", version="1"),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        validation_error_status=422,
        validation_error_model=ErrorResponse,
        validation_error_callback=errors.validation_error_response,
        doc_ui=False,
    )
    app.config.update(
        SETTINGS=settings,
        # What a queue filter may name: every scored category, and a word-list match.
        CATEGORIES=frozenset(engine.policy.review) | {WORDLIST},
        SCORED_CATEGORIES=frozenset(engine.policy.review),
        # One byte of slack: a streamed (chunked) body is cut at this length, and guard.py
        # needs to see that it went past the limit to answer 413 rather than "invalid JSON".
        MAX_CONTENT_LENGTH=settings.max_body_bytes + 1,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.converters["wordlist"] = admin.WordListName

    observability.init_app(app)
    metrics = Metrics()
    for scorer in (engine.toxicity, engine.conspiracy):
        metrics.model_load.labels(model=scorer.name).set(scorer.load_seconds)
    engine.observe = metrics.observe_scoring
    engine.observe_batch = metrics.observe_batch
    app.extensions["moderation.metrics"] = metrics
    metrics.init_app(app)

    client = connection.connect(settings)
    connection.init_app(app, client)
    keys = Keys(settings.redis_key_prefix)
    webhooks = WebhookStore(client, keys, settings.webhooks)
    _start_webhooks(webhooks, settings)
    cache = VerdictCache(client, keys, settings.cache_ttl_seconds, settings.local_cache_size)
    rules = RulesCache(RulesStore(client, keys), engine.policy, settings.key_sites, settings.rules_refresh_seconds)
    service = ModerationService(
        engine,
        cache,
        CommentStore(client, keys),
        FeedbackStore(client, keys),
        rules,
        AuditLog(client, keys),
        EventLog(client, keys),
        webhooks,
        claim_seconds=settings.claim_seconds,
        undo_seconds=settings.undo_seconds,
    )
    cache.observe = metrics.observe_cache
    service.observe_decision = metrics.observe_decision
    context.init_app(app, service)
    limiter = rate_limit.RateLimiter(client, keys, settings.rate_limit) if settings.rate_limit else None
    rate_limit.init_app(app, limiter)

    guard.init_app(app)
    errors.register(app)
    for blueprint in (health.bp, comments.bp, queue.bp, authors.bp, events.bp, audit.bp, admin.bp, webhooks_api.bp):
        app.register_api(blueprint)
    # Perspective's contract, not ours: its own errors and discovery document, outside our OpenAPI document.
    app.register_blueprint(perspective.bp)
    app.register_blueprint(coral.bp)
    app.register_blueprint(workspace.bp)

    return app
