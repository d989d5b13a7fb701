"""Extension: a short human summary of the crawl, logged when the spider closes.

Everything comes from the crawl stats (keys in DESIGN.md "Stats namespaces"); the figures go back into
the stats under ``summary/…`` so the stats file and monitoring see the same numbers as the log.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# topics/<name> counters that are totals, not topic names.
_TOPIC_TOTALS = {"matched", "no_match"}
# Per-source counters that mean something went wrong.
_PROBLEMS = ("errors", "no_article")


@dataclass
class Summary:
    sources_crawled: int = 0
    articles_fetched: int = 0
    skipped_known: int = 0
    feeds_unchanged: int = 0
    new_stories: int = 0
    new_per_topic: dict[str, int] = field(default_factory=dict)
    matched_per_topic: dict[str, int] = field(default_factory=dict)
    duplicates_exact: int = 0
    duplicates_near: int = 0
    archived: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    alerts_pending: int = 0
    bad_responses: dict[str, int] = field(default_factory=dict)
    problems: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> {errors, no_article}

    def figures(self) -> dict[str, int]:
        """The numbers stored back into the stats as ``summary/<name>``."""
        return {
            "sources_crawled": self.sources_crawled,
            "articles_fetched": self.articles_fetched,
            "skipped_known": self.skipped_known,
            "feeds_unchanged": self.feeds_unchanged,
            "new_stories": self.new_stories,
            "duplicates_exact": self.duplicates_exact,
            "duplicates_near": self.duplicates_near,
            "archived": self.archived,
            "alerts_sent": self.alerts_sent,
            "alerts_failed": self.alerts_failed,
            "alerts_pending": self.alerts_pending,
            "sources_with_problems": len(self.problems),
        }

    def lines(self) -> list[str]:
        topics = ", ".join(f"{t} {n}" for t, n in self.matched_per_topic.items()) or "none"
        new = ", ".join(f"{t} {n}" for t, n in self.new_per_topic.items())
        out = [
            f"sources crawled: {self.sources_crawled}; articles fetched: {self.articles_fetched}; "
            f"skipped as already processed: {self.skipped_known}; feeds/sitemaps unchanged (304): "
            f"{self.feeds_unchanged}",
            f"new stories: {self.new_stories}" + (f" ({new})" if new else "")
            + f"; matched per topic (before dedup): {topics}",
            f"duplicates: {self.duplicates_exact} exact, {self.duplicates_near} near; archived: {self.archived}",
            f"alerts: {self.alerts_sent} sent, {self.alerts_failed} failed, {self.alerts_pending} pending",
        ]
        # One line per source with a problem: the line a person reading a cron mail looks for.
        out += [
            f"problem: {name}: " + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in counts.items())
            for name, counts in self.problems.items()
        ] or ["problems: none"]
        if self.bad_responses:
            out.append("bad responses: " + ", ".join(f"{r} {n}" for r, n in self.bad_responses.items()))
        return out


def summarise(stats: dict[str, Any]) -> Summary:
    """Build the summary from a stats dict (``crawler.stats.get_stats()``)."""

    def num(key: str) -> int:
        value = stats.get(key, 0)
        return int(value) if isinstance(value, (int, float)) else 0

    per_source: dict[str, dict[str, int]] = defaultdict(dict)
    topics: dict[str, int] = {}
    new_topics: dict[str, int] = {}
    bad: dict[str, int] = {}
    for key in stats:
        if key.startswith("source/"):
            # Source names come from the config and may hold "/": the counter name is the last part.
            name, _, what = key[len("source/"):].rpartition("/")
            if name:
                per_source[name][what] = num(key)
        elif key.startswith("topics/") and key[len("topics/"):] not in _TOPIC_TOTALS:
            topics[key[len("topics/"):]] = num(key)
        elif key.startswith("dedup/new/"):
            new_topics[key[len("dedup/new/"):]] = num(key)
        elif key.startswith("newswatch/bad_response/"):
            bad[key[len("newswatch/bad_response/"):]] = num(key)
    problems = {
        name: {what: counts[what] for what in _PROBLEMS if counts.get(what)}
        for name, counts in sorted(per_source.items())
        if any(counts.get(what) for what in _PROBLEMS)
    }
    return Summary(
        sources_crawled=len(per_source),
        articles_fetched=num("newswatch/articles_fetched"),
        skipped_known=num("newswatch/skipped_known"),
        feeds_unchanged=num("newswatch/not_modified"),
        new_stories=num("dedup/new"),
        new_per_topic=dict(sorted(new_topics.items(), key=lambda kv: (-kv[1], kv[0]))),
        matched_per_topic=dict(sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))),
        duplicates_exact=num("dedup/exact"),
        duplicates_near=num("dedup/near"),
        archived=num("archive/written"),
        alerts_sent=num("alerts/sent"),
        alerts_failed=num("alerts/failed"),
        alerts_pending=num("alerts/pending"),
        bad_responses=dict(sorted(bad.items(), key=lambda kv: (-kv[1], kv[0]))),
        problems=problems,
    )


class CrawlSummary:
    """Logs :class:`Summary` at ``spider_closed`` and stores its figures as ``summary/*`` stats."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlSummary:
        ext = cls(crawler)
        # spider_closed runs after the pipelines' close_spider (so alerts/pending is set) and before the
        # stats are dumped and the stats file (engine_stopped) is written, so summary/* lands in both.
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        assert stats is not None
        summary = summarise(stats.get_stats())
        for name, value in summary.figures().items():
            stats.set_value(f"summary/{name}", value)
        # At WARNING when something went wrong, so the README's cron line (LOG_LEVEL=WARNING) shows it.
        level = logging.WARNING if summary.problems or reason != "finished" else logging.INFO
        logger.log(level, "Crawl summary (%s, finished: %s):\n  %s", spider.name, reason,
                   "\n  ".join(summary.lines()))
