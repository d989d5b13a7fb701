"""Stage 2: the language of the story's body text."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.items import Story
from crawler.language import detect_language


class LanguagePipeline:
    def __init__(self, stats: StatsCollector, min_chars: int) -> None:
        self.stats = stats
        self.min_chars = min_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "LanguagePipeline":
        return cls(crawler.stats, crawler.settings.getint("LANGUAGE_MIN_TEXT_CHARS", 80))

    def process_item(self, item: Story) -> Story:
        item.language, how = detect_language(item.text, item.source_language, self.min_chars)
        self.stats.inc_value(f"language/{item.language}")
        if how == "hint":
            self.stats.inc_value("language/from_hint")
        return item
