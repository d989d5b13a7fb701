"""Streaming reader for the JSONL archive and its rotated siblings.

The archive is written one record per line and flushed per story (DESIGN.md), so a crash can leave the
last line of a file cut short; log rotation leaves ``archive.jsonl.1``, ``archive.jsonl.2.gz`` … beside
it. :func:`iter_records` yields the records of all of them, oldest file first, one line at a time, so
memory stays flat whatever the archive size.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from crawler.dates import parse_utc

logger = logging.getLogger(__name__)

# Fields every record is given, so callers never need `.get()` with defaults scattered around.
_DEFAULTS: dict[str, Any] = {
    "story_id": "",
    "url": "",
    "source": "",
    "title": None,
    "published": None,
    "published_precision": None,
    "modified": None,
    "authors": [],
    "language": None,
    "topics": [],
    "matches": [],
    "text": None,
    "fetched_at": None,
    "duplicate_of": None,
    "duplicate_kind": None,
    "story_cluster": None,
    "cluster_evidence": [],
}


class ArchiveNotFound(FileNotFoundError):
    """Neither the archive nor any rotated sibling exists."""


@dataclass(frozen=True)
class Position:
    """Where a record came from, for error messages."""

    file: Path
    line: int


ArchiveLocation = Path | str | Sequence[Path | str]
#: In an archive path: each worker's name (its own file; see pipelines/archive.py).
WORKER_FIELD = "{worker}"


def worker_files(template: Path | str) -> list[Path]:
    """The live files an archive path names: itself, or every worker's file when it holds ``{worker}``."""
    text = str(template)
    if WORKER_FIELD not in text:
        return [Path(text)]
    path = Path(text)
    return sorted(m for m in path.parent.glob(path.name.replace(WORKER_FIELD, "*")) if m.is_file())


def archive_files(path: ArchiveLocation) -> list[Path]:
    """The files of one archive, each file's rotated siblings before it, oldest first.

    *path* is one file, a glob (``data/archive-*.jsonl``), a path naming ``{worker}`` (the archive
    of several workers: one file each), or a list of those -- all read as one archive.

    ``archive.jsonl.N`` / ``archive.jsonl.N.gz`` follow the logrotate convention: a higher N is older,
    so they are read N descending, then the live file last.
    """
    if not isinstance(path, (str, Path)):
        files: list[Path] = []
        for each in path:
            files.extend(f for f in archive_files(each) if f not in files)
        if not files:
            raise ArchiveNotFound("archive not found: no file given")
        return files
    text = str(path).replace(WORKER_FIELD, "*")
    if any(char in text for char in "*?["):
        pattern = Path(text)
        matches = sorted(m for m in pattern.parent.glob(pattern.name) if m.is_file())
        if not matches:
            raise ArchiveNotFound(f"archive not found: no file matches {path}")
        return [f for match in matches for f in _with_siblings(match)]
    return _with_siblings(Path(path))


def _with_siblings(path: Path) -> list[Path]:
    rotated: list[tuple[int, Path]] = []
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)(?:\.gz)?$")
    if path.parent.is_dir():
        for sibling in path.parent.iterdir():
            m = pattern.fullmatch(sibling.name)
            if m and sibling.is_file():
                rotated.append((int(m.group(1)), sibling))
    # N descending; for the same N a plain file sorts after its .gz (both should not exist, but be stable).
    rotated.sort(key=lambda pair: (-pair[0], pair[1].name.endswith(".gz") is False))
    files = [p for _, p in rotated]
    if path.is_file():
        files.append(path)
    if not files:
        raise ArchiveNotFound(f"archive not found: {path} (and no rotated siblings {path.name}.N[.gz])")
    return files


def _open(path: Path) -> BinaryIO:
    # Detect gzip by magic bytes rather than the name: a rotated file may be compressed later than renamed.
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return cast(BinaryIO, gzip.GzipFile(path, "rb"))  # read as the plain file is
    return path.open("rb")


def _lines(path: Path, warn: Callable[..., None]) -> Iterator[tuple[int, bytes, bool]]:
    """Yield (line number, raw line, is_last) for one file; a cut gzip stream ends the file with a warning."""
    with _open(path) as fh:
        previous: bytes | None = None
        number = 0
        try:
            for raw in fh:
                if previous is not None:
                    yield number, previous, False
                number += 1
                previous = raw
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            # A compressed sibling cut short: keep what decompressed; its partial last line is dropped
            # below if it does not parse.
            warn("%s: compressed stream ends early after line %d (%s); keeping the rest", path, number, exc)
        if previous is not None:
            yield number, previous, True


def _normalise(obj: dict[str, Any]) -> dict[str, Any]:
    # Records written before authors became a list carry one "author" string.
    if "authors" not in obj and obj.get("author"):
        obj["authors"] = [str(obj["author"])]
    obj.pop("author", None)
    for key, default in _DEFAULTS.items():
        value = obj.get(key)
        if value is None:
            obj[key] = list(default) if isinstance(default, list) else default
    if not isinstance(obj["topics"], list):
        obj["topics"] = [str(obj["topics"])]
    if not isinstance(obj["matches"], list):
        obj["matches"] = []
    if not isinstance(obj["authors"], list):
        obj["authors"] = [str(obj["authors"])]
    if not obj["story_cluster"]:
        # Records written before clusters: a copy is in its original's cluster, an original in its own.
        obj["story_cluster"] = obj["duplicate_of"] or obj["story_id"]
    return obj


def iter_records(path: ArchiveLocation, *, with_position: bool = False, report: bool = True) -> Iterator[Any]:
    """Yield every archive record (a dict with all archive fields) from the archive and its siblings.

    A final line without its newline that does not parse is a write cut short by a crash: one warning,
    and reading goes on with the next file. Any other line that is not a JSON object is reported with
    its file and line number and skipped. With ``with_position`` yields ``(record, Position)`` pairs;
    without ``report`` the damage is skipped silently (a second pass over an archive already reported).
    """
    warn = logger.warning if report else _silent
    for file in archive_files(path):
        for number, raw, is_last in _lines(file, warn):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if is_last and not raw.endswith(b"\n"):
                    warn("%s:%d: last line is cut short (%d bytes, crash during write?); "
                                   "ignoring it, keeping the rest", file, number, len(raw))
                else:
                    warn("%s:%d: malformed line skipped: %s", file, number, exc)
                continue
            if not isinstance(obj, dict):
                warn("%s:%d: malformed line skipped: expected a JSON object, got %s",
                               file, number, type(obj).__name__)
                continue
            record = _normalise(obj)
            yield (record, Position(file, number)) if with_position else record


def _silent(*args: Any) -> None:
    """A warning not repeated."""


def parse_time(value: Any) -> datetime | None:
    """Parse an ISO 8601 string into an aware UTC datetime; naive values are taken as UTC."""
    return parse_utc(value) if isinstance(value, str) else None


def record_time(record: dict[str, Any]) -> datetime | None:
    """The story's date: ``published`` when present and parseable, else ``fetched_at``."""
    return parse_time(record.get("published")) or parse_time(record.get("fetched_at"))
