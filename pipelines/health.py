"""Stage 700: at the end of a run, tell the ``health`` targets about each new problem with a source.

A source this run crawled is checked against the run's stats and what the state remembers
(:mod:`crawler.alerts.health`): every request failed, no article for ``stale_days``, or a jump in the
pages with no extractable article. A problem is announced once while it lasts; one not delivered to every
health target is announced again next run. A stopping run (a signal, a failed write) checks nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from scrapy.utils.asyncio import is_asyncio_available

from crawler.addon import config_of
from crawler.alerts.delivery import AlertConfigError, AlertTargetLike, Channel, send_with_retries
from crawler.alerts.formatters import format_text_block
from crawler.alerts.health import Problem, check_health, record_notified
from crawler.run import run_state
from crawler.state import StateError, StateStore

logger = logging.getLogger(__name__)


class HealthPipeline:
    def __init__(self, targets: Sequence[AlertTargetLike], state: StateStore, stats: Any, sources: Sequence[str], *,
                 stale_days: float, extract_failure_jump: float, retries: int, backoff: float,
                 stopping: Callable[[], bool] = lambda: False,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        self.targets = list(targets)
        self.state = state
        self.stats = stats
        self.sources = list(sources)
        self.stale_days = stale_days
        self.extract_failure_jump = extract_failure_jump
        self.retries = retries
        self.backoff = backoff
        self.stopping = stopping
        self.on_failure = on_failure

    @classmethod
    def from_crawler(cls, crawler: Any) -> HealthPipeline:
        run = run_state(crawler)  # NotConfigured for a locked-out run: another run owns the state
        config = config_of(crawler.settings)
        return cls(config.health, run.state, crawler.stats, [source.name for source in config.sources],
                   stale_days=config.health_checks.stale_days,
                   extract_failure_jump=config.health_checks.extract_failure_jump,
                   retries=crawler.settings.getint("ALERT_RETRIES"), backoff=crawler.settings.getfloat("ALERT_BACKOFF"),
                   stopping=run.stopping, on_failure=run.fail)

    def process_item(self, item: Any) -> Any:
        return item

    async def close_spider(self) -> None:
        if not self.targets or self.stopping():
            return
        try:
            await self.check()
        except StateError as exc:
            if self.on_failure is None:
                raise
            self.on_failure(exc)

    async def check(self) -> list[Problem]:
        """Check the sources this run crawled and announce the new problems; returns them."""
        stats = self.stats.get_stats()
        # Only sources this run actually crawled: a source left out of a run is not stale.
        crawled = [name for name in self.sources if stats.get(f"source/{name}/requests", 0)]
        now = datetime.now(UTC)
        problems = check_health(stats, crawled, self.state, now, stale_days=self.stale_days,
                                extract_failure_jump=self.extract_failure_jump)
        if not problems:
            return []
        results = await asyncio.gather(*(self._notify(target, problems) for target in self.targets))
        if all(results):
            record_notified(self.state, problems, now)
        else:
            logger.warning("Health alert not delivered to every health target; it is tried again next run")
        return problems

    async def _notify(self, target: AlertTargetLike, problems: list[Problem]) -> bool:
        try:
            channel = Channel(target)
        except AlertConfigError as exc:
            logger.error("%s", exc)
            return False
        ok = True
        for problem in problems:
            message = format_text_block(channel.kind, f"source problem: {problem.source}", [problem.summary])
            args = (channel, message, self.retries, self.backoff)
            # Sending blocks (retries wait): off the reactor's thread when there is an asyncio loop.
            if is_asyncio_available():
                sent, _attempts, _status = await asyncio.to_thread(send_with_retries, *args)
            else:
                sent, _attempts, _status = send_with_retries(*args)
            ok = ok and sent
            self.stats.inc_value("alerts/health_sent" if sent else "alerts/health_failed")
        return ok
