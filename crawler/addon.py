"""The newswatch add-on: ``newswatch.yaml`` loaded and validated once, before Scrapy freezes the settings.

Scrapy calls :meth:`NewswatchAddon.update_settings` after the spider is created (so the spider's
``-a sources=…`` / ``-a baseline=1`` have reached the settings) and before any extension, middleware or
pipeline is built. It keeps the typed :class:`~crawler.config.Config` under the ``NEWSWATCH`` setting and
sets every setting derived from it; components read those settings, never the spider.

A configuration error ends the process here, before any request: one CRITICAL line naming the file, the
key and the problem, and exit status 2.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from scrapy.settings import BaseSettings

from crawler.config import Config, ConfigError, DedupConfig, load_config

logger = logging.getLogger(__name__)

#: The setting that holds the run's Config.
CONFIG_SETTING = "NEWSWATCH"
#: Sites see who is crawling; `crawl.user_agent` in newswatch.yaml replaces it (add a contact URL or address).
DEFAULT_USER_AGENT = "newswatch/0.1 (news-monitoring crawler; Scrapy)"


class NewswatchAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        try:
            config = load_config(settings.get("NEWSWATCH_CONFIG"))
            wanted = settings.getlist("NEWSWATCH_SOURCES")
            known = {s.name for s in config.sources}
            for name in wanted:
                if name not in known:
                    raise ConfigError(config.path, "-a sources",
                                      f"unknown source {name!r} (known: {', '.join(sorted(known))})")
        except ConfigError as exc:
            stop(f"Configuration error: {exc}")
        if wanted:
            config.sources = [s for s in config.sources if s.name in wanted]
        config.sources = [s for s in config.sources if s.enabled]
        # "addon" priority: the config wins over Scrapy's defaults, a `-s NAME=value` still wins over the config.
        derived: dict[str, Any] = {
            CONFIG_SETTING: config,
            "NEWSWATCH_STATE_PATH": str(config.state),
            "NEWSWATCH_ARCHIVE_PATH": str(config.archive),
            "DEDUP_THRESHOLD": config.dedup.threshold,
            "DEDUP_NUM_PERM": config.dedup.num_perm,
            "DEDUP_SHINGLES": config.dedup.shingles,
            "DOWNLOAD_TIMEOUT": config.crawl.download_timeout,
            "DOWNLOAD_MAXSIZE": config.crawl.max_page_bytes,
            "CONCURRENT_REQUESTS_PER_DOMAIN": config.crawl.concurrent_per_domain,
            "ROBOTSTXT_OBEY": config.crawl.obey_robots,
            "USER_AGENT": config.crawl.user_agent or DEFAULT_USER_AGENT,
        }
        if config.redis_url is not None:
            # One worker of a shared crawl: scrapy-redis's queue and a per-tick duplicate filter.
            from crawler.scheduling import shared_settings

            derived.update(shared_settings(config.redis_url))
        for name, value in derived.items():
            settings.set(name, value, priority="addon")


def config_of(settings: BaseSettings) -> Config:
    """The run's Config as the add-on left it; loaded from ``NEWSWATCH_CONFIG`` where no add-on ran
    (a component built on its own, as tests and tools do)."""
    config = settings.get(CONFIG_SETTING)
    if isinstance(config, Config):
        return config
    return load_config(settings.get("NEWSWATCH_CONFIG"))


def dedup_params(settings: BaseSettings) -> DedupConfig:
    """The run's near-duplicate parameters: the config's ``dedup:`` section, which the add-on sets as
    ``DEDUP_*`` so that ``-s DEDUP_THRESHOLD=…`` still wins."""
    config = config_of(settings).dedup
    return DedupConfig(threshold=settings.getfloat("DEDUP_THRESHOLD", config.threshold),
                       num_perm=settings.getint("DEDUP_NUM_PERM", config.num_perm),
                       shingles=settings.getint("DEDUP_SHINGLES", config.shingles))


def stop(message: str) -> NoReturn:
    """End the process before any request: one clear line, no traceback, exit status 2.

    Scrapy would report an exception raised while it builds the crawler as an unretrieved task
    error with a full traceback, burying the one line the user needs."""
    logger.critical(message)
    raise SystemExit(2)
