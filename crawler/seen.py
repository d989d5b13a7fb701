"""Spider middleware: never fetch an article newswatch already knows (the shape of scrapy-deltafetch).

An article request (``meta["article"]``) is dropped when its canonical URL is known to the state
store -- under any URL the article was ever known by: the one a feed, sitemap or listing gave, each
redirect hop, the final URL, the page's canonical URL -- or was already requested in this run.

A fetched page whose declared canonical URL is another article this run or an earlier one already has
is not a new story: its URLs are committed as aliases (so the next run does not fetch it again), and
the item goes no further.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.items import Story
from crawler.run import RunState, run_state
from crawler.state import ArticleCommit, StateError
from crawler.urls import canonical_url

logger = logging.getLogger(__name__)


class SeenUrlsMiddleware:
    def __init__(self, run: RunState) -> None:
        self.run = run
        self.stats = run.stats
        self._requested: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SeenUrlsMiddleware":
        return cls(run_state(crawler))

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for element in result:
            if isinstance(element, Request) and element.meta.get("article"):
                if self._skip_request(element):
                    continue
            elif isinstance(element, Story) and self._known_story(element):
                continue
            yield element

    def _skip_request(self, request: Request) -> bool:
        url = canonical_url(request.url)
        if url in self._requested:
            self.stats.inc_value("newswatch/duplicate_link")
            return True
        self._requested.add(url)
        if self.run.state.is_known_url(url):
            self.stats.inc_value("newswatch/skipped_known")
            return True
        return False

    def _known_story(self, story: Story) -> bool:
        """The page declared a canonical URL that is another article, known or requested in this run."""
        if story.url in story.fetched_urls:
            return False
        if story.url not in self._requested and not self.run.state.is_known_url(story.url):
            self._requested.add(story.url)  # a later link to it is a duplicate link
            return False
        self.stats.inc_value("newswatch/duplicate_link")
        try:
            self.run.state.commit(ArticleCommit(source=story.source, urls=story.aliases))
        except StateError as exc:
            self.run.fail(exc)
        return True
