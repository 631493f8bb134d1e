"""Verdict cache: one key per (models-and-cues fingerprint, normalised text hash), with a TTL.

It keeps scores and evidence (`Scored`), not decisions: each site's policy and word lists decide on every request,
so a second site costs no model time and a changed policy never serves an old decision.

Redis is the cache every worker and replica shares. In front of it each worker keeps its most recent verdicts in
memory: a repeat (a retried request, a copy-pasted comment in a raid) is then served without a network round trip,
which under load is most of a cache hit's cost (each blocking call hands the GIL to another thread and back).
Serving from memory cannot be stale: the key names the models and cues, and they decide the scores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import redis
from cachetools import TTLCache

from service.keys import Keys
from service.schemas import EvidenceSpan, Scored

# Per lookup: verdicts found in worker memory, found in Redis, and missing.
CacheObserver = Callable[[int, int, int], None]


class VerdictCache:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_seconds: int, local_size: int = 0) -> None:
        self._redis = client
        self._keys = keys
        self._ttl = ttl_seconds
        # At most one TTL in memory from when this worker computed or fetched the verdict, so a copy fetched near
        # its Redis expiry can outlive the key; harmless, since the key names all that decides the verdict. The
        # lock because cachetools' caches are not thread-safe.
        self._local: TTLCache[str, Scored] | None = TTLCache(local_size, ttl_seconds) if local_size else None
        self._local_lock = threading.Lock()
        self.observe: CacheObserver = lambda memory, redis, misses: None

    def get_many(self, fingerprint: str, text_hashes: list[str]) -> list[Scored | None]:
        """Worker memory first; one Redis round trip for the rest of the batch, if any."""
        if not text_hashes:
            return []
        keys = [self._keys.verdict(fingerprint, h) for h in text_hashes]
        found = self._recall(keys)
        absent = [i for i, verdict in enumerate(found) if verdict is None]
        fetched: dict[str, Scored] = {}
        if absent:
            for i, value in zip(absent, self._redis.mget([keys[i] for i in absent]), strict=True):
                if value:
                    found[i] = fetched[keys[i]] = self._cached(value)
            self._remember(fetched)
        self.observe(len(keys) - len(absent), len(fetched), len(absent) - len(fetched))
        return found

    @staticmethod
    def _cached(value: str | bytes) -> Scored:
        return Scored.model_validate_json(value).model_copy(update={"cached": True})

    def put_many(self, fingerprint: str, entries: dict[str, Scored]) -> None:
        if not entries:
            return
        keys = {text_hash: self._keys.verdict(fingerprint, text_hash) for text_hash in entries}
        kept = {keys[text_hash]: _without_text(verdict) for text_hash, verdict in entries.items()}
        pipe = self._redis.pipeline(transaction=False)
        for key, verdict in kept.items():
            pipe.set(key, verdict.model_dump_json(), ex=self._ttl)
        pipe.execute()
        # The same as what Redis holds, so that a hit reads alike from either layer.
        self._remember({key: verdict.model_copy(update={"cached": True}) for key, verdict in kept.items()})

    def _recall(self, keys: list[str]) -> list[Scored | None]:
        if self._local is None:
            return [None] * len(keys)
        with self._local_lock:
            return [self._local.get(key) for key in keys]

    def _remember(self, verdicts: dict[str, Scored]) -> None:
        if self._local is None or not verdicts:
            return
        with self._local_lock:
            self._local.update(verdicts)


def _without_text(scored: Scored) -> Scored:
    """The scores with no words of the comment in them: Redis then holds no comment text for a scored text, which
    Perspective's `doNotStore` asks for. Evidence offsets suffice; each request's text is read out of its own
    original (`ScoringEngine.locate`)."""
    if not any(scored.evidence.values()) and not any(scored.evidence_if_flagged.values()):
        return scored

    def blank(evidence: dict[str, list[EvidenceSpan]]) -> dict[str, list[EvidenceSpan]]:
        return {c: [span.model_copy(update={"text": ""}) for span in spans] for c, spans in evidence.items()}

    return scored.model_copy(
        update={"evidence": blank(scored.evidence), "evidence_if_flagged": blank(scored.evidence_if_flagged)}
    )
