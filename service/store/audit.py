"""Reading the audit stream back: paging and export for admins, and the figures of a transparency report.

The stream itself is written by store/comments.py, in the transaction of each decision; the text an entry quotes
lies beside it (`audit-text:{comment id}`) so that erasure can remove it. The policy's own decisions are counted
per site and hour as comments are stored (`transparency:{site}:{hour}`).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis

from service.keys import Keys
from service.store.streams import after, batches, first_at, last_before
from service.timestamps import epoch_ms

_CHUNK = 500
HUMAN_ACTIONS = ("approve", "reject")


def with_audit_text(client: redis.Redis, keys: Keys, entries: list[tuple[str, dict[str, str]]]) -> list[dict[str, str]]:
    """Each entry with the text it quotes (note, explanation, overridden verdict) unless that was erased."""
    pipe = client.pipeline(transaction=False)
    for _, fields in entries:
        pipe.hget(keys.audit_text(fields.get("comment_id", "")), fields.get("text_ref", ""))
    joined = []
    for (entry_id, fields), text in zip(entries, pipe.execute(), strict=True):
        facts = {k: v for k, v in fields.items() if k != "text_ref"}
        joined.append({"id": entry_id, **facts, **(json.loads(text) if text else {})})
    return joined


@dataclass(frozen=True)
class AuditFilter:
    start_ms: int | None = None
    end_ms: int | None = None  # exclusive
    moderator: str | None = None
    site: str | None = None
    action: str | None = None

    def keeps(self, fields: dict[str, str]) -> bool:
        return (
            (self.moderator is None or fields.get("decided_by") == self.moderator)
            and (self.site is None or fields.get("site") == self.site)
            and (self.action is None or fields.get("action") == self.action)
        )


class AuditLog:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def entries(self, where: AuditFilter, cursor: str | None = None) -> Iterator[dict[str, str]]:
        """Matching entries oldest first, from after the stream id `cursor`, read `_CHUNK` at a time."""
        low = after(cursor) if cursor else (first_at(where.start_ms) if where.start_ms is not None else "-")
        high = last_before(where.end_ms) if where.end_ms is not None else "+"
        for batch in batches(self._redis, self._keys.audit(), low, high, _CHUNK):
            kept = [(entry_id, fields) for entry_id, fields in batch if where.keeps(fields)]
            yield from with_audit_text(self._redis, self._keys, kept)

    def drop_texts_before(self, cutoff_ms: int) -> int:
        """Remove what audit entries older than `cutoff_ms` quote (their bare facts stay); returns how many. Goes on
        from where the last sweep stopped."""
        mark_key = self._keys.retention_audit_mark()
        mark: str | None = self._redis.get(mark_key)  # type: ignore[assignment]
        low = after(mark) if mark else "-"
        high = last_before(cutoff_ms)
        dropped = 0
        while True:
            batch: list[tuple[str, dict[str, str]]] = self._redis.xrange(  # type: ignore[assignment]
                self._keys.audit(), min=low, max=high, count=_CHUNK
            )
            if not batch:
                return dropped
            pipe = self._redis.pipeline(transaction=True)
            for _, fields in batch:
                if fields.get("text_ref"):
                    pipe.hdel(self._keys.audit_text(fields.get("comment_id", "")), fields["text_ref"])
            pipe.set(mark_key, batch[-1][0])
            dropped += sum(int(n) for n in pipe.execute()[:-1])
            low = after(batch[-1][0])

    def page(self, where: AuditFilter, limit: int, cursor: str | None) -> tuple[list[dict[str, str]], str | None]:
        found: list[dict[str, str]] = []
        for entry in self.entries(where, cursor):
            if len(found) == limit:
                return found, found[-1]["id"]
            found.append(entry)
        return found, None

    def transparency(self, start: datetime, end: datetime, site: str | None) -> dict[str, object]:
        """The period's figures: the policy's own decisions against people's, how often people overturned a hold,
        and how long a held comment waited for its decision."""
        return {
            "from": _rfc3339(start),
            "to": _rfc3339(end),
            "site": site,
            "automated": self._policy_decisions(start, end, site),
            **self._human_decisions(start, end, site),
        }

    def _policy_decisions(self, start: datetime, end: datetime, site: str | None) -> dict[str, object]:
        stored: set[str] = self._redis.smembers(self._keys.sites())  # type: ignore[assignment]
        sites = [site] if site is not None else sorted(stored)
        hours = []
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour < end:
            hours.append(hour.strftime("%Y-%m-%dT%H"))
            hour += timedelta(hours=1)
        pipe = self._redis.pipeline(transaction=False)
        for name in sites:
            for stamp in hours:
                pipe.hgetall(self._keys.policy_decisions(name, stamp))
        decisions: Counter[str] = Counter()
        flags: Counter[str] = Counter()
        for counts in pipe.execute():
            for field, value in counts.items():
                kind, name = field.split(":", 1)
                (decisions if kind == "decision" else flags)[name] += int(value)
        return {
            "total": sum(decisions.values()),
            "by_decision": {d: decisions.get(d, 0) for d in ("allow", "review", "reject")},
            "by_category": dict(sorted(flags.items())),
            "note": "counted by the hour: a period that starts or ends inside an hour counts that whole hour",
        }

    def _human_decisions(self, start: datetime, end: datetime, site: str | None) -> dict[str, object]:
        where = AuditFilter(start_ms=epoch_ms(_rfc3339(start)), end_ms=epoch_ms(_rfc3339(end)), site=site)
        actions: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        by_category: dict[str, Counter[str]] = {}
        held: dict[str, Counter[str]] = {}
        waits: list[float] = []
        reopened = 0
        for entry in self.entries(where):
            action = entry.get("action", "")
            if action == "reopen":
                reopened += 1
                continue
            if action not in HUMAN_ACTIONS:
                continue
            actions[action] += 1
            if entry.get("reason"):
                reasons[entry["reason"]] += 1
            for flag in filter(None, entry.get("flags", "").split(",")):
                by_category.setdefault(flag, Counter())[action] += 1
            held.setdefault(entry.get("overridden_decision", "unknown"), Counter())[action] += 1
            if entry.get("held_at") and entry.get("decided_at"):
                waits.append((epoch_ms(entry["decided_at"]) - epoch_ms(entry["held_at"])) / 1000)
        decided = sum(actions.values())
        approved = actions.get("approve", 0)
        return {
            "human": {
                "total": decided,
                "by_action": {a: actions.get(a, 0) for a in HUMAN_ACTIONS},
                "by_reason": dict(sorted(reasons.items())),
                "by_category": {c: {a: n.get(a, 0) for a in HUMAN_ACTIONS} for c, n in sorted(by_category.items())},
                "reopened": reopened,
            },
            "overturned": {
                "held": decided,
                "approved": approved,
                "rate": approved / decided if decided else None,
                "by_policy_decision": {
                    d: {"decided": sum(n.values()), "approved": n.get("approve", 0)} for d, n in sorted(held.items())
                },
            },
            "time_to_decision_seconds": {
                "count": len(waits),
                "median": statistics.median(waits) if waits else None,
                "p90": _percentile(waits, 0.9) if waits else None,
            },
        }


def _percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value at or above `share` of the values."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
