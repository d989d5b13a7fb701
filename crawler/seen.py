"""Spider middleware: never fetch an article newswatch already knows (the shape of scrapy-deltafetch).

An article request (``meta["article"]``) is dropped when its canonical URL is known to the state
store -- under any URL the article was ever known by: the one a feed, sitemap or listing gave, each
redirect hop, the final URL, the page's canonical URL -- or was already requested in this run.

A fetched page whose declared canonical URL is another article this run or an earlier one already has
is not a new story: the analysis stage finds the declaration (:meth:`RunState.known_elsewhere`) and drops
it, and its URLs are committed as aliases, so the next run does not fetch it again.

One exception: an article an earlier run dropped for matching no topic is fetched again when its feed or
sitemap entry now says it was updated after the version that run fetched -- once a run, and at most
``crawl.max_rechecks_per_source`` per source a run. Stories are never fetched again, so an edit to an
alerted story never alerts twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.addon import config_of
from crawler.metadata import to_utc
from crawler.run import RunState, run_state
from crawler.urls import canonical_url

logger = logging.getLogger(__name__)


class SeenUrlsMiddleware:
    def __init__(self, run: RunState, max_rechecks_per_source: int) -> None:
        self.run = run
        self.stats = run.stats
        self.max_rechecks = max_rechecks_per_source
        self._rechecks: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeenUrlsMiddleware:
        return cls(run_state(crawler), config_of(crawler.settings).crawl.max_rechecks_per_source)

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for element in result:
            if isinstance(element, Request) and element.meta.get("article") and self._skip_request(element):
                continue
            yield element

    def _skip_request(self, request: Request) -> bool:
        url = canonical_url(request.url)
        if not self.run.claim_request(url):
            self.stats.inc_value("newswatch/duplicate_link")
            return True
        if self.run.state.is_known_url(url):
            if self._updated_since_dropped(request, url):
                return False
            self.stats.inc_value("newswatch/skipped_known")
            return True
        return False

    def _updated_since_dropped(self, request: Request, url: str) -> bool:
        updated = to_utc(request.meta.get("updated"))
        if updated is None:
            return False
        fetched = self.run.state.recheck_after(url)
        if fetched is None or updated.timestamp() <= fetched:
            return False
        source = str(request.meta.get("source", ""))
        if self._rechecks.get(source, 0) >= self.max_rechecks:
            self.stats.inc_value("newswatch/recheck_deferred")
            return False
        self._rechecks[source] = self._rechecks.get(source, 0) + 1
        self.stats.inc_value("newswatch/rechecked")
        logger.info("[%s] %s: updated since it matched no topic, fetching it again", source, url)
        return True
