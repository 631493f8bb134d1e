"""Per-API-key request limits, as Perspective had quotas: counted in Redis, so every worker and replica shares them.

The `limits` library keeps a fixed window per key (one INCR and EXPIRE a request), like the per-minute buckets
Perspective's quota used.
"""

from __future__ import annotations

import math
import time

import redis
from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from service.config import ApiKey
from service.errors import RateLimited
from service.keys import Keys
from service.store.connection import unavailable_as_503

_EXTENSION = "moderation.rate_limit"


class RateLimiter:
    def __init__(self, client: redis.Redis, keys: Keys, limit: str) -> None:
        self.limit = limit
        self._items: list[RateLimitItem] = parse_many(limit)
        # The service's own pool: the same timeouts, and a Redis outage fails the request fast (503).
        storage = RedisStorage("redis://", connection_pool=client.connection_pool, key_prefix=keys.rate_limit())
        self._limiter = FixedWindowRateLimiter(storage)

    def hit(self, key: ApiKey) -> None:
        """Count one request of `key`; over any of the limits, RateLimited with the seconds until it resets."""
        for item in self._items:
            if not self._limiter.hit(item, key.name):
                reset = self._limiter.get_window_stats(item, key.name).reset_time
                retry_after = max(1, math.ceil(reset - time.time()))
                unit = item.GRANULARITY.name
                raise RateLimited(
                    f"rate limit of {item} for API key {key.name!r} exceeded; retry in {retry_after} s",
                    retry_after=retry_after,
                    amount=item.amount,
                    per=unit if item.multiples == 1 else f"{item.multiples} {unit}s",
                    consumer=key.name,
                )


def init_app(app: Flask, limiter: RateLimiter | None) -> None:
    app.extensions[_EXTENSION] = limiter


def count_request(key: ApiKey) -> None:
    """Count a request of `key` against the deployment's limit, if it has one; 503 when Redis is unreachable."""
    limiter: RateLimiter | None = current_app.extensions.get(_EXTENSION)
    if limiter is not None:
        with unavailable_as_503():
            limiter.hit(key)
