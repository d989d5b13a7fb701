"""Stage 600: announce each new story once per alert target, through the durable outbox.

This stage only ships: the commit stage has already written the story's outbox rows in its one commit.

* ``open_spider``: quiet the loggers that print secrets, and start sending
  what earlier runs left pending — before any new story (one worker thread per target keeps that order).
* ``process_item``: hand the committed story's instant deliveries to each target's worker thread. The item goes on
  at once; sending never blocks the reactor.
* ``close_spider``: wait for the instant sends, send each target's digest (digest mode, or the stories past
  ``max_per_run``), and set ``alerts/pending``. (Health alerts are stage 700, ``pipelines.health``.)

A stop (SIGTERM/SIGINT, or a write that failed) ends it early: queued messages are not started, the ones in flight
finish and are recorded, digests wait; everything not sent stays pending for the next run.
The worker threads are daemon threads, so a second signal ends the process at once (a message in flight then may
go out once more next run). What is still pending at the end is sent by the next run.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from scrapy.utils.asyncio import is_asyncio_available

from crawler.addon import config_of
from crawler.alerts.delivery import (
    AlertTargetLike,
    Job,
    JobResult,
    Outbox,
    quiet_secret_loggers,
)
from crawler.items import Story
from crawler.run import run_state
from crawler.state import StateError, StateStore, StateWriteError

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# How often a drain looks at whether the run is stopping.
_STOP_POLL = 0.2


class _Sender:
    """One daemon thread running one target's sends in order (a ThreadPoolExecutor's threads would hold the
    process at exit until every queued message went out, pacing included)."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        future: Future[_T] = Future()
        self._queue.put((future, fn, args))
        return future

    def _work(self) -> None:
        while (task := self._queue.get()) is not None:
            future, fn, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting side
                future.set_exception(exc)

    def close(self) -> None:
        self._queue.put(None)


class AlertPipeline:
    def __init__(
        self,
        targets: Sequence[AlertTargetLike],
        state: StateStore,
        stats: Any,
        retries: int,
        backoff: float,
        baseline: bool,
        *,
        stopping: Callable[[], bool] = lambda: False,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.targets = list(targets)
        self.state = state
        self.stats = stats
        self.retries = retries
        self.backoff = backoff
        self.baseline = baseline
        self.stopping = stopping
        self.on_failure = on_failure
        self.outbox: Outbox | None = None
        self._senders: dict[str, _Sender] = {}
        self._futures: set[Future[Any]] = set()
        self._inflight: set[asyncio.Future[JobResult]] = set()
        self._threaded = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> AlertPipeline:
        # A locked-out run gets NotConfigured here: another run owns the state and its pending alerts.
        run = run_state(crawler)
        config = config_of(crawler.settings)
        settings = crawler.settings
        return cls(
            targets=config.alerts,
            state=run.state,
            stats=crawler.stats,
            retries=settings.getint("ALERT_RETRIES"),
            backoff=settings.getfloat("ALERT_BACKOFF"),
            baseline=run.baseline,
            stopping=run.stopping,
            on_failure=run.fail,
        )

    # -- scheduling -----------------------------------------------------------------------------------------------
    def _submit(self, key: str, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        # One thread per target: its messages go out in order, and a slow target holds up only itself.
        sender = self._senders.get(key)
        if sender is None:
            sender = self._senders[key] = _Sender(f"alerts-{len(self._senders)}")
        future = sender.submit(fn, *args)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return asyncio.wrap_future(future)

    def _stop_sending(self) -> None:
        """No further message starts; the ones in flight finish and are recorded."""
        if self.outbox is not None and not self.outbox.stopping.is_set():
            logger.info("Stopping: alerts not yet sent stay pending for the next run")
            self.outbox.stopping.set()
        for future in list(self._futures):
            future.cancel()  # only those not started

    def _schedule(self, jobs: Iterable[Job]) -> None:
        assert self.outbox is not None
        for job in jobs:
            if self._threaded:
                future = self._submit(job.target_id, self.outbox.run, job)
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
        result = future.result()
        self._count(result)
        if self.outbox is not None and self.outbox.write_error and self.on_failure is not None:
            self.on_failure(StateWriteError(self.outbox.write_error))

    def _count(self, result: JobResult) -> None:
        if result.ok:
            self.stats.inc_value("alerts/sent", len(result.job.rows))
        elif result.elsewhere:
            self.stats.inc_value("alerts/claimed_elsewhere", len(result.job.rows))
        elif result.stopped:
            self.stats.inc_value("alerts/left_pending", len(result.job.rows))
        else:
            self.stats.inc_value("alerts/failed", len(result.job.rows))

    async def _drain(self) -> None:
        """Wait for the scheduled sends; a stop meanwhile cancels those not started."""
        while self._inflight:
            if self.stopping():
                self._stop_sending()
            await asyncio.wait(list(self._inflight), timeout=_STOP_POLL)

    # -- Scrapy hooks ---------------------------------------------------------------------------------------------
    async def open_spider(self) -> None:
        quiet_secret_loggers()
        self._threaded = is_asyncio_available()
        if not self._threaded:
            logger.warning("No asyncio event loop: alerts are sent inline and block the crawl while sending")
        if not self.targets:
            return
        self.outbox = Outbox(self.state, self.targets, retries=self.retries, backoff=self.backoff)
        self._schedule(self.outbox.plan_open())

    def process_item(self, item: Story) -> Story:
        if self.outbox is None or self.baseline or item.duplicate_of or not item.topics:
            return item
        if self.stopping():
            self._stop_sending()
            return item
        try:
            self._schedule(self.outbox.jobs_for_story(item.story_id))
        except StateError as exc:  # a shared state gone away: its rows stay pending for the next tick
            self._state_failed(exc)
        return item

    def _state_failed(self, exc: StateError) -> None:
        if self.on_failure is not None:
            self.on_failure(exc)
        else:
            logger.error("%s", exc)

    async def close_spider(self) -> None:
        try:
            if self.outbox is not None:
                await self._drain()
                if not self.stopping():
                    self._schedule(self.outbox.plan_close())
                    await self._drain()
            if self.outbox is not None or self.targets:
                self.stats.set_value("alerts/pending", int(self.state.outbox_counts().get("pending", 0)))
        except StateError as exc:
            self._state_failed(exc)
        finally:
            for sender in self._senders.values():
                sender.close()
            self._senders.clear()
