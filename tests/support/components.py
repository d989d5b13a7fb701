"""Build newswatch components the way a crawl does, without running one.

:func:`newswatch_crawler` gives a crawler whose settings went through the add-on and whose run
extension (lock, state store) is built, so pipelines and middlewares come from ``build_from_crawler``
exactly as Scrapy builds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from crawler.addon import NewswatchAddon
from crawler.run import RunState
from spiders.news import NewsSpider


def project_settings() -> dict[str, Any]:
    """crawler/settings.py, as `scrapy crawl` reads it (the component defaults live there only)."""
    import crawler.settings

    return {name: value for name, value in vars(crawler.settings).items() if name.isupper()}


def newswatch_crawler(config: Path, **settings: Any) -> Crawler:
    """A crawler configured as ``scrapy crawl news`` is: the add-on has run, the run extension is built."""
    return get_crawler(NewsSpider, {
        **project_settings(),
        "NEWSWATCH_CONFIG": str(config),
        "ADDONS": {NewswatchAddon: 0},
        "EXTENSIONS": {RunState: 0},
        **settings,
    })


def close(crawler: Crawler) -> None:
    """What the end of a crawl does for the run extension: close the store, free the lock."""
    crawler.signals.send_catch_log(signals.engine_stopped)


def write_config(tmp_path: Path, *, alerts: list[dict[str, Any]] | None = None, **extra: Any) -> Path:
    """A small newswatch.yaml in *tmp_path*: one source, the shipped topics, state and archive beside it."""
    from tests.crawl import default_topics

    config = {
        "sources": [{"name": "a", "language": "en", "feeds": ["https://a.example/feed"]}],
        "topics": default_topics(),
        "alerts": alerts or [],
        "state": str(tmp_path / "state.sqlite"),
        "archive": str(tmp_path / "archive.jsonl"),
        **extra,
    }
    path = tmp_path / "newswatch.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path
