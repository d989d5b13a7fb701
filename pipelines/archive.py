"""Stage 500: the JSONL archive, written from committed state.

A story reaches the archive only after the commit stage queued its record in the state store; this stage
appends the line, flushes it to disk, then marks the story archived. A run starts by appending every story
committed but not yet marked (a run killed between its commit and its append), first reading the file's
tail for those ``story_id`` values, so a kill between an append and its mark repeats nothing. The archive
never holds two whole lines for one story, and every committed story reaches it. A cut last line (a kill
mid-write, a full disk) is left alone and the next line starts fresh; readers skip it.

Several workers: ``archive`` may name ``{worker}`` (each worker appends to its own file), or several
workers on one host share one file -- each append of whole lines holds an exclusive ``flock`` on it, so
lines never interleave. With a Redis state a worker archives the stories it committed, and takes over
those of a worker that is gone (at its start and its end), reading the tail of every archive file the
path names first: a story appended by the dead worker is marked, not appended again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.items import Story
from crawler.review.reader import WORKER_FIELD, worker_files
from crawler.run import RunState, run_state
from crawler.state import StateError

logger = logging.getLogger(__name__)

_TAIL_BLOCK = 1 << 20
#: Lines read back beyond the stories pending, for the lines other workers appended to a shared file since.
TAIL_SLACK = 2000


def archive_path(template: str | Path, worker: str) -> Path:
    """The archive file this worker appends to (``{worker}`` replaced by its name)."""
    return Path(str(template).replace(WORKER_FIELD, worker))


def tail_story_ids(path: Path, lines: int) -> set[str]:
    """``story_id`` of the last *lines* whole lines of the archive at *path* (cut or bad lines skipped)."""
    if lines <= 0 or not path.exists():
        return set()
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        start, data = end, b""
        # Read back until the block holds lines + 1 newlines (or the whole file).
        while start > 0 and data.count(b"\n") <= lines:
            start = max(0, start - _TAIL_BLOCK)
            handle.seek(start)
            data = handle.read(end - start)
    ids = set()
    for raw in data.splitlines()[-(lines + 1):]:
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("story_id"), str):
            ids.add(value["story_id"])
    return ids


class ArchivePipeline:
    def __init__(self, run: RunState, template: Path) -> None:
        self.run = run
        self.stats = run.stats
        # The path as configured: with ``{worker}``, every worker's file is read for a dead worker's appends.
        self.template = template
        self.path = archive_path(template, run.worker)
        self.file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        template = crawler.settings.get("NEWSWATCH_ARCHIVE_PATH")
        if not template:
            raise NotConfigured("no archive path (NEWSWATCH_ARCHIVE_PATH)")
        return cls(run_state(crawler), Path(template))

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

    def _append(self, records: Sequence[dict[str, object]]) -> None:
        out = self._open()
        data = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        # Whole lines under an exclusive lock: workers sharing the file never interleave (O_APPEND writes
        # each chunk at the end; the lock keeps one worker's chunks together).
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
        try:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # on disk before the mark that says so
        finally:
            fcntl.flock(out.fileno(), fcntl.LOCK_UN)

    def _ship(self, records: Sequence[dict[str, object]], story_ids: Sequence[str]) -> None:
        """Append *records*, then mark *story_ids* archived; a failed write stops the run (nothing is lost:
        the stories stay queued, and the next run appends what the file does not hold)."""
        try:
            if records:
                self._append(records)
        except OSError as exc:
            self.run.fail(StateError(f"archive {self.path}: cannot write: {exc.strerror or exc}"))
            return
        try:
            self.run.state.mark_archived(story_ids)
        except StateError as exc:
            self.run.fail(exc)
            return
        self.stats.inc_value("archive/written", len(records))

    def open_spider(self) -> None:
        self._recover()

    def _recover(self) -> None:
        """Append what was committed and not archived (by an earlier run, or a worker that is gone)."""
        try:
            pending = self.run.state.archive_pending()
        except StateError as exc:
            self.run.fail(exc)
            return
        if not pending:
            return
        lines = len(pending) + (TAIL_SLACK if self.run.shared else 0)
        present: set[str] = set()
        for path in dict.fromkeys([self.path, *worker_files(self.template)]):
            present |= tail_story_ids(path, lines)
        missing = [record for story_id, record in pending if story_id not in present]
        logger.info("Archive: %d committed stories left by an earlier run (%d already in %s)",
                    len(pending), len(pending) - len(missing), self.path)
        self.stats.inc_value("archive/recovered", len(missing))
        self._ship(missing, [story_id for story_id, _record in pending])

    def process_item(self, item: Story) -> Story:
        if not self.run.fatal:
            self._ship([item.record()], [item.story_id])
        return item

    def close_spider(self) -> None:
        if self.run.shared and not self.run.fatal:
            self._recover()  # a worker that died during the tick
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass  # already reported by _ship
            self.file = None
