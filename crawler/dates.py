"""Instants as newswatch reads them: ISO 8601 strings (naive = UTC), datetimes, epoch seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def epoch(value: str | float | datetime | None) -> float:
    """Seconds since the epoch from an ISO 8601 string (naive = UTC; a bare date is its midnight), a
    datetime or a number; now for None."""
    if value is None:
        return time.time()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def iso(epoch_seconds: float | None) -> str | None:
    """An epoch as ISO 8601 UTC to the second; None stays None."""
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).isoformat(timespec="seconds")
