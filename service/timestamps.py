"""RFC 3339 timestamps as every stored record writes them: UTC, milliseconds, `Z`.

Its own module so that both the moderation service and the stores can import it without a cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
