"""Prometheus metrics, served as text at /metrics.

With several gunicorn workers, PROMETHEUS_MULTIPROC_DIR is set (see gunicorn_conf.py): every worker writes
its samples to files there and /metrics, whichever worker answers, adds them all up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Metric,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from service.store.webhooks import WebhookCounts


class _OfSite:
    """A registry's families with only the samples labelled `site`; families without a site label are left out."""

    def __init__(self, registry: Any, site: str) -> None:
        self._registry = registry
        self._site = site

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            kept = [s for s in family.samples if s.labels.get("site") == self._site]
            if kept:
                family.samples = kept
                yield family


class _WithReadings:
    """A registry's families and families read at the scrape (from Redis), rendered together."""

    def __init__(self, registry: Any, readings: Sequence[Metric]) -> None:
        self._registry = registry
        self._readings = readings

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
        yield from self._readings


def webhook_families(counts: Iterable[WebhookCounts]) -> list[Metric]:
    """Each webhook's delivery, as counted in Redis by whichever worker delivered."""
    labels = ["webhook"]
    delivered = CounterMetricFamily("moderation_webhook_delivered", "Events a receiver took (2xx)", labels=labels)
    failed = CounterMetricFamily("moderation_webhook_failed", "Failed attempts, retries counted", labels=labels)
    dead = CounterMetricFamily(
        "moderation_webhook_dead_lettered", "Events given up on after the retry period", labels=labels
    )
    pending = GaugeMetricFamily(
        "moderation_webhook_pending", "Events a webhook has not yet been sent, skipped or given up on", labels=labels
    )
    oldest = GaugeMetricFamily(
        "moderation_webhook_oldest_pending_seconds", "Age of the oldest event a webhook is still owed", labels=labels
    )
    letters = GaugeMetricFamily("moderation_webhook_dead_letters", "Dead letters waiting now", labels=labels)
    for c in counts:
        delivered.add_metric([c.name], c.delivered)
        failed.add_metric([c.name], c.failed)
        dead.add_metric([c.name], c.dead_lettered)
        pending.add_metric([c.name], c.pending)
        oldest.add_metric([c.name], c.oldest_pending_seconds or 0.0)
        letters.add_metric([c.name], c.dead_letters)
    return [delivered, failed, dead, pending, oldest, letters]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "moderation_http_requests", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "moderation_http_request_seconds",
            "HTTP request latency",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "moderation_verdict_cache_hits",
            "Verdicts served from the cache, by layer: the worker's memory or Redis",
            ["layer"],
            registry=self.registry,
        )
        self._memory_hits = self.cache_hits.labels(layer="memory")
        self._redis_hits = self.cache_hits.labels(layer="redis")
        self.cache_misses = Counter(
            "moderation_verdict_cache_misses", "Verdicts that needed the models", registry=self.registry
        )
        self.scoring = Histogram(
            "moderation_scoring_seconds", "Time of one model call on a batch", ["model"], registry=self.registry
        )
        self.batch_texts = Histogram(
            "moderation_scoring_batch_texts",
            "Texts scored together in one model call (requests that arrive together share a call)",
            buckets=(1, 2, 4, 8, 16, 24, 32, 64, 100),
            registry=self.registry,
        )
        # Read from Redis at each scrape: the latest reading is the truth, whichever worker took it.
        self.queue_depth = Gauge(
            "moderation_queue_depth",
            "Comments in the queue, by status",
            ["status"],
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.pending_by_flag = Gauge(
            "moderation_queue_pending_by_flag",
            "Pending comments, by flag",
            ["flag"],
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.decisions = Counter(
            "moderation_decisions",
            "Verdicts given, by site and decision (scores and submissions alike)",
            ["site", "decision"],
            registry=self.registry,
        )
        self.site_queue_depth = Gauge(
            "moderation_site_queue_depth",
            "Comments in the queue, by site and status",
            ["site", "status"],
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.site_pending_by_flag = Gauge(
            "moderation_site_queue_pending_by_flag",
            "Pending comments, by site and flag",
            ["site", "flag"],
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.model_load = Gauge(
            "moderation_model_load_seconds",
            "Time to load each model",
            ["model"],
            registry=self.registry,
            multiprocess_mode="max",
        )

    def observe_cache(self, memory: int, redis: int, misses: int) -> None:
        # Each increment takes a lock; a cache hit is one lookup that found one verdict in one place.
        for counter, count in ((self._memory_hits, memory), (self._redis_hits, redis), (self.cache_misses, misses)):
            if count:
                counter.inc(count)

    def observe_scoring(self, model: str, seconds: float) -> None:
        self.scoring.labels(model=model).observe(seconds)

    def observe_batch(self, texts: int) -> None:
        self.batch_texts.observe(texts)

    def observe_decision(self, site: str, decision: str) -> None:
        self.decisions.labels(site=site, decision=decision).inc()

    def set_queue(self, stats: dict[str, dict[str, int]], site: str | None = None) -> None:
        """The queue's counts, of every site together or (`site`) of one."""
        for status, count in stats["by_status"].items():
            if site is None:
                self.queue_depth.labels(status=status).set(count)
            else:
                self.site_queue_depth.labels(site=site, status=status).set(count)
        for flag, count in stats["pending_by_flag"].items():
            if site is None:
                self.pending_by_flag.labels(flag=flag).set(count)
            else:
                self.site_pending_by_flag.labels(site=site, flag=flag).set(count)

    def render(self, site: str | None = None, readings: Sequence[Metric] = ()) -> Response:
        """Every metric, and the `readings` taken at this scrape; with `site`, only the samples labelled with that
        site."""
        registry: Any = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry = _WithReadings(registry, readings)
        if site is not None:
            registry = _OfSite(registry, site)
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    def init_app(self, app: Flask) -> None:
        @app.before_request
        def _start_timer() -> None:
            g.request_started = time.perf_counter()

        @app.after_request
        def _record(response: Response) -> Response:
            labels = {
                "route": request.url_rule.rule if request.url_rule else "unmatched",
                "method": request.method,
                "status": str(response.status_code),
            }
            started = g.get("request_started")
            if started is not None:
                self.latency.labels(**labels).observe(time.perf_counter() - started)
            self.requests.labels(**labels).inc()
            return response
