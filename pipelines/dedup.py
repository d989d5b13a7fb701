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

from crawler.addon import config_of, dedup_params
from crawler.clusters import ClusterLinker, story_instant, text_evidence, with_identity
from crawler.dedup import Deduplicator
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
                 on_failure: Callable[[BaseException], None] | None = None,
                 linker: ClusterLinker | None = None) -> None:
        self.state = state
        self.dedup = dedup
        # Links an original to a story of another language it is one story with; None: clusters off.
        self.linker = linker
        self.stats = stats
        self.on_failure = on_failure

    @classmethod
    def from_crawler(cls, crawler: Any) -> DedupPipeline:
        settings = crawler.settings
        run = run_state(crawler)
        state = run.state
        dedup = Deduplicator(state, dedup_params(settings))
        clusters = config_of(settings).clusters
        linker = ClusterLinker(state, clusters) if clusters.enabled else None
        return cls(state, dedup, crawler.stats, run.fail, linker)

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
        self.cluster(item)
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

    def cluster(self, item: Story) -> None:
        """Set the item's cluster: its original's for a duplicate; for an original, the cluster of the
        story of another language it is one story with (crawler.clusters), else its own."""
        item.cluster_entry, item.cluster_earlier, item.cluster_evidence = None, [], []
        if item.duplicate_of is not None:
            original = self.state.stories_info([item.duplicate_of])
            item.story_cluster = original[0].cluster if original else item.duplicate_of
            return
        item.story_cluster = item.story_id
        if self.linker is None or item.fingerprint is None:
            return
        known = self.state.stories_info([item.story_id])
        if known:  # fetched again (an update): it stays in the cluster it was recorded in
            item.story_cluster = known[0].cluster
            return
        keys = item.text_evidence
        if keys is None:  # a story that did not come through the analysis stage
            keys = text_evidence(item.title, item.text or "", language=item.language)
        evidence = with_identity(keys, url=item.url, source=item.source)
        at = story_instant(item.published, item.fetched_at)
        decision = self.linker.decide(item.story_id, evidence, item.language, at)
        item.story_cluster = decision.cluster
        item.cluster_entry = self.linker.entry(decision, evidence, item.language, item.title, at)
        if decision.joined is None:
            self.stats.inc_value("clusters/new")
            return
        self.stats.inc_value("clusters/joined")
        item.cluster_evidence = list(decision.score.shared) if decision.score else []
        item.cluster_earlier = self.state.cluster_stories(decision.cluster)
        logger.info("Same story across languages (score %.2f): %s [%s] joins %s [%s, %s]",
                    decision.score.score if decision.score else 0.0, item.url, item.source,
                    decision.joined.url, decision.joined.source, decision.joined.language)
