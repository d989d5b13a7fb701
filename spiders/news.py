"""The one spider: discovers article URLs from each configured source's feeds, sitemaps and listings.

Discovery only. The config comes from the add-on (``crawler.addon``), feed validators and the state from
the run extension (``crawler.run``), skipping known articles from the spider middleware (``crawler.seen``),
and everything about an article's text and outcome from the pipelines.
"""

from __future__ import annotations

import calendar
import logging
import struct
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser
from lxml import etree
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotConfigured,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawler.addon import config_of
from crawler.config import Config
from crawler.items import Story
from crawler.metadata import iso_date, to_utc
from crawler.run import RunState, run_state
from crawler.urls import canonical_url, is_http_url

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}

# Exception types -> the reason counted under newswatch/bad_response/<reason>.
_FAILURES: tuple[tuple[tuple[type[BaseException], ...], str, str], ...] = (
    ((TimeoutError, TCPTimedOutError, DownloadTimeoutError), "timeout", "timed out"),
    ((DNSLookupError, CannotResolveHostError), "dns", "DNS lookup failed"),
    ((ConnectionRefusedError, DownloadConnectionRefusedError), "connection_refused", "connection refused"),
    ((DownloadCancelledError,), "too_large", "larger than the download limit"),
)


class NewsSpider(Spider):
    name = "news"

    config: Config
    run: RunState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._warned: set[tuple[str, str]] = set()  # (source, reason) already logged at WARNING

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        # The spider is created before the add-on runs: hand it the command line's -a options.
        sources = str(kwargs.pop("sources", "") or "")
        if sources:
            crawler.settings.set("NEWSWATCH_SOURCES", sources, priority="cmdline")
        if str(kwargs.pop("baseline", "0")).strip().lower() in _TRUE:
            crawler.settings.set("NEWSWATCH_BASELINE", True, priority="cmdline")
        return super().from_crawler(crawler, *args, **kwargs)

    # --- start -----------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        try:
            self.run = run_state(self.crawler)
        except NotConfigured:  # locked out: the run extension has said so
            return
        self.config = config_of(self.crawler.settings)
        if not self.run.seeding:  # a worker joining a running tick: its requests are in the shared queue
            return
        for source in self.config.sources:
            self.crawler.stats.inc_value("newswatch/sources")
            for url in source.feeds:
                yield self._listing_request(url, source.name, self.parse_feed, conditional=True)
            for url in source.sitemaps:
                yield self._listing_request(url, source.name, self.parse_sitemap, conditional=True)
            for index, listing in enumerate(source.listings):
                yield self._listing_request(listing.url, source.name, self.parse_listing,
                                            listing=index, page=1)

    def _listing_request(self, url: str, source: str, callback: Any, conditional: bool = False,
                         **kwargs: Any) -> Request:
        headers = {}
        meta: dict[str, Any] = {"source": source}
        if conditional:
            etag, modified = self.run.validators(url)
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
            meta["handle_httpstatus_list"] = [304]
        self._count(source, "requests")
        return Request(url, callback=callback, errback=self.on_error, headers=headers, meta=meta,
                       cb_kwargs={"source": source, **kwargs}, dont_filter=True)

    def _remember_validators(self, response: Response) -> bool:
        """False for a 304: nothing changed since the last run."""
        if response.status == 304:
            self.crawler.stats.inc_value("newswatch/not_modified")
            return False
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        if etag or modified:
            self.run.remember_validators(_requested_url(response),
                                         etag.decode("latin-1") if etag else None,
                                         modified.decode("latin-1") if modified else None)
        return True

    # --- discovery ---------------------------------------------------------------------------
    def parse_feed(self, response: Response, source: str) -> Iterator[Request]:
        if not self._remember_validators(response):
            return
        parsed = feedparser.parse(response.body, response_headers={"content-location": response.url})
        if parsed.bozo and not parsed.entries:
            self._bad(source, "bad_feed", response.url, f"unreadable feed: {parsed.get('bozo_exception')}")
            return
        for entry in parsed.entries:
            link = entry.get("link")
            if not link or not is_http_url(response.urljoin(link)):
                self._bad(source, "feed_entry_without_link", response.url,
                          f"feed entry {entry.get('title', '')[:80]!r} has no usable link", level=logging.INFO)
                continue
            yield self._article_request(response.urljoin(link), source, _feed_date(entry, "published"),
                                        _requested_url(response), updated=_feed_date(entry, "updated"))

    def parse_sitemap(self, response: Response, source: str, depth: int = 0) -> Iterator[Request]:
        if not self._remember_validators(response):
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            except ValueError:  # past max_size
                self._bad(source, "too_large", response.url, "gzip sitemap inflates past the download limit")
                return
            except (OSError, EOFError, struct.error):
                self._bad(source, "bad_sitemap", response.url, "corrupt gzip sitemap")
                return
        try:
            root = etree.fromstring(body, parser=etree.XMLParser(recover=True, resolve_entities=False,
                                                                 no_network=True))
        except etree.XMLSyntaxError as exc:
            self._bad(source, "bad_sitemap", response.url, f"unreadable sitemap: {exc}")
            return
        if root is None:
            self._bad(source, "bad_sitemap", response.url, "empty or unreadable sitemap")
            return
        if etree.QName(root).localname == "sitemapindex":
            if depth < 2:
                for loc in root.xpath("./*[local-name()='sitemap']/*[local-name()='loc']/text()"):
                    yield self._listing_request(response.urljoin(loc.strip()), source, self.parse_sitemap,
                                                depth=depth + 1)
            return
        horizon = datetime.now(UTC) - timedelta(days=self.config.crawl.sitemap_max_age_days)
        for entry in root.xpath("./*[local-name()='url']"):
            loc = "".join(entry.xpath("./*[local-name()='loc']/text()")).strip()
            if not loc:
                continue
            # A Google News sitemap's publication date; the plain sitemap's lastmod says when it last changed.
            published = iso_date("".join(entry.xpath(".//*[local-name()='publication_date']/text()")[:1]))
            updated = iso_date("".join(entry.xpath("./*[local-name()='lastmod']/text()")[:1]))
            newest = to_utc(updated or published)
            if newest is not None and newest < horizon:
                self.crawler.stats.inc_value("newswatch/sitemap_too_old")
                continue
            yield self._article_request(response.urljoin(loc), source, published, _requested_url(response),
                                        updated=updated)

    def parse_listing(self, response: Response, source: str, listing: int, page: int) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            self._bad(source, "not_html", response.url, "listing page is not HTML")
            return
        spec = self.config.source(source).listings[listing]
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            if is_http_url(url) and spec.follow.search(urlsplit(url).path):
                yield self._article_request(url, source, None)
        if page < spec.max_pages:
            nxt = response.css('link[rel~="next"]::attr(href), a[rel~="next"]::attr(href)').get()
            if nxt:
                yield self._listing_request(response.urljoin(nxt), source, self.parse_listing,
                                            listing=listing, page=page + 1)

    def _article_request(self, url: str, source: str, published: str | None,
                         origin: str | None = None, updated: str | None = None) -> Request:
        """An article request; the seen-URL middleware drops it when the article is known (and not
        updated since a run dropped it for matching no topic)."""
        self._count(source, "requests")
        return Request(canonical_url(url), callback=self.parse_article, errback=self.on_error,
                       meta={"source": source, "origin": origin, "article": True, "updated": updated},
                       cb_kwargs={"source": source, "published": published, "updated": updated})

    # --- articles ----------------------------------------------------------------------------
    def parse_article(self, response: Response, source: str, published: str | None,
                      updated: str | None = None) -> Iterator[Story]:
        # The discovered URL, each redirect hop and the final URL: the next run must skip all of them.
        fetched = [canonical_url(u) for u in [*response.meta.get("redirect_urls", []), response.url]]
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
        story = Story(url=fetched[-1], source=source, source_language=self.config.source(source).language,
                      discovered_published=published, discovered_updated=updated, fetched_urls=fetched,
                      fetched_at=datetime.now(UTC).isoformat(timespec="seconds"))
        if not isinstance(response, TextResponse) or ("html" not in content_type and content_type):
            story.not_html = content_type or "no type"
            self._bad(source, "not_html", response.url, f"not an HTML page ({story.not_html})", level=logging.INFO)
        else:
            # The bytes as they came: the analysis stage parses them once, in a worker process (and finds
            # the page's canonical URL there); decoding them here would cost the reactor's thread.
            story.body = response.body
            story.encoding = response.encoding
            self.crawler.stats.inc_value("newswatch/articles_fetched")
            self._count(source, "articles")
        yield story

    def on_error(self, failure: Failure) -> None:
        request: Request = failure.request  # type: ignore[attr-defined]  # Scrapy sets it on an errback's failure
        source = request.meta.get("source", "?")
        if request.meta.get("origin") and not failure.check(IgnoreRequest):
            # Keep the feed "changed" for the next run, or a 304 would hide this article from it.
            # (Robots.txt and offsite refusals are final: no point in coming back for those.)
            self.run.feed_incomplete(request.meta["origin"])
        if failure.check(HttpError):
            status = failure.value.response.status
            level = logging.INFO if status in (404, 410) else logging.WARNING
            self._bad(source, f"http_{status}", request.url, f"HTTP {status}", level=level)
            return
        if failure.check(IgnoreRequest):
            # Offsite redirects and robots.txt: already counted by the middleware that refused them.
            logger.debug("Not fetched %s: %s", request.url, failure.value)
            return
        for types, reason, message in _FAILURES:
            if failure.check(*types):
                self._bad(source, reason, request.url, message)
                return
        reason = type(failure.value).__name__
        self._bad(source, reason, request.url, str(failure.value).splitlines()[0][:200] if str(failure.value)
                  else reason)

    # --- bookkeeping -----------------------------------------------------------------------------
    def _count(self, source: str, what: str) -> None:
        self.crawler.stats.inc_value(f"source/{source}/{what}")

    def _bad(self, source: str, reason: str, url: str, message: str, level: int = logging.WARNING) -> None:
        """Count a bad response; a WARNING once per source and reason in a run, the rest at INFO.

        An unreachable outlet fails every request: one line says it, the end-of-run summary has the count."""
        self.crawler.stats.inc_value(f"newswatch/bad_response/{reason}")
        self._count(source, "errors")
        if level >= logging.WARNING:
            if (source, reason) in self._warned:
                level = logging.INFO
            self._warned.add((source, reason))
        logger.log(level, "[%s] %s: %s", source, url, message)


def _feed_date(entry: Any, field: str) -> str | None:
    """The entry's ``published`` or ``updated`` as the feed wrote it (its offset kept), else feedparser's UTC
    reading of it (``dc:date`` and other spellings land in the same two fields)."""
    # dict's own lookups: feedparser maps a missing "updated" to "published" with a DeprecationWarning.
    raw = iso_date(dict.get(entry, field))
    if raw:
        return raw
    stamp = dict.get(entry, f"{field}_parsed")
    return datetime.fromtimestamp(calendar.timegm(stamp), UTC).isoformat() if stamp else None


def _requested_url(response: Response) -> str:
    """The URL that was asked for, before any redirect: the key a feed's or sitemap's validators and
    incomplete marks are kept under."""
    return response.request.url if response.request is not None else response.url
