"""Extension: the worker processes that analyse pages, so that the reactor keeps downloading meanwhile.

Extraction, matching, language detection and MinHash are CPU-bound and hold the GIL; run on Twisted's
reactor thread they stall every download. This run-wide resource runs them in a pool of worker
processes (pebble's ``ProcessPool``: a job that overruns its timeout has its worker killed and replaced,
a worker that dies fails only the job it held). ``crawl.workers`` in ``newswatch.yaml`` sets their
number (default: one per core; ``0`` analyses in the crawl's own process) and ``crawl.page_timeout``
the seconds one page may take.

At most ``2 × workers`` pages are in the pool at once: the analysis stage waits for a slot, Scrapy's
scraper counts the waiting responses against ``SCRAPER_SLOT_MAX_ACTIVE_SIZE`` and stops downloading
until the pool catches up, so memory stays flat however fast the outlets answer.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pebble import ProcessExpired, ProcessPool
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.addon import config_of, dedup_params
from crawler.analysis import Analyser, Analysis, Job, init_worker, run_job
from crawler.dedup import Fingerprinter

logger = logging.getLogger(__name__)

# Imported once by the fork server, so each worker starts with the analysis code loaded.
_PRELOAD = ["crawler.analysis"]
#: Pages a worker analyses before a fresh one replaces it. Measured: a worker starts at about 100 MB and
#: grows by 70 MB over its first 1,500 pages (what lxml's trees leave in the allocator), then keeps
#: creeping; a replacement, forked from the fork server with everything imported, costs a few ms.
WORKER_MAX_PAGES = 1000


class AnalysisFailed(Exception):
    """The page's analysis did not finish: its worker died, or it overran the page timeout."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AnalysisPool:
    def __init__(self, crawler: Crawler, analyser: Analyser, workers: int, timeout: float) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.analyser = analyser
        self.workers = workers
        self.timeout = timeout
        self.pool: ProcessPool | None = None
        self._slots: asyncio.Semaphore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AnalysisPool:
        config = config_of(crawler.settings)
        settings = crawler.settings
        analyser = Analyser(
            topics=config.topics,
            fingerprinter=Fingerprinter(dedup_params(settings)),
            min_chars=settings.getint("EXTRACT_MIN_TEXT_CHARS"),
            language_min_chars=settings.getint("LANGUAGE_MIN_TEXT_CHARS"),
        )
        pool = cls(crawler, analyser, config.crawl.workers, config.crawl.page_timeout)
        crawler.signals.connect(pool.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(pool.spider_closed, signal=signals.spider_closed)
        return pool

    def spider_opened(self) -> None:
        self._slots = asyncio.Semaphore(max(1, 2 * self.workers))
        if self.workers <= 0:
            logger.info("Analysis: in the crawl's process (crawl.workers: 0)")
            return
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        self.pool = ProcessPool(max_workers=self.workers, max_tasks=WORKER_MAX_PAGES, initializer=init_worker,
                                initargs=(self.analyser,), context=context)
        logger.info("Analysis: %d worker processes, %.0f s a page at most", self.workers, self.timeout)

    def spider_closed(self) -> None:
        if self.pool is not None:
            # Every page's analysis has been awaited by now: nothing pending is lost.
            self.pool.stop()
            self.pool.join(timeout=10)
            self.pool = None

    async def analyse(self, job: Job) -> Analysis:
        """The page's analysis; :class:`AnalysisFailed` when its worker died or it took too long."""
        if self._slots is None:
            self.spider_opened()
        assert self._slots is not None
        async with self._slots:
            if self.pool is None:
                return self.analyser(job)
            future = self.pool.schedule(run_job, args=(job,), timeout=self.timeout)
            try:
                return await asyncio.wrap_future(future)
            except FutureTimeout:
                self.stats.inc_value("workers/timed_out")
                raise AnalysisFailed("timeout", f"analysis took more than {self.timeout:.0f} s") from None
            except ProcessExpired as exc:
                self.stats.inc_value("workers/died")
                raise AnalysisFailed("worker_died", f"the worker process died (exit code {exc.exitcode})") from None
            except Exception as exc:  # a bug or a page that breaks a library: this page only
                self.stats.inc_value("workers/error")
                raise AnalysisFailed("error", f"{type(exc).__name__}: {exc}"[:300]) from None


def analysis_pool(crawler: Any) -> AnalysisPool:
    try:
        pool = crawler.get_extension(AnalysisPool)
    except RuntimeError:
        pool = None
    if pool is None:
        raise NotConfigured("the analysis pool extension (crawler.pool.AnalysisPool) is not enabled")
    return pool
