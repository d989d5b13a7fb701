"""Stage 450: the commit point. What the run decided about an article becomes durable here, at once.

For a story that reached this stage (extracted, in a language, on a watched topic, checked for duplicates):
one :meth:`~crawler.state.StateStore.commit` with every URL it is known by, its near-duplicate index entries
(an original only), one outbox row per alert target that wants it (an original, outside a baseline run) and
its archive record, queued for the archive stage. For an article an earlier stage dropped (no article, no
topic, not HTML): the same commit with its URLs only, so no later run fetches it again.

Before this commit nothing durable exists about the article: a run killed earlier fetches it again next
time. After it, the archive stage and the alert stage only ship what was committed, and a run killed
before they finish leaves work the next run completes (see docs/DESIGN.md, "The commit point").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.addon import config_of
from crawler.alerts.delivery import AlertTargetLike, wants
from crawler.alerts.formatters import story_payload
from crawler.dates import iso
from crawler.items import QuietDrop, Story
from crawler.run import run_state
from crawler.state import ArticleCommit, IndexChanged, StateError, StateStore

logger = logging.getLogger(__name__)

#: Times an original is checked again when other workers keep recording possible earlier copies first.
MAX_RECHECKS = 10
#: Dropped pages committed in one transaction (see :meth:`CommitPipeline.item_dropped`).
PAGE_BATCH = 100
PAGE_BATCH_SECONDS = 2.0


class CommitFailed(QuietDrop):
    """The commit could not be written: the run is stopping, and has said why once (RunState.fail)."""

    level = "DEBUG"
    commit_urls = False


class CommitPipeline:
    def __init__(self, state: StateStore, stats: Any, targets: Sequence[AlertTargetLike], baseline: bool,
                 on_failure: Callable[[BaseException], None],
                 redecide: Callable[[Story], None] | None = None) -> None:
        self.state = state
        # The dedup stage's decision, made again when a shared state refuses an original (IndexChanged).
        self.redecide = redecide
        self.stats = stats
        self.targets = list(targets)
        self.baseline = baseline
        self.on_failure = on_failure
        self._pages: list[ArticleCommit] = []
        self._pages_since = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CommitPipeline:
        run = run_state(crawler)
        redecide = None
        if run.state.shared:
            from pipelines.dedup import DedupPipeline

            redecide = DedupPipeline.from_crawler(crawler).decide
        pipeline = cls(run.state, crawler.stats, config_of(crawler.settings).alerts, run.baseline, run.fail,
                       redecide)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    def alerts_for(self, item: Story, record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The outbox rows of a story: an original on a topic some target wants, outside a baseline run,
        that is the first copy of its cluster in its language (``per: language``, the default) or at all
        (``per: cluster``). A later language's copy names the first copy of another language."""
        if self.baseline or item.duplicate_of or not item.topics:
            return []
        earlier = [info for info in item.cluster_earlier if info.story_id != item.story_id]
        same_language = any(info.language == item.language for info in earlier)
        wanting = [target for target in self.targets if wants(target, item.topics)]
        # Alerted already for this story: in this language, or at all for a target alerted per cluster.
        interested = [target for target in wanting
                      if not same_language and not (earlier and target.per == "cluster")]
        if len(interested) < len(wanting):
            self.stats.inc_value("alerts/same_story", len(wanting) - len(interested))
        if not interested:
            return []
        payload = story_payload(record)
        first = next((info for info in earlier if info.language != item.language), None)
        if first is not None:
            payload["same_as"] = {"title": first.title, "url": first.url, "source": first.source,
                                  "language": first.language, "at": iso(first.at)}
        return [(target.id, payload) for target in interested]

    def process_item(self, item: Story) -> Story:
        for attempt in range(MAX_RECHECKS + 1):
            record = item.record()
            try:
                queued = self._commit(ArticleCommit(
                    source=item.source,
                    urls=item.aliases,
                    story_id=item.story_id,
                    record=record,
                    fingerprint=item.fingerprint,
                    published=item.published,
                    seen_at=item.fetched_at or None,
                    alerts=self.alerts_for(item, record),
                    index_seq=item.index_seq,
                    cluster=item.cluster_entry,
                ))
                break
            except IndexChanged:
                # Another worker recorded a story that may be an earlier copy of this one since the dedup
                # stage looked: look again, so one of the two is the original and the other its duplicate.
                if self.redecide is None or attempt == MAX_RECHECKS:
                    raise
                self.stats.inc_value("dedup/rechecked")
                self.redecide(item)
        item.text_fingerprint = None
        self.stats.inc_value("commit/stories")
        if queued:
            self.stats.inc_value("alerts/queued", queued)
        return item

    def item_dropped(self, item: Any, response: Any, exception: BaseException, **kwargs: Any) -> None:
        """A page dropped before this stage is still done with: commit its URLs.

        Pages are committed in batches (:data:`PAGE_BATCH` pages, or what :data:`PAGE_BATCH_SECONDS`
        gathered), one transaction each, and the rest when the spider closes: a run drops thousands of
        pages, and a transaction each cost the reactor half a millisecond a page. A kill loses at most
        one batch, whose pages the next run fetches again; no story and no alert is in a batch."""
        if not isinstance(item, Story) or not getattr(exception, "commit_urls", True):
            return
        recheck = item.version_stamp if getattr(exception, "recheck", False) else None
        if not self._pages:
            self._pages_since = time.monotonic()
        self._pages.append(ArticleCommit(source=item.source, urls=item.aliases, recheck_after=recheck))
        if len(self._pages) >= PAGE_BATCH or time.monotonic() - self._pages_since >= PAGE_BATCH_SECONDS:
            self.flush_pages()

    def flush_pages(self) -> None:
        pages, self._pages = self._pages, []
        if not pages:
            return
        try:
            self.state.commit_many(pages)
        except StateError as exc:
            self.on_failure(exc)  # reported once; the next run fetches these pages again
        else:
            self.stats.inc_value("commit/pages", len(pages))

    def close_spider(self) -> None:
        self.flush_pages()

    def _commit(self, article: ArticleCommit) -> int:
        try:
            return self.state.commit(article)
        except StateError as exc:
            self.on_failure(exc)
            raise CommitFailed(str(exc)) from exc
