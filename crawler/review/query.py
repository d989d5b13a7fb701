"""Filters and aggregations over archive records, all single-pass and bounded in memory."""

from __future__ import annotations

import heapq
import json
import re
import shlex
import tempfile
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from crawler.review.reader import record_time

_RELATIVE = re.compile(r"^\s*(\d+)\s*([hdwm])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "m": timedelta(days=30)}


class FilterError(ValueError):
    """A filter value the user gave cannot be understood."""


def parse_when(value: str, *, end: bool = False, now: datetime | None = None) -> datetime:
    """Parse ``--since``/``--until``: ``7d``/``12h``/``2w``/``1m`` (ago), a date, or an ISO datetime.

    A bare date means the start of that UTC day, or with ``end`` the start of the next one, so
    ``--until 2025-03-10`` includes the whole of 10 March.
    """
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(value)
    if m:
        return now - int(m.group(1)) * _UNITS[m.group(2).lower()]
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time(), tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"cannot read date {value!r}: use YYYY-MM-DD, an ISO 8601 time, or 7d/12h/2w") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def fold(text: str) -> str:
    """Case- and accent-insensitive form, so ``perché`` matches ``perche`` in Italian text."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass
class Filters:
    topics: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    query: str | None = None
    include_duplicates: bool = False

    def __post_init__(self) -> None:
        self._topics = {t.casefold() for t in self.topics}
        self._sources = {s.casefold() for s in self.sources}
        self._languages = {lang.casefold() for lang in self.languages}
        try:
            words = shlex.split(self.query) if self.query else []
        except ValueError:  # an unbalanced quote: fall back to plain words
            words = self.query.split() if self.query else []
        self._words = [fold(w) for w in words if w.strip()]

    def accepts(self, record: dict[str, Any], when: datetime | None) -> bool:
        """True when the record passes every filter; ``when`` is its :func:`record_time`."""
        if not self.include_duplicates and record.get("duplicate_of"):
            return False
        if self._topics and not self._topics.intersection(str(t).casefold() for t in record["topics"]):
            return False
        if self._sources and str(record["source"]).casefold() not in self._sources:
            return False
        if self._languages and str(record["language"] or "").casefold() not in self._languages:
            return False
        if self.since is not None and (when is None or when < self.since):
            return False
        if self.until is not None and (when is None or when >= self.until):
            return False
        if self._words:
            # Words (or "quoted phrases") must all appear in the title or the text.
            haystack = fold(f"{record['title'] or ''}\n{record['text'] or ''}")
            if not all(word in haystack for word in self._words):
                return False
        return True


@dataclass(frozen=True, order=True, slots=True)
class Row:
    """What `list` and `report` keep of a story: no text, no matches."""

    sort_key: tuple[float, int]
    story_id: str = field(compare=False)
    when: datetime | None = field(compare=False)
    source: str = field(compare=False)
    language: str = field(compare=False)
    topics: tuple[str, ...] = field(compare=False)
    title: str = field(compare=False)
    url: str = field(compare=False)
    duplicate_of: str | None = field(compare=False)
    duplicate_kind: str | None = field(compare=False)
    cluster: str = field(compare=False, default="")


def _sort_key(when: datetime | None, seq: int) -> tuple[float, int]:
    # Larger = newer; undated records sort oldest; seq keeps archive order among equal times.
    return (when.timestamp() if when else float("-inf"), seq)


def make_row(record: dict[str, Any], when: datetime | None, seq: int) -> Row:
    return Row(
        sort_key=_sort_key(when, seq),
        story_id=str(record["story_id"]),
        when=when,
        source=str(record["source"]),
        language=str(record["language"] or ""),
        topics=tuple(str(t) for t in record["topics"]),
        title=str(record["title"] or ""),
        url=str(record["url"] or ""),
        duplicate_of=record["duplicate_of"],
        duplicate_kind=record["duplicate_kind"],
        cluster=str(record.get("story_cluster") or record["story_id"]),
    )


def filtered(records: Iterable[dict[str, Any]], filters: Filters) -> Iterator[tuple[dict[str, Any], datetime | None]]:
    for record in records:
        when = record_time(record)
        if filters.accepts(record, when):
            yield record, when


def newest_rows(records: Iterable[dict[str, Any]], filters: Filters, limit: int | None = None) -> list[Row]:
    """Matching stories, newest first; with ``limit`` only a heap of that size is kept."""
    rows = (make_row(rec, when, seq) for seq, (rec, when) in enumerate(filtered(records, filters)))
    if limit is not None:
        return heapq.nlargest(limit, rows)
    return sorted(rows, reverse=True)


def newest_records_json(records: Iterable[dict[str, Any]], filters: Filters, limit: int | None = None) -> Iterator[str]:
    """Matching records as JSON lines, newest first.

    Whole records are big (they hold the text), so they are spooled to a temporary file and only the
    sort key and offset of each stays in memory; the spool is then read back in order.
    """
    with tempfile.TemporaryFile() as spool:
        keys: list[tuple[tuple[float, int], int, int]] = []
        for seq, (rec, when) in enumerate(filtered(records, filters)):
            data = json.dumps(rec, ensure_ascii=False).encode("utf-8")
            offset = spool.tell()
            spool.write(data)
            item = (_sort_key(when, seq), offset, len(data))
            if limit is None:
                keys.append(item)
            elif len(keys) < limit:
                heapq.heappush(keys, item)
            elif limit > 0:
                heapq.heappushpop(keys, item)
        keys.sort(reverse=True)
        for _, offset, size in keys:
            spool.seek(offset)
            yield spool.read(size).decode("utf-8")


def find_story(records: Iterable[dict[str, Any]], story_id: str) -> tuple[dict[str, Any] | None, list[Row], set[str]]:
    """Scan for one story and the records that are duplicates of it.

    ``story_id`` may be a unique prefix. Returns (record or None, duplicate rows oldest first, ids
    that matched the prefix) — more than one id means the prefix is ambiguous.
    """
    wanted = story_id.strip().lower()
    found: dict[str, dict[str, Any]] = {}
    duplicates: dict[str, list[Row]] = defaultdict(list)
    for seq, rec in enumerate(records):
        sid = str(rec["story_id"]).lower()
        if sid.startswith(wanted):
            found[sid] = rec  # the last copy wins: a story archived again carries the newest data
        dup = rec.get("duplicate_of")
        if isinstance(dup, str) and dup.lower().startswith(wanted):
            duplicates[dup.lower()].append(make_row(rec, record_time(rec), seq))
    ids = set(found)
    if len(found) != 1:
        return None, [], ids
    (sid, record), = found.items()
    return record, sorted(duplicates.get(sid, [])), ids


def cluster_rows(records: Iterable[dict[str, Any]], cluster: str) -> list[Row]:
    """Every record of one story cluster (every outlet, language and copy), oldest first."""
    return sorted(make_row(rec, record_time(rec), seq) for seq, rec in enumerate(records)
                  if str(rec.get("story_cluster") or rec["story_id"]) == cluster)


@dataclass
class Cluster:
    """One story as it spread: its records, oldest first."""

    rows: list[Row]

    @property
    def first(self) -> Row:
        return self.rows[0]

    @property
    def outlets(self) -> list[str]:
        return list(dict.fromkeys(row.source for row in self.rows))

    @property
    def languages(self) -> list[str]:
        return list(dict.fromkeys(row.language or "?" for row in self.rows))

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.first.cluster, "title": self.first.title, "first": _iso_or_none(self.first.when),
                "last": _iso_or_none(self.rows[-1].when), "outlets": self.outlets, "languages": self.languages,
                "stories": [{"story_id": r.story_id, "source": r.source, "language": r.language,
                             "date": _iso_or_none(r.when), "title": r.title, "url": r.url,
                             "duplicate_of": r.duplicate_of} for r in self.rows]}


def _iso_or_none(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def clusters(records: Iterable[dict[str, Any]], filters: Filters, limit: int | None = None) -> list[Cluster]:
    """Story clusters with a matching record (copies included), newest first story first. A cluster
    keeps its records that match the filters, duplicates included."""
    with_copies = replace(filters, include_duplicates=True)
    groups: dict[str, list[Row]] = defaultdict(list)
    for seq, (rec, when) in enumerate(filtered(records, with_copies)):
        row = make_row(rec, when, seq)
        groups[row.cluster].append(row)
    found = [Cluster(sorted(rows)) for rows in groups.values()]
    found.sort(key=lambda c: c.first.sort_key, reverse=True)
    return found[:limit] if limit is not None else found


@dataclass
class Stats:
    """Counters for `stats` and the report's summaries."""

    total: int = 0
    duplicates: int = 0
    undated: int = 0
    topics: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    days: Counter[str] = field(default_factory=Counter)
    topic_days: Counter[tuple[str, str]] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, record: dict[str, Any], when: datetime | None) -> None:
        self.total += 1
        if record.get("duplicate_of"):
            self.duplicates += 1
        self.sources[str(record["source"])] += 1
        self.languages[str(record["language"] or "?")] += 1
        day = when.date().isoformat() if when else None
        if day is None:
            self.undated += 1
        else:
            self.days[day] += 1
            assert when is not None  # a day is only known with its time
            self.first = when if self.first is None or when < self.first else self.first
            self.last = when if self.last is None or when > self.last else self.last
        for topic in dict.fromkeys(str(t) for t in record["topics"]):
            self.topics[topic] += 1
            if day is not None:
                self.topic_days[(topic, day)] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "duplicates": self.duplicates,
            "undated": self.undated,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "topics": dict(self.topics.most_common()),
            "sources": dict(self.sources.most_common()),
            "languages": dict(self.languages.most_common()),
            "days": dict(sorted(self.days.items())),
        }


def collect_stats(records: Iterable[dict[str, Any]], filters: Filters) -> Stats:
    stats = Stats()
    for rec, when in filtered(records, filters):
        stats.add(rec, when)
    return stats


def day_range(first: date, last: date) -> list[str]:
    """Every UTC day from first to last inclusive, as ISO strings."""
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
