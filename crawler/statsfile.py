"""Extension: write the run's stats as JSON when ``NEWSWATCH_STATS_FILE`` is set.

For monitoring (a cron wrapper, a dashboard) and for the end-to-end tests, which read the same
numbers the log summary prints."""

from __future__ import annotations

import json
import os
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class StatsFile:
    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsFile:
        path = crawler.settings.get("NEWSWATCH_STATS_FILE") or os.environ.get("NEWSWATCH_STATS_FILE")
        if not path:
            raise NotConfigured  # no message: Scrapy would log a warning on every run
        ext = cls(crawler, Path(path))
        # engine_stopped comes after every spider_closed handler (the summary's included) has run.
        crawler.signals.connect(ext.write, signal=signals.engine_stopped)
        return ext

    def write(self) -> None:
        stats = self.crawler.stats.get_stats()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(stats, default=str, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)
