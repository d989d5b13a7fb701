"""The one item newswatch passes through its pipelines."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import DropItem

from crawler.state import ClusterEntry, StoryFingerprint, StoryInfo

# Fields written to the JSONL archive, in this order.
ARCHIVE_FIELDS = (
    "story_id",
    "url",
    "source",
    "title",
    "published",
    "published_precision",
    "modified",
    "authors",
    "language",
    "topics",
    "matches",
    "text",
    "fetched_at",
    "duplicate_of",
    "duplicate_kind",
    "story_cluster",
    "cluster_evidence",
)


def story_id_for(url: str) -> str:
    """Stable id of a story: the first 16 hex digits of the canonical URL's SHA-256."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@dataclass
class Story:
    url: str
    source: str
    source_language: str = ""
    # The response's bytes and the encoding Scrapy decided for them (emptied by the analysis stage).
    body: bytes = b""
    encoding: str = "utf-8"
    fetched_at: str = ""
    title: str | None = None
    text: str | None = None
    authors: list[str] = field(default_factory=list)
    # ISO 8601 with its offset ("second"), or YYYY-MM-DD when only the day is known ("day").
    published: str | None = None
    published_precision: str | None = None
    modified: str | None = None
    # What discovery said (the feed entry's published/updated, the sitemap's date): evidence for the
    # resolver, not archived.
    discovered_published: str | None = None
    discovered_updated: str | None = None
    language: str | None = None
    topics: list[str] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)
    story_id: str = ""
    duplicate_of: str | None = None
    duplicate_kind: str | None = None
    # The story_id of the first story of this story's cluster (crawler.clusters): its own for a story no
    # earlier one in another language tells, its original's for a same-language duplicate. A story that
    # joined a cluster across languages keeps the evidence it shares with the story it joined.
    story_cluster: str | None = None
    cluster_evidence: list[str] = field(default_factory=list)
    # The cluster evidence read from the story, computed with the analysis (crawler.clusters.text_evidence;
    # not archived); None until then, when the dedup stage reads it itself.
    text_evidence: tuple[str, ...] | None = None
    # Set by the dedup stage for an original: its cluster index entry, the earlier stories of its
    # cluster (another language's first copy is named in the alert) (not archived).
    cluster_entry: ClusterEntry | None = None
    cluster_earlier: list[StoryInfo] = field(default_factory=list)
    # Canonical forms of the URLs this page was fetched by: the one discovery gave, each redirect hop,
    # the final one (not archived; committed as the story's aliases).
    fetched_urls: list[str] = field(default_factory=list)
    # The body's fingerprint, computed with the analysis; the dedup stage looks it up, and keeps it in
    # ``fingerprint`` for an original: what the near-duplicate index keeps (neither is archived).
    text_fingerprint: StoryFingerprint | None = None
    fingerprint: StoryFingerprint | None = None
    # The state's index version when the dedup stage looked for earlier copies (a shared state refuses
    # the commit of an original if a story recorded since could be one; see crawler.state.IndexChanged).
    index_seq: int | None = None
    # Set when the response was not an HTML page: its content type (the extract stage drops it).
    not_html: str | None = None

    def __post_init__(self) -> None:
        if not self.story_id:
            self.story_id = story_id_for(self.url)

    @property
    def version_stamp(self) -> str:
        """When the fetched version was current: the entry's updated date, else its published date, else
        the fetch time. A later ``updated`` in a feed or sitemap means a newer version."""
        return self.discovered_updated or self.modified or self.discovered_published or self.fetched_at

    @property
    def aliases(self) -> list[str]:
        """Every URL the article is known by: the fetched ones, then the canonical one."""
        return list(dict.fromkeys([*self.fetched_urls, self.url]))

    def record(self) -> dict[str, Any]:
        """The archive record: every archived field, nothing else (never the raw HTML)."""
        return {name: getattr(self, name) for name in ARCHIVE_FIELDS}


class QuietDrop(DropItem):
    """An expected drop, logged at :attr:`level`; Scrapy counts each subclass by name in
    ``item_dropped_reasons_count/<Class>``. A drop with :attr:`recheck` (no watched topic) is fetched again
    when its feed or sitemap entry later shows an update; one without :attr:`commit_urls` (a failed
    analysis, a failed commit) leaves its URLs unrecorded, so the next run fetches the page again."""

    level = "DEBUG"
    recheck = False
    commit_urls = True

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level=self.level)
