"""The one item newswatch passes through its pipelines."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import DropItem

# Fields written to the JSONL archive, in this order.
ARCHIVE_FIELDS = (
    "story_id",
    "url",
    "source",
    "title",
    "published",
    "language",
    "topics",
    "matches",
    "text",
    "author",
    "fetched_at",
    "duplicate_of",
    "duplicate_kind",
)


def story_id_for(url: str) -> str:
    """Stable id of a story: the first 16 hex digits of the canonical URL's SHA-256."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@dataclass
class Story:
    url: str
    source: str
    source_language: str = ""
    html: str = ""
    fetched_at: str = ""
    title: str | None = None
    text: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None
    topics: list[str] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)
    story_id: str = ""
    duplicate_of: str | None = None
    duplicate_kind: str | None = None
    # The URL actually requested, when the page declared another canonical one (not archived).
    fetched_url: str = ""

    def __post_init__(self) -> None:
        if not self.story_id:
            self.story_id = story_id_for(self.url)

    def record(self) -> dict[str, Any]:
        """The archive record: every archived field, nothing else (never the raw HTML)."""
        return {name: getattr(self, name) for name in ARCHIVE_FIELDS}


class QuietDrop(DropItem):
    """An expected drop, logged at :attr:`level`; Scrapy counts each subclass by name in
    ``item_dropped_reasons_count/<Class>``."""

    level = "DEBUG"

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level=self.level)
