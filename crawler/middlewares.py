"""Downloader middlewares: no redirect to another site; robots.txt without a traceback per unreachable host."""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.urls import same_site

logger = logging.getLogger(__name__)


class OffsiteRedirectMiddleware:
    """Sits before Scrapy's RedirectMiddleware (a higher order number sees the response first).

    Feeds legitimately link to another host (``feeds.example.it`` → ``www.example.it``), so the
    check is on redirects only: a 3xx whose target is another site is counted and dropped."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OffsiteRedirectMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in (301, 302, 303, 307, 308) or b"Location" not in response.headers:
            return response
        target = urljoin(request.url, (response.headers.get("Location") or b"").decode("latin-1"))
        # Same registrable domain (http→https, www.→bare) is fine; another site is not.
        if same_site(target, request.url):
            return response
        source = request.meta.get("source", "?")
        stats = self.crawler.stats
        stats.inc_value("newswatch/bad_response/offsite_redirect")
        stats.inc_value(f"source/{source}/errors")
        logger.warning("[%s] %s redirects to another site (%s): not followed", source, request.url,
                       urlsplit(target).netloc)
        raise IgnoreRequest(f"redirect to another site: {urlsplit(target).netloc}")


class _DropRobotsTraceback(logging.Filter):
    """Scrapy logs a failed robots.txt download at ERROR with a full traceback, once per host."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno >= logging.ERROR and str(record.msg).startswith("Error downloading"))


class QuietRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware without the traceback for a host that cannot be reached.

    An unreachable outlet fails its robots.txt and then every request: the spider logs one WARNING
    per source for those; the robots.txt failure is counted by Scrapy (``robotstxt/exception_count/…``)
    and logged here at DEBUG."""

    _filter = _DropRobotsTraceback()

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        robots_logger = logging.getLogger(RobotsTxtMiddleware.__module__)
        if self._filter not in robots_logger.filters:
            robots_logger.addFilter(self._filter)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if not isinstance(exc, IgnoreRequest):
            logger.debug("robots.txt of %s not fetched (%s): its pages are tried as allowed", netloc,
                         type(exc).__name__)
        super()._robots_error(exc, netloc)
