"""Verdict cache: one key per (model-and-policy fingerprint, normalised text hash), with a TTL."""

from __future__ import annotations

import redis

from service.keys import Keys
from service.schemas import Verdict


class VerdictCache:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = client
        self._keys = keys
        self._ttl = ttl_seconds

    def get_many(self, fingerprint: str, text_hashes: list[str]) -> list[Verdict | None]:
        """One round trip for the whole batch."""
        if not text_hashes:
            return []
        raw = self._redis.mget([self._keys.verdict(fingerprint, h) for h in text_hashes])
        return [self._cached(value) if value else None for value in raw]

    @staticmethod
    def _cached(value: str | bytes) -> Verdict:
        verdict = Verdict.model_validate_json(value)
        verdict.cached = True  # a fresh object, so set in place rather than copied (this is the hot cache-hit path)
        return verdict

    def put_many(self, fingerprint: str, entries: dict[str, Verdict]) -> None:
        if not entries:
            return
        pipe = self._redis.pipeline(transaction=False)
        for text_hash, verdict in entries.items():
            pipe.set(self._keys.verdict(fingerprint, text_hash), verdict.model_dump_json(), ex=self._ttl)
        pipe.execute()
