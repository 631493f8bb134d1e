"""RFC 3339 timestamps as every stored record writes them: UTC, milliseconds, `Z`.

Its own module so that both the moderation service and the stores can import it without a cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_epoch_ms(milliseconds: float) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(timestamp: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 timestamp (a `Z` or an offset)."""
    return int(datetime.fromisoformat(timestamp.upper().replace("Z", "+00:00")).timestamp() * 1000)
