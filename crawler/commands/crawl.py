"""``scrapy crawl``, exiting non-zero when a run could not write what it knows.

Scrapy's own command exits 1 only when the crawler failed to start. A run whose state or archive writes
failed (disk full, I/O error) stops early and must not look like a success to cron: it exits with
:data:`crawler.run.FATAL_EXIT`. Nothing else differs from Scrapy's command.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from crawler.run import FATAL_EXIT, FATAL_STAT, RunState

logger = logging.getLogger(__name__)


def _stop_before_start(signum: int, frame: FrameType | None) -> None:
    logger.info("Received %s before the crawl started: stopping; nothing was done", signal.Signals(signum).name)
    raise SystemExit(0)


class Command(ScrapyCrawl):
    def __init__(self) -> None:
        super().__init__()
        self._crawlers: list[Crawler] = []

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        crawler = super()._create_crawler(spidercls)
        self._crawlers.append(crawler)
        return crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # Until Scrapy installs its own handlers (when the crawl starts), a SIGTERM/SIGINT ends the run
        # cleanly: nothing has been committed yet, and cron should see a stop, not a crash.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stop_before_start)
        super().run(args, opts)
        if not self.exitcode and any(c.stats and c.stats.get_value(FATAL_STAT) for c in self._crawlers):
            self.exitcode = FATAL_EXIT
        if any(_cut_short(c) for c in self._crawlers):
            # A second SIGTERM/SIGINT stopped the reactor mid-close. Python would still wait for apprise's
            # worker threads (a paced email can sleep for seconds); end now. Nothing is lost: what was not
            # recorded is still pending, and a message in flight is sent once more by the next run.
            logger.warning("Forced stop: alerts not recorded as sent stay pending for the next run")
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(self.exitcode or 0)


def _cut_short(crawler: Crawler) -> bool:
    """The crawl ended without the spider closing: its run extension still holds the state."""
    try:
        run = crawler.get_extension(RunState)
    except RuntimeError:  # never got as far as building extensions
        return False
    return run is not None and not run.locked_out and run.holding_state
