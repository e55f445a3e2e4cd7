"""Times as the API writes them: RFC 3339 in UTC with second precision (metav1.Time)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def rfc3339(time_ns: int) -> str | None:
    """The API form of a time in nanoseconds since the epoch; None (null) for 0."""
    if not time_ns:
        return None
    return datetime.fromtimestamp(time_ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return rfc3339(time.time_ns()) or ""


def parse(text: str) -> float:
    """Seconds since the epoch of an API timestamp (RFC 3339, Z or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
