"""Redis stream ids (`MILLISECONDS-SEQUENCE`, each part an unsigned 64-bit integer), for every stream reader here."""

from __future__ import annotations

import re
from collections.abc import Iterator

import redis

MAX_PART = 2**64 - 1
_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")


def is_stream_id(value: str) -> bool:
    """A well-formed id Redis accepts: both parts within 64 bits."""
    match = _ID.fullmatch(value)
    return match is not None and int(match.group(1)) <= MAX_PART and int(match.group(2)) <= MAX_PART


def after(entry_id: str) -> str:
    """The least stream id above `entry_id` (XRANGE's exclusive `(` needs Redis 6.2; this works on any)."""
    milliseconds, sequence = (int(part) for part in entry_id.split("-"))
    if sequence < MAX_PART:
        return f"{milliseconds}-{sequence + 1}"
    return f"{min(milliseconds + 1, MAX_PART)}-0"


def first_at(milliseconds: int) -> str:
    """The least id at or after a time (an earlier time than the epoch reads as the epoch)."""
    return f"{max(0, milliseconds)}-0"


def last_before(milliseconds: int) -> str:
    """The greatest id before a time; "0-0" for a time at or before the epoch, which no entry precedes."""
    if milliseconds <= 0:
        return "0-0"
    return f"{milliseconds - 1}-{MAX_PART}"


def batches(
    client: redis.Redis, key: str, low: str = "-", high: str = "+", count: int = 1000
) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """A stream's entries from `low` to `high` (inclusive), oldest first, `count` per XRANGE: a long stream is never
    held in memory whole. The last batch is shorter than `count`, possibly empty."""
    while True:
        batch: list[tuple[str, dict[str, str]]] = client.xrange(key, min=low, max=high, count=count)  # type: ignore[assignment]
        yield batch
        if len(batch) < count:
            return
        low = after(batch[-1][0])
