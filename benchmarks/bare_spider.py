"""The baseline of the crawl benchmark: Scrapy alone, reading the same sitemap, doing nothing with a page.

Run by ``benchmarks.crawl`` with ``scrapy runspider`` outside the project (no add-on, no pipelines) and the
same concurrency settings as ``scrapy crawl news``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from scrapy import Request, Spider
from scrapy.http import Response


class BareSpider(Spider):
    name = "bare"

    def __init__(self, sitemap: str = "", stats: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sitemap = sitemap
        self.stats_path = stats

    async def start(self) -> AsyncIterator[Request]:
        yield Request(self.sitemap, callback=self.parse_sitemap)

    def parse_sitemap(self, response: Response) -> Any:
        root = etree.fromstring(response.body)
        for loc in root.xpath("./*[local-name()='url']/*[local-name()='loc']/text()"):
            yield Request(loc.strip(), callback=self.parse_article)

    def parse_article(self, response: Response) -> None:
        return None

    def closed(self, reason: str) -> None:
        if self.stats_path:
            with open(self.stats_path, "w", encoding="utf-8") as out:
                json.dump({**self.crawler.stats.get_stats(), "finish_time": datetime.now(UTC)}, out,
                          default=str)
