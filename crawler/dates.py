"""Instants as newswatch reads them: ISO 8601 strings (naive = UTC), datetimes, epoch seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any


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


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 string (a trailing ``Z`` too) as a datetime, naive when it has no offset; None for
    anything else (empty, not a string, not a date)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_utc(value: Any) -> datetime | None:
    """:func:`parse_iso` as an aware UTC datetime (a naive value is taken as UTC)."""
    when = parse_iso(value)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
