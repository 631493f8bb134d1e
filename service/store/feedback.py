"""Moderators' labels, kept in a Redis stream until `moderation feedback export` writes them out for training.

Two kinds of label arrive: Perspective API `comments:suggestscore` calls (a site's own moderation tool telling us what
a comment should have scored) and the decisions moderators take in our queue. Both are the site's standard, not
ours; `moderation train toxicity --extra FILE` folds them into training (see docs/feedback.md).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import TextIO

import redis
from redis.client import Pipeline

from service.keys import Keys
from service.store.streams import batches, first_at
from service.timestamps import epoch_ms, now_rfc3339

SOURCES = ("suggestscore", "queue")
# The stream's fields that may be absent: an absent field reads back as None, an empty one as "".
_OPTIONAL = ("community_id", "client_token", "comment_id", "site")
EXPORT_CHUNK = 1000
_CLOCK_SKEW_MS = 60_000


@dataclass(frozen=True)
class Feedback:
    """One label: `attribute` of `text` is `value`, in the judgement of the site's moderators."""

    text: str
    # The label's name as given: a Perspective attribute (TOXICITY, PROFANITY, APPROVED, ...) or one of our categories.
    attribute: str
    value: float  # in [0, 1]
    source: str  # "suggestscore" (Perspective API) or "queue" (a decision in our moderation queue)
    community_id: str | None = None
    client_token: str | None = None
    comment_id: str | None = None
    created_at: str = ""  # RFC 3339; empty: stamped with the time it is written
    site: str | None = None  # the site whose moderators gave it; None in labels stored before sites existed

    def __post_init__(self) -> None:
        # A bad label would poison every later training run; refuse it where it is made.
        if not math.isfinite(self.value) or not 0.0 <= self.value <= 1.0:
            raise ValueError(f"feedback value must be in [0, 1], not {self.value!r}")
        if self.source not in SOURCES:
            raise ValueError(f"feedback source must be one of {', '.join(SOURCES)}, not {self.source!r}")


# The exported file's header, the order `moderation train toxicity --extra` reads (it needs text, attribute, value).
CSV_COLUMNS = tuple(f.name for f in fields(Feedback))


def _stored(entry: Feedback, now: str) -> dict[str, str]:
    stored = {
        "text": entry.text,
        "attribute": entry.attribute,
        "value": repr(entry.value),
        "source": entry.source,
        "created_at": entry.created_at or now,
    }
    for name in _OPTIONAL:
        value: str | None = getattr(entry, name)
        if value is not None:
            stored[name] = value
    return stored


def _parse(stored: dict[str, str]) -> Feedback:
    return Feedback(
        text=stored.get("text", ""),
        attribute=stored.get("attribute", ""),
        value=float(stored.get("value", "nan")),
        source=stored.get("source", ""),
        community_id=stored.get("community_id"),
        client_token=stored.get("client_token"),
        comment_id=stored.get("comment_id"),
        created_at=stored.get("created_at", ""),
        site=stored.get("site"),
    )


class FeedbackStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def add(self, entries: Iterable[Feedback]) -> None:
        """Append `entries` in one MULTI/EXEC: a request's labels are stored all together or not at all."""
        entries = list(entries)
        if not entries:
            return
        with self._redis.pipeline(transaction=True) as pipe:
            self.add_to(pipe, entries)
            pipe.execute()

    def add_to(self, pipe: Pipeline, entries: Iterable[Feedback]) -> None:
        """Queue the XADDs on the caller's pipeline, to happen in its transaction (a queue decision's)."""
        now = now_rfc3339()
        for entry in entries:
            pipe.xadd(self._keys.feedback(), _stored(entry, now))  # type: ignore[arg-type]

    def decision_labels(self, comment_id: str, decided_at: str) -> list[str]:
        """The stream ids of the labels a queue decision wrote (those of `comment_id` stamped `decided_at`).

        Stream ids carry Redis's clock; the stamp is the service's. The search starts a minute before the stamp, so
        a small skew between the two clocks does not hide them."""
        low = first_at(epoch_ms(decided_at) - _CLOCK_SKEW_MS)
        return [
            entry_id
            for batch in batches(self._redis, self._keys.feedback(), low, count=EXPORT_CHUNK)
            for entry_id, stored in batch
            if stored.get("source") == "queue"
            and stored.get("comment_id") == comment_id
            and stored.get("created_at") == decided_at
        ]

    def withdraw_in(self, pipe: Pipeline, entry_ids: list[str]) -> None:
        """Queue the deletion of labels on the caller's pipeline (an undo's): the next export leaves them out."""
        if entry_ids:
            pipe.xdel(self._keys.feedback(), *entry_ids)

    def erase_in(self, pipe: Pipeline, comment_ids: list[str]) -> int:
        """Queue the deletion of every label of these comments on the caller's pipeline (an erasure's); returns how
        many. The whole stream is read: erasure is rare, and a label carries its comment's text."""
        wanted = set(comment_ids)
        doomed = [
            entry_id
            for batch in (batches(self._redis, self._keys.feedback(), count=EXPORT_CHUNK) if wanted else ())
            for entry_id, stored in batch
            if stored.get("comment_id") in wanted
        ]
        self.withdraw_in(pipe, doomed)
        return len(doomed)

    def trim_before(self, cutoff_ms: int) -> int:
        """Remove every label written before `cutoff_ms` (by the stream's clock); returns how many."""
        return int(self._redis.xtrim(self._keys.feedback(), minid=first_at(cutoff_ms), approximate=False))

    def export(self, chunk: int = EXPORT_CHUNK, site: str | None = None) -> Iterator[Feedback]:
        """Every entry (of `site`, when given), oldest first, `chunk` at a time: a long stream is never held in
        memory whole."""
        for batch in batches(self._redis, self._keys.feedback(), count=chunk):
            for _, stored in batch:
                if site is None or stored.get("site") == site:
                    yield _parse(stored)


def write_csv(entries: Iterable[Feedback], handle: TextIO) -> int:
    """`entries` as CSV under a header of CSV_COLUMNS, None as an empty cell; returns the rows written.

    `handle` is opened with newline="" (the csv module's rule): a comment's own line breaks stay inside its quotes.
    """
    writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for entry in entries:
        writer.writerow([getattr(entry, name) for name in CSV_COLUMNS])
        rows += 1
    return rows
