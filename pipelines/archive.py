"""Stage 5: one JSON line per story, appended and flushed, so a killed run leaves whole lines."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.items import Story

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.stats = crawler.stats
        self.path = path
        self.file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ArchivePipeline":
        path = crawler.settings.get("NEWSWATCH_ARCHIVE_PATH")
        if not path:
            raise NotConfigured("no archive path (NEWSWATCH_ARCHIVE_PATH)")
        return cls(crawler, Path(path))

    def _open(self) -> IO[str]:
        if self.file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = self.path.open("a", encoding="utf-8")
            # A previous run killed mid-write leaves a cut line: start ours on a fresh one.
            if self.file.tell() > 0:
                with self.path.open("rb") as existing:
                    existing.seek(-1, os.SEEK_END)
                    if existing.read(1) != b"\n":
                        self.file.write("\n")
        return self.file

    def process_item(self, item: Story) -> Story:
        out = self._open()
        out.write(json.dumps(item.record(), ensure_ascii=False) + "\n")
        out.flush()
        self.stats.inc_value("archive/written")
        return item

    def close_spider(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
