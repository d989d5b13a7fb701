"""The one spider: discovers article URLs from each configured source's feeds, sitemaps and
listings, and fetches every article once. Discovery only: article text is the pipelines' job."""

from __future__ import annotations

import gzip
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn
from urllib.parse import urlsplit

import feedparser
from lxml import etree
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TimeoutError, TCPTimedOutError
from twisted.python.failure import Failure

from crawler.config import Config, ConfigError, config_for
from crawler.extraction import iso_date
from crawler.items import Story
from crawler.state import StateError, StateStore, state_for
from crawler.urls import canonical_url, choose_canonical, declared_canonical, is_http_url

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in _TRUE


class NewsSpider(Spider):
    name = "news"

    config: Config
    state: StateStore

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "NewsSpider":
        try:
            config = config_for(crawler)
        except ConfigError as exc:
            _stop(f"Configuration error: {exc}")
        wanted = [s.strip() for s in str(kwargs.pop("sources", "") or "").split(",") if s.strip()]
        known = {s.name for s in config.sources}
        for name in wanted:
            if name not in known:
                _stop(f"Configuration error: {config.path}: -a sources: unknown source {name!r} "
                      f"(known: {', '.join(sorted(known))})")
        baseline = _flag(kwargs.pop("baseline", "0"))
        s = crawler.settings
        # Settings are still mutable here (Scrapy freezes them right after the spider is created).
        s.set("NEWSWATCH_STATE_PATH", str(config.state), priority="spider")
        s.set("NEWSWATCH_ARCHIVE_PATH", str(config.archive), priority="spider")
        s.set("NEWSWATCH_BASELINE", baseline, priority="spider")
        s.set("DEDUP_THRESHOLD", config.dedup.threshold, priority="spider")
        s.set("DEDUP_NUM_PERM", config.dedup.num_perm, priority="spider")
        s.set("DEDUP_SHINGLES", config.dedup.shingles, priority="spider")
        s.set("DOWNLOAD_TIMEOUT", config.crawl.download_timeout, priority="spider")
        s.set("DOWNLOAD_MAXSIZE", config.crawl.max_page_bytes, priority="spider")
        s.set("CONCURRENT_REQUESTS_PER_DOMAIN", config.crawl.concurrent_per_domain, priority="spider")
        s.set("ROBOTSTXT_OBEY", config.crawl.obey_robots, priority="spider")
        if config.crawl.user_agent:
            s.set("USER_AGENT", config.crawl.user_agent, priority="spider")
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = config
        spider.baseline = baseline
        spider.sources = [src for src in config.sources if src.enabled and (not wanted or src.name in wanted)]
        try:
            spider.state = state_for(crawler)
        except StateError as exc:
            _stop(f"State error: {exc}")
        spider.locked_out = not spider.state.acquire_lock()
        spider._seen: set[str] = set()
        spider._validators: dict[str, tuple[str | None, str | None]] = {}
        spider._incomplete: set[str] = set()  # feeds/sitemaps with an article that failed this run
        crawler.signals.connect(spider._item_done, signal=signals.item_scraped)
        crawler.signals.connect(spider._item_done, signal=signals.item_dropped)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    # --- start -----------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        if self.locked_out:
            logger.warning("Another newswatch run is using %s; this run exits without doing anything.",
                           self.config.state)
            self.crawler.stats.set_value("newswatch/locked_out", 1)
            return
        removed = self.state.prune(self.config.retention_days)
        if removed:
            logger.info("Pruned %d state rows older than %d days", removed, self.config.retention_days)
        if self.baseline:
            logger.info("Baseline run: stories are recorded and archived, no alert is sent")
        for source in self.sources:
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
            etag, modified = self.state.get_validators(url)
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
            # Stored only when the run finishes: a crashed run must see the feed as new next time.
            self._validators[response.request.url] = (
                etag.decode("latin-1") if etag else None,
                modified.decode("latin-1") if modified else None,
            )
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
            published = None
            if entry.get("published_parsed") or entry.get("updated_parsed"):
                stamp = entry.get("published_parsed") or entry.get("updated_parsed")
                published = datetime(*stamp[:6], tzinfo=timezone.utc).isoformat()
            yield from self._article_request(response.urljoin(link), source, published, response.request.url)

    def parse_sitemap(self, response: Response, source: str, depth: int = 0) -> Iterator[Request]:
        if not self._remember_validators(response):
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError):
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
        horizon = datetime.now(timezone.utc) - timedelta(days=self.config.crawl.sitemap_max_age_days)
        for entry in root.xpath("./*[local-name()='url']"):
            loc = "".join(entry.xpath("./*[local-name()='loc']/text()")).strip()
            if not loc:
                continue
            # A Google News sitemap's publication date, else the plain sitemap's lastmod.
            dates = entry.xpath(".//*[local-name()='publication_date']/text()") or \
                entry.xpath("./*[local-name()='lastmod']/text()")
            published = iso_date(dates[0]) if dates else None
            if published and _as_utc(published) < horizon:
                self.crawler.stats.inc_value("newswatch/sitemap_too_old")
                continue
            yield from self._article_request(response.urljoin(loc), source, published, response.request.url)

    def parse_listing(self, response: Response, source: str, listing: int, page: int) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            self._bad(source, "not_html", response.url, "listing page is not HTML")
            return
        spec = self.config.source(source).listings[listing]
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            if is_http_url(url) and spec.follow.search(urlsplit(url).path):
                yield from self._article_request(url, source, None)
        if page < spec.max_pages:
            nxt = response.css('link[rel~="next"]::attr(href), a[rel~="next"]::attr(href)').get()
            if nxt:
                yield self._listing_request(response.urljoin(nxt), source, self.parse_listing,
                                            listing=listing, page=page + 1)

    def _article_request(self, url: str, source: str, published: str | None,
                         origin: str | None = None) -> Iterator[Request]:
        url = canonical_url(url)
        if url in self._seen:
            self.crawler.stats.inc_value("newswatch/duplicate_link")
            return
        self._seen.add(url)
        if self.state.is_known_url(url):
            self.crawler.stats.inc_value("newswatch/skipped_known")
            return
        self._count(source, "requests")
        yield Request(url, callback=self.parse_article, errback=self.on_error,
                      meta={"source": source, "origin": origin},
                      cb_kwargs={"source": source, "published": published})

    # --- articles ----------------------------------------------------------------------------
    def parse_article(self, response: Response, source: str, published: str | None) -> Iterator[Story]:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
        if not isinstance(response, TextResponse) or ("html" not in content_type and content_type):
            self._bad(source, "not_html", response.url, f"not an HTML page ({content_type or 'no type'})",
                      level=logging.INFO)
            self._mark_known(response, source)
            return
        url = choose_canonical(response.url, declared_canonical(response.selector))
        if url != canonical_url(response.request.url) and (url in self._seen or self.state.is_known_url(url)):
            self.crawler.stats.inc_value("newswatch/duplicate_link")
            self._mark_known(response, source)
            return
        self._seen.add(url)
        self.crawler.stats.inc_value("newswatch/articles_fetched")
        self._count(source, "articles")
        story = Story(
            url=url,
            source=source,
            source_language=self.config.source(source).language,
            html=response.text,
            fetched_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            published=published,
        )
        story.fetched_url = response.request.url
        yield story

    def on_error(self, failure: Failure) -> None:
        request = failure.request
        source = request.meta.get("source", "?")
        if request.meta.get("origin") and not failure.check(IgnoreRequest):
            # Keep the feed "changed" for the next run, or a 304 would hide this article from it.
            # (Robots.txt and offsite refusals are final: no point in coming back for those.)
            self._incomplete.add(request.meta["origin"])
        if failure.check(HttpError):
            status = failure.value.response.status
            level = logging.INFO if status in (404, 410) else logging.WARNING
            self._bad(source, f"http_{status}", request.url, f"HTTP {status}", level=level)
        elif failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
            self._bad(source, "timeout", request.url, "timed out")
        elif failure.check(DNSLookupError, CannotResolveHostError):
            self._bad(source, "dns", request.url, "DNS lookup failed")
        elif failure.check(ConnectionRefusedError, DownloadConnectionRefusedError):
            self._bad(source, "connection_refused", request.url, "connection refused")
        elif failure.check(IgnoreRequest):
            # Offsite redirects and robots.txt: already counted by the middleware that refused them.
            logger.debug("Not fetched %s: %s", request.url, failure.value)
        else:
            reason = type(failure.value).__name__
            if "Cancel" in reason or "maxsize" in str(failure.value).lower():
                reason = "too_large"
            self._bad(source, reason, request.url, str(failure.value) or reason)

    # --- bookkeeping -----------------------------------------------------------------------------
    def _count(self, source: str, what: str) -> None:
        self.crawler.stats.inc_value(f"source/{source}/{what}")

    def _bad(self, source: str, reason: str, url: str, message: str, level: int = logging.WARNING) -> None:
        self.crawler.stats.inc_value(f"newswatch/bad_response/{reason}")
        self._count(source, "errors")
        logger.log(level, "[%s] %s: %s", source, url, message)

    def _mark_known(self, response: Response, source: str) -> None:
        self.state.mark_url(canonical_url(response.request.url), source)

    def _item_done(self, item: Any, **kwargs: Any) -> None:
        """An article went through the pipelines (kept or dropped): never fetch it again."""
        if isinstance(item, Story):
            self.state.mark_url(item.url, item.source)
            fetched = item.fetched_url
            if fetched and canonical_url(fetched) != item.url:
                self.state.mark_url(canonical_url(fetched), item.source)

    def _closed(self, spider: Spider, reason: str) -> None:
        if self.locked_out:
            return
        if reason == "finished":
            for url, (etag, modified) in self._validators.items():
                if url not in self._incomplete:
                    self.state.set_validators(url, etag, modified)
        self.state.release_lock()


def _stop(message: str) -> NoReturn:
    """End the process before any request: one clear line, no traceback, exit status 2.

    Scrapy would report an exception raised here as an unretrieved task error with a full
    traceback, burying the one line the user needs."""
    logger.critical(message)
    raise SystemExit(2)


def _as_utc(iso: str) -> datetime:
    value = datetime.fromisoformat(iso)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
