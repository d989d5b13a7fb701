"""Pipeline stage 400: decide whether a story was already seen, in this run or an earlier one.

Duplicates are not dropped: they go on to the archive with ``duplicate_of`` and
``duplicate_kind`` set (so the archive shows every outlet that carried a
story), and the alert stage skips them. This stage only decides: an original
leaves with its ``fingerprint``, which the commit stage records in the index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from crawler.dedup import DEFAULT_NUM_PERM, DEFAULT_SHINGLE_SIZE, DEFAULT_THRESHOLD, Deduplicator
from crawler.items import Story
from crawler.run import run_state
from crawler.state import StateError, StateStore
from pipelines.commit import CommitFailed

logger = logging.getLogger(__name__)


class DedupPipeline:
    """Sets ``duplicate_of``/``duplicate_kind`` and records originals in the state store.

    Settings: ``DEDUP_THRESHOLD`` (float), ``DEDUP_NUM_PERM`` and
    ``DEDUP_SHINGLES`` (ints); the store comes from the run extension.
    """

    def __init__(self, state: StateStore, dedup: Deduplicator, stats: Any,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        self.state = state
        self.dedup = dedup
        self.stats = stats
        self.on_failure = on_failure

    @classmethod
    def from_crawler(cls, crawler: Any) -> DedupPipeline:
        settings = crawler.settings
        run = run_state(crawler)
        state = run.state
        dedup = Deduplicator(
            state,
            threshold=settings.getfloat("DEDUP_THRESHOLD", DEFAULT_THRESHOLD),
            num_perm=settings.getint("DEDUP_NUM_PERM", DEFAULT_NUM_PERM),
            shingle_size=settings.getint("DEDUP_SHINGLES", DEFAULT_SHINGLE_SIZE),
        )
        return cls(state, dedup, crawler.stats, run.fail)

    def open_spider(self) -> None:
        logger.info(
            "Dedup: threshold %.2f, %d permutations (%d bands x %d rows), %d-word shingles, %d stories in state",
            self.dedup.threshold,
            self.dedup.num_perm,
            self.dedup.bands,
            self.dedup.rows,
            self.dedup.shingle_size,
            self.state.story_count(),
        )

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Story) or not item.text:
            return item
        try:
            self.decide(item)
        except StateError as exc:  # a shared state gone away: said once, the run stops, the page comes again
            if self.on_failure is None:
                raise
            self.on_failure(exc)
            raise CommitFailed(str(exc)) from exc
        return item

    def decide(self, item: Story) -> None:
        """Set the item's duplicate fields (and the fingerprint of an original). The commit stage calls it
        again when a shared state saw another worker record a possible earlier copy meanwhile."""
        text = item.text or ""
        item.index_seq = self.state.index_version() if self.state.shared else None
        kind, duplicate_of, similarity = self.dedup.check(item.story_id, text, item.text_fingerprint)
        item.duplicate_kind = kind
        item.duplicate_of = duplicate_of
        item.fingerprint = self.dedup.fingerprint_if_original(text, duplicate_of)
        if kind is None:
            self.stats.inc_value("dedup/new")
            for topic in item.topics:
                self.stats.inc_value(f"dedup/new/{topic}")
        else:
            self.stats.inc_value(f"dedup/{kind}")
            logger.info(
                "%s duplicate (similarity %.2f): %s [%s] of story %s",
                kind,
                similarity,
                item.url,
                item.source,
                duplicate_of,
            )
