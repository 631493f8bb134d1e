"""The one Redis connection pool of a process, and the mapping of its failures to 503."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.config import Settings
from service.errors import StoreUnavailable

_EXTENSION = "moderation.redis"


def connect(settings: Settings) -> redis.Redis:
    """Short timeouts and no retries: a request must fail within a second when Redis is gone."""
    timeout = settings.redis_timeout_seconds
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


def init_app(app: Flask, client: redis.Redis) -> None:
    app.extensions[_EXTENSION] = client


def get_redis() -> redis.Redis:
    client: redis.Redis = current_app.extensions[_EXTENSION]
    return client


@contextmanager
def unavailable_as_503() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable("the comment store is unavailable; retry shortly") from exc
