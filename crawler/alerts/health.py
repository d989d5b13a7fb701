"""Source health: notice a blocked, dead or redesigned site from the crawl stats.

At the end of a run :func:`check_health` looks at each source's counters (``source/<name>/requests``, ``…/errors``,
``…/articles``, ``…/no_article``) and at what earlier runs recorded in the state store (key ``health/<name>``), and
returns the problems that need a message:

* ``errors`` — every request to the source failed this run (at least one request was made);
* ``stale`` — no article from the source for longer than ``stale_days`` (counted from the last run that produced one,
  or from the first run that watched the source);
* ``extraction`` — the share of fetched pages without an extractable article rose by ``extract_failure_jump`` or
  more above the source's usual share (the share of the last healthy run), with at least ``MIN_PAGES`` pages.

A problem is reported once: it is returned while it is *active and not yet notified*; after the message went out
the caller calls :func:`record_notified`, and the problem is not returned again until it has cleared (a run in which
the condition does not hold) and comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from crawler.dates import parse_utc

logger = logging.getLogger(__name__)

ERRORS = "errors"
STALE = "stale"
EXTRACTION = "extraction"

# Fewer fetched pages than this say nothing about an extraction failure rate.
MIN_PAGES = 5


class HealthState(Protocol):
    def get_health(self, key: str) -> dict[str, Any] | None: ...

    def set_health(self, key: str, value: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Problem:
    """One source problem worth a message."""

    source: str
    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return health_key(self.source)


def health_key(source: str) -> str:
    return f"health/{source}"


def _parse(value: Any) -> datetime | None:
    return parse_utc(str(value)) if value else None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _count(stats: Mapping[str, Any], source: str, name: str) -> int:
    value = stats.get(f"source/{source}/{name}", 0)
    return int(value) if isinstance(value, (int, float)) else 0


def check_health(
    stats: Mapping[str, Any],
    sources: Iterable[str],
    state: HealthState,
    now: datetime,
    *,
    stale_days: float,
    extract_failure_jump: float,
) -> list[Problem]:
    """Update each source's health record from this run's *stats* and return the problems to announce.

    *now* is timezone-aware (UTC assumed if naive). The state keeps, per source: when it was first watched, when it
    last produced an article, its usual extraction failure share, and which problems are active and already
    announced (``notified``). Problems that cleared are forgotten, so they are announced again if they come back.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    problems: list[Problem] = []
    for source in sources:
        record = dict(state.get_health(health_key(source)) or {})
        notified: dict[str, str] = dict(record.get("notified") or {})
        requests = _count(stats, source, "requests")
        errors = _count(stats, source, "errors")
        articles = _count(stats, source, "articles")
        no_article = _count(stats, source, "no_article")

        record.setdefault("first_seen", _iso(now))
        if articles > 0:
            record["last_article"] = _iso(now)

        active: dict[str, Problem] = {}

        if requests > 0 and errors >= requests:
            active[ERRORS] = Problem(
                source,
                ERRORS,
                f"{source}: all {requests} requests failed in this run (blocked, down or moved?)",
                {"requests": requests, "errors": errors},
            )

        since = _parse(record.get("last_article")) or _parse(record.get("first_seen")) or now
        if articles == 0 and now - since > timedelta(days=stale_days):
            days = (now - since).total_seconds() / 86400
            what = "since" if record.get("last_article") else "since it was first watched on"
            active[STALE] = Problem(
                source,
                STALE,
                f"{source}: no articles for {days:.1f} days ({what} {since.date().isoformat()})",
                {"days": round(days, 1), "last_article": record.get("last_article")},
            )

        pages = articles + no_article
        if pages >= MIN_PAGES:
            rate = no_article / pages
            usual = record.get("usual_failure_rate")
            if isinstance(usual, (int, float)) and rate - usual >= extract_failure_jump:
                active[EXTRACTION] = Problem(
                    source,
                    EXTRACTION,
                    f"{source}: no article could be extracted from {rate:.0%} of its pages "
                    f"(usually {usual:.0%}): has the site changed its layout?",
                    {"rate": round(rate, 3), "usual": round(float(usual), 3), "pages": pages},
                )
            else:
                # Only a healthy run sets the usual rate, so a lasting breakage stays a problem.
                record["usual_failure_rate"] = round(rate, 3)

        # Cleared problems are forgotten; active ones not yet announced are returned.
        for kind in list(notified):
            if kind not in active:
                logger.info("Source %s: health problem %r cleared", source, kind)
                del notified[kind]
        record["notified"] = notified
        problems.extend(problem for kind, problem in active.items() if kind not in notified)
        state.set_health(health_key(source), record)
    return problems


def record_notified(state: HealthState, problems: Iterable[Problem], now: datetime) -> None:
    """Remember that *problems* were announced, so they are not announced again while they persist."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    for problem in problems:
        record = dict(state.get_health(problem.key) or {})
        notified = dict(record.get("notified") or {})
        notified[problem.kind] = _iso(now)
        record["notified"] = notified
        state.set_health(problem.key, record)
