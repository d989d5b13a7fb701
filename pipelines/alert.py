"""Stage 6: announce each new story once per alert target, through the durable outbox.

* ``open_spider``: quiet the loggers that print secrets, apply ``NEWSWATCH_SLACK_WEBHOOK_URL``, and start sending
  what earlier runs left pending — before any new story (one worker thread per target keeps that order).
* ``process_item``: for a story that matched topics, is not a duplicate and is not from a baseline run, record one
  pending delivery per interested target (committed before any send) and hand instant deliveries to the target's
  worker thread. The item goes on at once; sending never blocks the reactor.
* ``close_spider``: wait for the instant sends, send each target's digest (digest mode, or the stories past
  ``max_per_run``), then the health alerts, and set ``alerts/pending``.

What is still pending at the end (the service was down through all retries) is sent by the next run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import is_asyncio_available

from crawler.alerts.delivery import (
    AlertTargetLike,
    AlertConfigError,
    Channel,
    Job,
    JobResult,
    Outbox,
    apply_slack_webhook_override,
    quiet_secret_loggers,
    send_with_retries,
)
from crawler.alerts.formatters import format_text_block
from crawler.alerts.health import Problem, check_health, record_notified
from crawler.items import ARCHIVE_FIELDS

logger = logging.getLogger(__name__)


def _record_of(item: Any) -> dict[str, Any]:
    if hasattr(item, "record"):
        return dict(item.record())
    from itemadapter import ItemAdapter

    adapter = ItemAdapter(item)
    return {name: adapter.get(name) for name in ARCHIVE_FIELDS}


class AlertPipeline:
    def __init__(
        self,
        targets: Sequence[AlertTargetLike],
        health_targets: Sequence[AlertTargetLike],
        state: Any,
        stats: Any,
        retries: int = 3,
        backoff: float = 1.0,
        baseline: bool = False,
        *,
        sources: Sequence[str] = (),
        stale_days: float = 3.0,
        extract_failure_jump: float = 0.5,
        pace: bool = True,
    ) -> None:
        self.targets = list(targets)
        self.health_targets = list(health_targets)
        self.state = state
        self.stats = stats
        self.retries = retries
        self.backoff = backoff
        self.baseline = baseline
        self.sources = list(sources)
        self.stale_days = stale_days
        self.extract_failure_jump = extract_failure_jump
        self.pace = pace
        self.outbox: Outbox | None = None
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._inflight: set[asyncio.Future[JobResult]] = set()
        self._threaded = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> "AlertPipeline":
        from crawler.config import config_for
        from crawler.state import state_for

        if getattr(crawler.spider, "locked_out", False):
            # Another run owns the state: its pending alerts are its own to send.
            raise NotConfigured("another newswatch run holds the state lock")
        config = config_for(crawler)
        settings = crawler.settings
        checks = getattr(config, "health_checks", None)
        return cls(
            targets=config.alerts,
            health_targets=config.health,
            state=state_for(crawler),
            stats=crawler.stats,
            retries=settings.getint("ALERT_RETRIES", 3),
            backoff=settings.getfloat("ALERT_BACKOFF", 1.0),
            baseline=settings.getbool("NEWSWATCH_BASELINE", False),
            sources=[source.name for source in config.sources if source.enabled],
            stale_days=getattr(checks, "stale_days", 3.0),
            extract_failure_jump=getattr(checks, "extract_failure_jump", 0.5),
            pace=settings.getbool("ALERT_PACE", True),
        )

    # -- scheduling -----------------------------------------------------------------------------------------------
    def _executor(self, key: str) -> ThreadPoolExecutor:
        # One thread per target: its messages go out in order, and a slow target holds up only itself.
        executor = self._executors.get(key)
        if executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"alerts-{len(self._executors)}")
            self._executors[key] = executor
        return executor

    def _schedule(self, jobs: Iterable[Job]) -> None:
        assert self.outbox is not None
        for job in jobs:
            if self._threaded:
                future = asyncio.wrap_future(self._executor(job.target_id).submit(self.outbox.run, job))
                self._inflight.add(future)
                future.add_done_callback(self._finished)
            else:
                # No asyncio loop (a non-asyncio Twisted reactor): send inline. Correct, but blocks while sending.
                self._count(self.outbox.run(job))

    def _finished(self, future: asyncio.Future[JobResult]) -> None:
        self._inflight.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            logger.error("Alert delivery crashed: %s", type(exc).__name__)
            return
        self._count(future.result())

    def _count(self, result: JobResult) -> None:
        if result.ok:
            self.stats.inc_value("alerts/sent", len(result.job.rows))
        else:
            self.stats.inc_value("alerts/failed", len(result.job.rows))

    async def _drain(self) -> None:
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    # -- Scrapy hooks ---------------------------------------------------------------------------------------------
    async def open_spider(self) -> None:
        quiet_secret_loggers()
        apply_slack_webhook_override()
        self._threaded = is_asyncio_available()
        if not self._threaded:
            logger.warning("No asyncio event loop: alerts are sent inline and block the crawl while sending")
        if not self.targets:
            return
        self.outbox = Outbox(self.state, self.targets, retries=self.retries, backoff=self.backoff, pace=self.pace)
        self._schedule(self.outbox.plan_open())

    def process_item(self, item: Any) -> Any:
        if self.outbox is None or self.baseline:
            return item
        duplicate_of = getattr(item, "duplicate_of", None)
        topics = getattr(item, "topics", None)
        if isinstance(item, Mapping):
            duplicate_of, topics = item.get("duplicate_of"), item.get("topics")
        if duplicate_of or not topics:
            return item
        queued, jobs = self.outbox.accept(_record_of(item))
        if queued:
            self.stats.inc_value("alerts/queued", queued)
        self._schedule(jobs)
        return item

    async def close_spider(self) -> None:
        try:
            if self.outbox is not None:
                await self._drain()
                self._schedule(self.outbox.plan_close())
                await self._drain()
            await self._send_health()
            if self.outbox is not None or self.targets:
                self.stats.set_value("alerts/pending", int(self.state.outbox_counts().get("pending", 0)))
        finally:
            for executor in self._executors.values():
                executor.shutdown(wait=True)
            self._executors.clear()

    # -- health ---------------------------------------------------------------------------------------------------
    async def _send_health(self) -> None:
        if not self.health_targets:
            return
        stats = self.stats.get_stats() if hasattr(self.stats, "get_stats") else dict(self.stats)
        # Only sources this run actually crawled: a source left out of a run is not stale.
        crawled = [name for name in self.sources if stats.get(f"source/{name}/requests", 0)]
        now = datetime.now(timezone.utc)
        problems = check_health(
            stats,
            crawled,
            self.state,
            now,
            stale_days=self.stale_days,
            extract_failure_jump=self.extract_failure_jump,
        )
        if not problems:
            return
        results = await asyncio.gather(*(self._notify_health(target, problems) for target in self.health_targets))
        if all(results):
            record_notified(self.state, problems, now)
        else:
            logger.warning("Health alert not delivered to every health target; it is tried again next run")

    async def _notify_health(self, target: AlertTargetLike, problems: list[Problem]) -> bool:
        try:
            channel = Channel(target, pace=self.pace)
        except AlertConfigError as exc:
            logger.error("%s", exc)
            return False
        ok = True
        for problem in problems:
            message = format_text_block(channel.kind, f"source problem: {problem.source}", [problem.summary])
            args = (channel, message, self.retries, self.backoff)
            if self._threaded:
                executor = self._executor(f"health:{target.id}")
                sent, _attempts, _status = await asyncio.wrap_future(executor.submit(send_with_retries, *args))
            else:
                sent, _attempts, _status = send_with_retries(*args)
            ok = ok and sent
            self.stats.inc_value("alerts/health_sent" if sent else "alerts/health_failed")
        return ok
