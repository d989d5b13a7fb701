"""Several workers, one crawl: scrapy-redis's shared request queue, fitted to newswatch's ticks.

With a Redis state (``state: redis://…``) the add-on installs :class:`SharedScheduler` and
:class:`TickDupeFilter` (see :func:`shared_settings`). Every worker pushes the requests it discovers
to one Redis queue and pops the next one from it, so each page is fetched by one worker.

* The queue persists (``SCHEDULER_PERSIST = True``): scrapy-redis's default wipes it when *any* worker
  closes, taking the other workers' work with it.
* The duplicate filter lives as long as one tick, not forever: a feed, or an article re-checked after
  an update, must be fetched again by a later tick.
* A Redis that goes away is a failed state write (``RunState.fail``): one line, the crawl stops; what was
  committed stays, and what was queued and not fetched is discovered again by the next tick.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from scrapy import Request, Spider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

from crawler.state import StateError, StateWriteError
from crawler.urls import canonical_url

logger = logging.getLogger(__name__)

QUEUE_KEY = "nw:requests"
#: Request meta key: the tick that queued the request.
TICK_META = "nw_tick"


def shared_settings(redis_url: str) -> dict[str, Any]:
    """The Scrapy settings that make this process one worker of a shared crawl."""
    return {
        "SCHEDULER": "crawler.scheduling.SharedScheduler",
        "DUPEFILTER_CLASS": "crawler.scheduling.TickDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": QUEUE_KEY,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "REDIS_URL": redis_url,
    }


def _run(spider: Spider) -> Any:
    from crawler.run import run_state

    return run_state(spider.crawler)


class TickDupeFilter(RFPDupeFilter):
    """scrapy-redis's request filter (its fingerprints), kept in the running tick's set ``dupefilter``."""

    @classmethod
    def from_spider(cls, spider: Spider) -> TickDupeFilter:
        state = _run(spider).shared_state
        dupefilter = cls(None, key=state.tick_key("dupefilter"), debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        dupefilter.state = state
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        return not self.state.tick_add("dupefilter", self.request_fingerprint(request))

    def close(self, reason: str = "") -> None:
        """Kept for the tick's other workers (it expires with the tick's keys)."""


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler; a Redis error stops the run once instead of failing every request.

    Requests carry the tick that queued them. One left in the queue by an earlier tick (its workers died
    or stopped before fetching it) is checked against this tick on the way out: a feed, sitemap or listing
    is dropped (this tick's seeder requests them again), a page this tick already asked for is dropped,
    and any other page is taken as this tick's own."""

    def open(self, spider: Spider) -> None:
        self.run = _run(spider)  # looked up once: every push and pop reads the tick
        super().open(spider)

    def _stale(self, request: Request) -> bool:
        tick = request.meta.get(TICK_META)
        if tick is None or tick == self.run.shared_state.tick:
            return False
        if request.dont_filter or self.df.request_seen(request):
            return True
        if request.meta.get("article") and not self.run.claim_request(canonical_url(request.url)):
            return True
        request.meta[TICK_META] = self.run.shared_state.tick
        return False

    def _failed(self, what: str, exc: Exception) -> None:
        if isinstance(exc, StateError):
            self.run.fail(exc)
        else:
            self.run.fail(StateWriteError(
                f"Redis request queue {self.run.shared_state.where}: {what} failed: {exc}"))

    def enqueue_request(self, request: Request) -> bool:
        request.meta[TICK_META] = self.run.shared_state.tick
        try:
            return bool(super().enqueue_request(request))
        except (RedisError, StateError) as exc:
            self._failed("push", exc)
            return False

    def next_request(self) -> Request | None:
        try:
            while True:
                request: Request | None = super().next_request()
                if request is None or not self._stale(request):
                    return request
                if self.stats:
                    self.stats.inc_value("scheduler/stale_dropped")
        except (RedisError, StateError) as exc:
            self._failed("pop", exc)
            return None

    def has_pending_requests(self) -> bool:
        try:
            return bool(super().has_pending_requests())
        except RedisError as exc:
            self._failed("length", exc)
            return False
