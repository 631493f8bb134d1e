"""Liveness, readiness, metrics and the OpenAPI document: no key needed."""

from __future__ import annotations

import copy
from typing import Any

import redis
from flask import Response, current_app, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from prometheus_client import Metric

from service.api.context import get_moderation
from service.api.schemas import ErrorResponse, Health
from service.api.schemas import StatsQuery as MetricsQuery
from service.metrics import webhook_families
from service.store.connection import get_redis

bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="operations")])


@bp.get("/healthz", summary="The process is alive", responses={200: Health})
def healthz() -> Response:
    return jsonify({"status": "ok", "checks": {}})


@bp.get(
    "/readyz",
    summary="Redis answers and the models are loaded and not stuck in a call past the scoring timeout",
    responses={200: Health, 503: Health},
)
def readyz() -> tuple[Response, int]:
    stalled = get_moderation().engine.stalled_for()
    checks = {"models": f"stalled: a model call is {stalled:.0f} s past the scoring timeout" if stalled else "loaded"}
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # any failure to reach Redis means not ready
        checks["redis"] = f"unavailable: {exc.__class__.__name__}"
    ready = checks["redis"] == "ok" and not stalled
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    if not ready:
        response.headers["Retry-After"] = "1"
    return response, 200 if ready else 503


_PROMETHEUS_TEXT = {
    "description": "Prometheus text exposition format",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
_OPENAPI_DOCUMENT = {
    "description": "OpenAPI 3 document",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


@bp.get(
    "/metrics",
    summary="Prometheus metrics in the text exposition format; `?site=` keeps only that site's samples",
    responses={200: _PROMETHEUS_TEXT, 422: ErrorResponse},
)
def metrics(query: MetricsQuery) -> Response:
    registry = current_app.extensions["moderation.metrics"]
    service = get_moderation()
    try:
        registry.set_queue(service.stats())
        for site in [query.site] if query.site else service.comments.sites():
            registry.set_queue(service.stats(site), site)
    except Exception:  # queue depth is best-effort; the rest of the metrics still matter when Redis is down
        current_app.logger.warning("queue depth unavailable for /metrics")
    readings: list[Metric] = []
    try:  # webhooks belong to no site: a site's scrape leaves them out, so it does not read them
        if query.site is None:
            readings = webhook_families(service.webhooks.counts(hook.name) for hook in service.webhooks.all())
    except redis.RedisError:
        current_app.logger.warning("webhook delivery counts unavailable for /metrics")
    rendered: Response = registry.render(query.site, readings)
    return rendered


def _tidied(document: dict[str, Any], categories: frozenset[str]) -> dict[str, Any]:
    """The generated document, corrected where the models cannot say it.

    flask-openapi3 adds a 422 (as an array) to routes that take no input and cannot return one: dropped. The
    categories a `flag` may name come from this deployment's policy, not from a static model: listed here.
    """
    tidy = copy.deepcopy(document)
    for path_item in tidy["paths"].values():
        for operation in path_item.values():
            error = operation.get("responses", {}).get("422", {})
            schema = error.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("type") == "array":
                del operation["responses"]["422"]
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "flag" and parameter["in"] == "query":
                    parameter["schema"] = {
                        "type": "string",
                        "enum": sorted(categories),
                        "description": parameter["schema"].get("description", ""),
                    }
    return tidy


@bp.get("/openapi.json", summary="This document", responses={200: _OPENAPI_DOCUMENT})
def openapi_document() -> Response:
    return jsonify(_tidied(current_app.api_doc, current_app.config["CATEGORIES"]))  # type: ignore[attr-defined]
