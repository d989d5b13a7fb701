"""Stage 1: the raw-HTML prefilter, then the page's body (trafilatura) and its headline, published instant
and authors (the metadata resolver, :mod:`crawler.metadata`), from the page and what discovery knew."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from crawler.addon import config_of
from crawler.extraction import extract_page
from crawler.metadata import Discovery
from crawler.items import QuietDrop, Story

logger = logging.getLogger(__name__)


class CannotMatch(QuietDrop):
    """The raw page holds none of the watched terms: not worth extracting."""

    level = "DEBUG"
    recheck = True  # an update may add one


class NotHtml(QuietDrop):
    """The response was not an HTML page (a PDF, an image): logged and counted by the spider."""

    level = "DEBUG"


class NoArticle(QuietDrop):
    """trafilatura found no article on the page (an index, a gallery, an error page)."""

    level = "INFO"


class ExtractPipeline:
    def __init__(self, crawler: Crawler, min_chars: int) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.min_chars = min_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ExtractPipeline":
        return cls(crawler, crawler.settings.getint("EXTRACT_MIN_TEXT_CHARS", 200))

    def open_spider(self) -> None:
        config = config_of(self.crawler.settings)
        self.topics = config.topics
        self.zones = {source.name: source.timezone for source in config.sources}

    def process_item(self, item: Story) -> Story:
        if item.not_html:
            raise NotHtml(f"not an HTML page: {item.url}")
        if not self.topics.prefilter(item.html):
            self.stats.inc_value("prefilter/skipped")
            raise CannotMatch(f"no watched term in {item.url}")
        discovery = Discovery(source_name=item.source, timezone=self.zones.get(item.source),
                              feed_published=item.discovered_published, feed_updated=item.discovered_updated)
        page = extract_page(item.html, item.url, discovery, min_chars=self.min_chars)
        if page is None:
            self.stats.inc_value("extract/no_article")
            self.stats.inc_value(f"source/{item.source}/no_article")
            raise NoArticle(f"no article text in {item.url}")
        self.stats.inc_value("extract/ok")
        meta = page.metadata
        item.title = meta.headline
        item.text = page.text
        item.authors = meta.authors
        item.published = meta.published
        item.published_precision = meta.published_precision
        item.modified = meta.modified
        item.html = ""  # the raw page is not needed past this stage
        return item
