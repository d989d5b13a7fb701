"""Stage 1: the raw-HTML prefilter, then trafilatura for title, text, author and date."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from crawler.addon import config_of
from crawler.extraction import extract_article
from crawler.items import QuietDrop, Story

logger = logging.getLogger(__name__)


class CannotMatch(QuietDrop):
    """The raw page holds none of the watched terms: not worth extracting."""

    level = "DEBUG"


class NotHtml(QuietDrop):
    """The response was not an HTML page (a PDF, an image): logged and counted by the spider."""

    level = "DEBUG"


class NoArticle(QuietDrop):
    """trafilatura found no article on the page (an index, a gallery, an error page)."""

    level = "INFO"


class ExtractPipeline:
    def __init__(self, crawler: Crawler, favor_precision: bool, min_chars: int) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.favor_precision = favor_precision
        self.min_chars = min_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ExtractPipeline":
        s = crawler.settings
        return cls(crawler, s.getbool("EXTRACT_FAVOR_PRECISION", True), s.getint("EXTRACT_MIN_TEXT_CHARS", 200))

    def open_spider(self) -> None:
        self.topics = config_of(self.crawler.settings).topics

    def process_item(self, item: Story) -> Story:
        if item.not_html:
            raise NotHtml(f"not an HTML page: {item.url}")
        if not self.topics.prefilter(item.html):
            self.stats.inc_value("prefilter/skipped")
            raise CannotMatch(f"no watched term in {item.url}")
        article = extract_article(item.html, item.url, favor_precision=self.favor_precision,
                                  min_chars=self.min_chars)
        if article is None:
            self.stats.inc_value("extract/no_article")
            self.stats.inc_value(f"source/{item.source}/no_article")
            raise NoArticle(f"no article text in {item.url}")
        self.stats.inc_value("extract/ok")
        item.title = article.title
        item.text = article.text
        item.author = article.author
        # The page's own date is more precise than the feed's; the feed's is the fallback.
        item.published = article.published or item.published
        item.html = ""  # the raw page is not needed past this stage
        return item
