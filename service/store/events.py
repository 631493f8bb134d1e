"""The event log: what happened to comments, for the site's systems (`GET /v1/events`).

Each event is appended in the same transaction as the change it reports, by whoever makes the change, so the log
never shows a change that did not happen nor misses one that did. An event's id is its stream entry id: ordered,
and the cursor a reader passes back (`after`).
"""

from __future__ import annotations

import json
from typing import Any

import redis
from redis.client import Pipeline

from service.event_types import EventType
from service.keys import Keys
from service.schemas import CommentRecord
from service.store.streams import after, batches, first_at
from service.timestamps import now_rfc3339

__all__ = ["EventLog", "EventType", "event_of"]


def event_of(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """An event as readers get it, from the pull feed or a webhook: its id, type, time and the comment record."""
    return {
        "id": entry_id,
        "type": fields["type"],
        "created_at": fields["created_at"],
        "comment": json.loads(fields["comment"]),
    }


class EventLog:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def add_to(self, pipe: Pipeline, kind: EventType, record: CommentRecord) -> None:
        """Queue an event on the caller's transaction: it is written exactly when the change is."""
        fields: dict[str, str] = {
            "type": kind.value,
            "created_at": now_rfc3339(),
            "site": record.site,
            "comment_id": record.id,
            "comment": record.model_dump_json(),
        }
        pipe.xadd(self._keys.events(), fields)  # type: ignore[arg-type]

    def read(self, cursor: str | None, limit: int, sites: frozenset[str] | None) -> list[dict[str, Any]]:
        """Up to `limit` events after the id `cursor` (from the start without), oldest first, of `sites` only."""
        low = after(cursor) if cursor else "-"
        found: list[dict[str, Any]] = []
        for batch in batches(self._redis, self._keys.events(), low, count=max(limit, 100)):
            for entry_id, fields in batch:
                if sites is None or fields.get("site") in sites:
                    found.append(event_of(entry_id, fields))
                    if len(found) == limit:
                        return found
        return found

    def erase_in(self, pipe: Pipeline, comment_ids: list[str]) -> None:
        """Queue the deletion of every event about these comments on the caller's transaction (an erasure's): each
        carries its comment's text. The whole log is read: erasure is rare."""
        wanted = set(comment_ids)
        doomed = [
            entry_id
            for batch in (batches(self._redis, self._keys.events()) if wanted else ())
            for entry_id, fields in batch
            if fields.get("comment_id") in wanted
        ]
        if doomed:
            pipe.xdel(self._keys.events(), *doomed)

    def trim_before(self, cutoff_ms: int) -> int:
        """Remove the events written before `cutoff_ms` (retention); returns how many."""
        return int(self._redis.xtrim(self._keys.events(), minid=first_at(cutoff_ms), approximate=False))
