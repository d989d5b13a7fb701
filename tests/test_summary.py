"""CrawlSummary: the end-of-crawl summary, built from the crawl stats."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from scrapy import Spider, signals
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.summary import CrawlSummary, summarise

BUSY_RUN = {
    "newswatch/articles_fetched": 42,
    "newswatch/skipped_known": 7,
    "newswatch/not_modified": 2,
    "newswatch/bad_response/http_503": 3,
    "newswatch/bad_response/timeout": 1,
    "source/Tom's Hardware/requests": 20,
    "source/Tom's Hardware/articles": 15,
    "source/HDblog/requests": 12,
    "source/HDblog/articles": 9,
    "source/HDblog/errors": 3,
    "source/Punto Informatico/requests": 4,
    "source/Punto Informatico/no_article": 2,
    "source/Punto Informatico/errors": 1,
    "topics/matched": 11,
    "topics/no_match": 20,
    "topics/deepseek": 6,
    "topics/ascend": 4,
    "topics/h800": 4,
    "dedup/new": 8,
    "dedup/new/deepseek": 5,
    "dedup/new/ascend": 3,
    "dedup/new/h800": 3,
    "dedup/exact": 2,
    "dedup/near": 1,
    "archive/written": 11,
    "alerts/queued": 8,
    "alerts/sent": 5,
    "alerts/failed": 1,
    "alerts/pending": 3,
}

CASES: list[tuple[str, dict[str, Any], dict[str, int], list[str]]] = [
    ("busy run", BUSY_RUN,
     {"sources_crawled": 3, "articles_fetched": 42, "skipped_known": 7, "feeds_unchanged": 2, "new_stories": 8, "duplicates_exact": 2, "duplicates_near": 1,
      "archived": 11, "alerts_sent": 5, "alerts_failed": 1, "alerts_pending": 3, "sources_with_problems": 2},
     ["sources crawled: 3; articles fetched: 42; skipped as already processed: 7; feeds/sitemaps unchanged (304): 2",
      "new stories: 8 (deepseek 5, ascend 3, h800 3); matched per topic (before dedup): deepseek 6, ascend 4, h800 4",
      "duplicates: 2 exact, 1 near; archived: 11",
      "alerts: 5 sent, 1 failed, 3 pending",
      "problem: HDblog: 3 errors",
      "problem: Punto Informatico: 1 errors, 2 no article",
      "bad responses: http_503 3, timeout 1"]),
    ("nothing happened", {},
     {"sources_crawled": 0, "articles_fetched": 0, "new_stories": 0, "duplicates_exact": 0, "duplicates_near": 0,
      "archived": 0, "alerts_sent": 0, "alerts_failed": 0, "alerts_pending": 0, "sources_with_problems": 0},
     ["sources crawled: 0; articles fetched: 0; skipped as already processed: 0", "new stories: 0; matched per topic (before dedup): none",
      "alerts: 0 sent, 0 failed, 0 pending", "problems: none"]),
    ("source name with a slash", {"source/AI/ML Weekly/requests": 2, "source/AI/ML Weekly/errors": 2},
     {"sources_crawled": 1, "sources_with_problems": 1},
     ["problem: AI/ML Weekly: 2 errors"]),
]


@pytest.mark.parametrize(("stats", "figures", "lines"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_summary_logged_and_stored(stats: dict[str, Any], figures: dict[str, int], lines: list[str],
                                   caplog: pytest.LogCaptureFixture) -> None:
    # Scrapy's default extensions are left out: they need a running reactor, this test needs none.
    crawler = get_crawler(Spider, settings_dict={"EXTENSIONS_BASE": {}, "EXTENSIONS": {}})
    ext = build_from_crawler(CrawlSummary, crawler)  # kept: signals hold receivers weakly
    for key, value in stats.items():
        crawler.stats.set_value(key, value)
    spider = Spider(name="news")
    with caplog.at_level(logging.INFO, logger="crawler.summary"):
        results = crawler.signals.send_catch_log(signals.spider_closed, spider=spider, reason="finished")
    assert not [r for _, r in results if isinstance(r, Failure)] and ext.crawler is crawler
    for name, value in figures.items():
        assert crawler.stats.get_value(f"summary/{name}") == value, name
    (record,) = [r for r in caplog.records if r.name == "crawler.summary"]
    # Something went wrong: the summary shows at LOG_LEVEL=WARNING too.
    assert record.levelno == (logging.WARNING if figures["sources_with_problems"] else logging.INFO)
    message = record.getMessage()
    assert message.startswith("Crawl summary (news, finished: finished):")
    for line in lines:
        assert f"\n  {line}" in message, line


def test_summarise_ignores_non_numeric_values() -> None:
    summary = summarise({"start_time": "2025-03-01", "newswatch/articles_fetched": "many", "dedup/new": 2})
    assert summary.articles_fetched == 0 and summary.new_stories == 2
