"""The run extension: what one ``scrapy crawl news`` holds from start to end.

Built by Scrapy before the engine, so before any pipeline, middleware or request:

* takes the run lock (before the state file is even opened: two first runs at once cannot both
  create it); a locked-out run does nothing and exits 0;
* opens the state store (a corrupt or unreadable file ends the process with one line, exit 2) and
  prunes what is past retention;
* keeps the feed validators (ETag / Last-Modified) this run saw, and stores them only when the run
  finished, and not for a feed with an article that failed (a 304 would hide it from the next run);
* records a fatal write failure (disk full, I/O error): one CRITICAL line, the crawl is stopped, and
  ``scrapy crawl`` exits non-zero (see ``crawler/commands/crawl.py``);
* closes the store last: at ``spider_closed``, which Scrapy sends after every pipeline has closed (not at
  ``engine_stopped``: a SIGTERM while the spider closes fires that one while the alert stage still drains).

With a Redis state (several workers, see ``crawler/redis_state.py``) there is no run lock: the run joins
the running *tick* or starts one (and then seeds it: only the tick's first worker requests the feeds,
sitemaps and listings), renews its liveness every second, and stays open while the shared queue holds
requests or another worker is busy; it closes after ``crawl.idle_close`` seconds with nothing to do.

Components reach it with :func:`run_state`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task
from twisted.internet.defer import Deferred

from crawler.addon import config_of, stop
from crawler.config import Config, mask_url
from crawler.state import RunLock, StateError, StateStore, default_worker, open_state

if TYPE_CHECKING:
    from crawler.redis_state import RedisState

logger = logging.getLogger(__name__)

#: Stats key set when a write failed; ``scrapy crawl`` then exits with :data:`FATAL_EXIT`.
FATAL_STAT = "newswatch/fatal"
FATAL_EXIT = 3
#: Seconds between a shared-state worker's liveness renewals (and busy reports).
HEARTBEAT_SECONDS = 1.0


class RunState:
    def __init__(self, crawler: Crawler, config: Config, baseline: bool) -> None:
        self.crawler = crawler
        self.config = config
        self.baseline = baseline
        self.stats = crawler.stats
        self.fatal: str | None = None
        self._validators: dict[str, tuple[str | None, str | None]] = {}
        self._incomplete: set[str] = set()
        # Canonical URLs of the articles requested (or fetched under another URL) in this run.
        self.requested: set[str] = set()
        self.worker = default_worker()
        # The tick's first worker seeds it; a worker joining a running tick takes requests from the queue.
        self.seeding = True
        self._idle_since: float | None = None
        self._beat: task.LoopingCall | None = None
        self._lock = RunLock(config.state)
        self._state: StateStore | None = None
        try:
            if config.redis_url is not None:
                self.locked_out = False
                self._state = open_state(config.redis_url, worker=self.worker,
                                         retention_days=config.retention_days, lease=config.crawl.lease)
                self.seeding = self.shared_state.join_tick()
                logger.info("Worker %s %s tick on %s", self.worker,
                            "starts a" if self.seeding else "joins the running", mask_url(config.redis_url))
            else:
                self.locked_out = not self._lock.acquire()
                if not self.locked_out:
                    self._state = open_state(config.state)
        except StateError as exc:
            self._lock.release()
            stop(f"State error: {exc}")
        if self.locked_out:
            logger.warning("Another newswatch run is using %s; this run exits without doing anything.",
                           config.state)
            self.stats.set_value("newswatch/locked_out", 1)
            return
        try:
            removed = self.state.prune(config.retention_days)
        except StateError as exc:
            self.fail(exc)
        else:
            if removed:
                logger.info("Pruned %d state rows older than %d days", removed, config.retention_days)
        if baseline:
            logger.info("Baseline run: stories are recorded and archived, no alert is sent")
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self._engine_stopped, signal=signals.engine_stopped)
        if self.shared:
            crawler.signals.connect(self._spider_idle, signal=signals.spider_idle)
        self._opened = False
        self._closed: Deferred[None] = Deferred()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunState:
        return cls(crawler, config_of(crawler.settings), crawler.settings.getbool("NEWSWATCH_BASELINE"))

    @property
    def holding_state(self) -> bool:
        """The store is still open: the spider never closed (a forced stop)."""
        return self._state is not None

    @property
    def shared(self) -> bool:
        """Several workers share this run's state (Redis)."""
        return self.config.redis_url is not None

    @property
    def shared_state(self) -> RedisState:
        """The state as the Redis store it is in a shared run (ticks, leases, per-tick sets)."""
        return cast("RedisState", self.state)

    @property
    def state(self) -> StateStore:
        if self._state is None:
            raise NotConfigured("another newswatch run holds the state lock")
        return self._state

    # -- feed validators ----------------------------------------------------------------------
    def validators(self, url: str) -> tuple[str | None, str | None]:
        return self.state.get_validators(url)

    def remember_validators(self, url: str, etag: str | None, modified: str | None) -> None:
        """Kept in memory: stored only when the run finishes, so a crashed run sees the feed as new."""
        self._validators[url] = (etag, modified)

    def feed_incomplete(self, url: str) -> None:
        """An article of this feed failed: keep the feed "changed" for the next run (in a shared state,
        for every worker of the tick: the feed's worker stores its validators)."""
        self._incomplete.add(url)
        if self.shared:
            try:
                self.shared_state.tick_add("incomplete", url)
            except StateError as exc:
                self.fail(exc)

    def claim_request(self, url: str) -> bool:
        """True the first time this run -- in a shared state, any worker of the tick -- asks for the
        article at canonical *url*; a later link to it is a duplicate link."""
        if url in self.requested:
            return False
        self.requested.add(url)
        if self.shared:
            try:
                return self.shared_state.tick_add("requested", url)
            except StateError as exc:
                self.fail(exc)
                return False
        return True

    # -- failure --------------------------------------------------------------------------------
    def fail(self, exc: BaseException) -> None:
        """A write failed: say so once, stop the crawl, and make the process exit non-zero.

        Nothing is lost: what was not committed is done again by the next run, what was committed
        and not yet archived or sent is finished by it."""
        if self.fatal is None:
            self.fatal = str(exc) or type(exc).__name__
            logger.critical("Stopping: %s. Nothing committed is lost; the next run finishes the work.",
                            self.fatal)
            self.stats.set_value(FATAL_STAT, self.fatal)
            engine = self._engine()
            if engine is not None and engine.running:
                deferred_from_coro(engine.close_spider_async(reason="state_write_failed"))

    def stopping(self) -> bool:
        """True once the run is ending early: a failed write, or the first SIGTERM/SIGINT (which stops the
        engine before the spider closes; a crawl that finished keeps it running until then)."""
        if self.fatal:
            return True
        engine = self._engine()
        return engine is not None and not engine.running

    def _engine(self) -> Any:
        try:
            return self.crawler.engine
        except RuntimeError:  # not crawling: a component built on its own (tools, tests)
            return None

    # -- end of run -----------------------------------------------------------------------------
    def _spider_opened(self, spider: Spider) -> None:
        self._opened = True
        if self.shared:
            self._beat = task.LoopingCall(self._heartbeat)
            self._beat.start(HEARTBEAT_SECONDS, now=False)

    # -- several workers --------------------------------------------------------------------------------
    def _busy(self) -> bool:
        engine = self._engine()
        try:
            return engine is not None and not engine.spider_is_idle()
        except RuntimeError:  # the engine's slot is gone: closing
            return False

    def _heartbeat(self) -> None:
        if self._state is None or self.fatal:
            return
        busy = self._busy()
        try:
            self.shared_state.heartbeat(busy)
        except StateError as exc:
            self.fail(exc)
            return
        if not busy:
            self._wake()

    def _wake(self) -> None:
        """An idle engine looks at its scheduler (and asks whether to close) only every 5 s, on its own
        heartbeat: requests other workers pushed to the shared queue meanwhile are taken, and the idle
        close is decided, within a second instead."""
        nextcall = getattr(getattr(self._engine(), "_slot", None), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def _spider_idle(self, spider: Spider) -> None:
        """Idle with a shared queue: stay while another worker may still discover requests; close after
        ``crawl.idle_close`` seconds of nothing anywhere (scrapy-redis's MAX_IDLE_TIME_BEFORE_CLOSE)."""
        if self.fatal or self._state is None:
            return
        try:
            busy = self.shared_state.others_busy(3 * HEARTBEAT_SECONDS)
        except StateError as exc:
            self.fail(exc)
            return
        now = time.monotonic()
        if busy:
            self._idle_since = None
            raise DontCloseSpider
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.config.crawl.idle_close:
            raise DontCloseSpider
        logger.info("Worker %s: nothing to do for %.0f s, closing", self.worker, now - self._idle_since)

    def _spider_closed(self, spider: Spider, reason: str) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        try:
            if reason == "finished" and not self.fatal:
                incomplete = set(self._incomplete)
                if self.shared and self._validators:
                    incomplete |= self.shared_state.tick_members("incomplete")
                for url, (etag, modified) in self._validators.items():
                    if url not in incomplete:
                        self.state.set_validators(url, etag, modified)
        except StateError as exc:
            self.fail(exc)
        finally:
            self._close()

    def _engine_stopped(self) -> Deferred[None] | None:
        if not self._opened:  # the spider never opened (a start-up failure): nothing else will close it
            self._close()
            return None
        if self._state is None:
            return None
        # A SIGTERM while the spider was already closing: Scrapy stops the engine without waiting for the
        # pipelines (the alert stage may be finishing a send). Hold the stop until the spider has closed,
        # or the process would exit under a send in flight and leave its outcome unrecorded.
        return self._closed

    def _close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None
        self._lock.release()
        if not self._closed.called:
            self._closed.callback(None)


    def known_elsewhere(self, story: Any) -> bool:
        """The page declared as canonical (``story.url``) another article: one the state knows, or one
        already requested in this run. Otherwise that URL is claimed for this page, so a later link to
        it is a duplicate link."""
        if story.url in story.fetched_urls:
            return False
        if story.url not in self.requested and not self.state.is_known_url(story.url):
            return not self.claim_request(story.url)
        return True

def run_state(crawler: Any) -> RunState:
    """The crawl's :class:`RunState`; ``NotConfigured`` when it is missing or this run is locked out,
    so a component that needs the state switches itself off."""
    try:
        run = crawler.get_extension(RunState)
    except RuntimeError:  # no extension manager yet
        run = None
    if run is None:
        raise NotConfigured("the newswatch run extension (crawler.run.RunState) is not enabled")
    if run.locked_out:
        raise NotConfigured("another newswatch run holds the state lock")
    return run
