"""Stage 100: what the page is, decided in the pool's worker processes (:mod:`crawler.analysis`).

The stage sends the fetched bytes to the pool (:mod:`crawler.pool`) and waits for the verdict without
holding the reactor: the prefilter on the page without its chrome, then the body and metadata, the
topic rules, and for a matching story its language and fingerprint. Each expected outcome short of a
story is a typed, quiet drop; the commit stage still records the page's URLs, so no later run fetches
it again (a page whose analysis failed is the exception: the next run tries it again).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from scrapy.crawler import Crawler

from crawler.addon import config_of
from crawler.analysis import MATCHED, NO_ARTICLE, NO_TOPIC, SKIPPED, Job
from crawler.items import QuietDrop, Story
from crawler.metadata import Discovery
from crawler.pool import AnalysisFailed, AnalysisPool, analysis_pool
from crawler.run import RunState, run_state
from crawler.urls import choose_canonical

logger = logging.getLogger(__name__)


class NotHtml(QuietDrop):
    """The response was not an HTML page (a PDF, an image): logged and counted by the spider."""

    level = "DEBUG"


class CannotMatch(QuietDrop):
    """Outside the site's chrome, the page holds none of the watched terms: not worth extracting."""

    level = "DEBUG"
    recheck = True  # an update may add one


class NoArticle(QuietDrop):
    """trafilatura found no article on the page (an index, a gallery, an error page)."""

    level = "INFO"


class NoTopic(QuietDrop):
    """The story mentions no watched topic: not archived, not alerted (re-checked if it is updated)."""

    level = "DEBUG"
    recheck = True


class DuplicateLink(QuietDrop):
    """The page declares as canonical another article, known or already fetched in this run."""

    level = "DEBUG"


class NotAnalysed(QuietDrop):
    """The page's analysis failed (its worker died or overran ``crawl.page_timeout``): the next run tries
    it again, so its URLs are not committed."""

    level = "DEBUG"
    commit_urls = False


class AnalysePipeline:
    def __init__(self, crawler: Crawler, pool: AnalysisPool, run: RunState) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.pool = pool
        self.run = run
        self.zones: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AnalysePipeline:
        return cls(crawler, analysis_pool(crawler), run_state(crawler))

    def open_spider(self) -> None:
        self.zones = {source.name: source.timezone for source in config_of(self.crawler.settings).sources}

    async def process_item(self, item: Story) -> Story:
        if item.not_html:
            raise NotHtml(f"not an HTML page: {item.url}")
        job = Job(url=item.url, body=item.body, encoding=item.encoding, language_hint=item.source_language,
                  discovery=Discovery(source_name=item.source, timezone=self.zones.get(item.source),
                                      feed_published=item.discovered_published,
                                      feed_updated=item.discovered_updated))
        item.body = b""  # the raw page is not needed past this stage
        try:
            result = await self.pool.analyse(job)
        except AnalysisFailed as exc:
            self.stats.inc_value(f"source/{item.source}/errors")
            logger.warning("[%s] %s: analysis failed, %s (tried again next run)", item.source, item.url, exc)
            raise NotAnalysed(f"analysis failed ({exc.reason}): {item.url}") from None

        canonical = choose_canonical(item.url, result.canonical)
        if canonical != item.url:
            item = replace(item, url=canonical, story_id="")
            if self.run.known_elsewhere(item):
                self.stats.inc_value("newswatch/duplicate_link")
                raise DuplicateLink(f"{item.fetched_urls[-1]} is {item.url}, already known")
        if result.outcome == SKIPPED:
            self.stats.inc_value("prefilter/skipped")
            raise CannotMatch(f"no watched term in {item.url}")
        if result.outcome == NO_ARTICLE:
            self.stats.inc_value("extract/no_article")
            self.stats.inc_value(f"source/{item.source}/no_article")
            raise NoArticle(f"no article text in {item.url}")
        self.stats.inc_value("extract/ok")
        meta = result.metadata
        if meta is not None:
            item.title = meta.headline
            item.authors = meta.authors
            item.published = meta.published
            item.published_precision = meta.published_precision
            item.modified = meta.modified
        if result.outcome == NO_TOPIC:
            self.stats.inc_value("topics/no_match")
            raise NoTopic(f"no watched topic in {item.url}")
        assert result.outcome == MATCHED
        item.text = result.text
        item.matches = result.matches
        item.topics = list(dict.fromkeys(m["topic"] for m in result.matches))
        item.language = result.language
        item.text_fingerprint = result.fingerprint
        item.text_evidence = result.evidence
        self.stats.inc_value("topics/matched")
        for topic in item.topics:
            self.stats.inc_value(f"topics/{topic}")
        self.stats.inc_value(f"language/{item.language}")
        if result.language_how == "hint":
            self.stats.inc_value("language/from_hint")
        return item
