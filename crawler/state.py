"""What newswatch remembers between runs.

One small synchronous interface, :class:`StateStore`, with two backends: the
default :class:`SqliteState` (one file, one run at a time under the run lock)
and :class:`crawler.redis_state.RedisState` (one Redis shared by several
workers). :func:`open_state` opens either, from a path or a ``redis://`` URL;
``tests/test_state_contract.py`` runs the same tests on both. The store holds:

* fetched URLs (to skip known articles) and feed validators (ETag /
  Last-Modified for conditional requests);
* every original story seen: id, URL, source, text hash, MinHash signature and
  its LSH band keys (an indexed table, so the near-duplicate index never has to
  be held in memory);
* the alert outbox: one row per (story, alert target), pending until delivered;
* per-source health records (free-form JSON).

* the archive queue: stories committed but not yet appended to the JSONL archive.

The commit point: :meth:`StateStore.commit` writes everything a run decided about
one fetched article -- every URL it is known by, the story and its near-duplicate
index keys, its outbox rows, its archive-queue entry -- in one transaction. Before
that commit nothing durable exists about the article (a killed run fetches it
again); after it, the next run finishes what was committed (sends the pending
rows, appends the queued archive records). No other write creates a story.

Durability: WAL mode, ``synchronous=NORMAL``; only a power failure can lose the
last few commits. A write that fails (disk full, I/O error) raises
:class:`StateWriteError`; a corrupt or unreadable file raises :class:`StateError`
and is left untouched.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.dates import epoch, iso

logger = logging.getLogger(__name__)

# Seconds between refreshes of a known URL's last-seen time (see is_known_url).
_TOUCH_INTERVAL = 24 * 3600
#: URL schemes of a shared (Redis) state; anything else is a SQLite path.
REDIS_SCHEMES = ("redis", "rediss", "unix")
# last_error is for people reading the outbox, not a log: keep it short.
_MAX_ERROR_CHARS = 500


class StateError(Exception):
    """The state file cannot be used (corrupt, unreadable, from a newer version)."""


class StateWriteError(StateError):
    """A write to the state failed (disk full, I/O error): nothing of that transaction was kept."""


class IndexChanged(Exception):
    """A shared state refused an original: a story recorded since its duplicate check shares its text
    hash or a band key (another worker got there first). Nothing was written; check again and commit."""


@dataclass(frozen=True)
class StoryFingerprint:
    """What the near-duplicate index keeps of an original story's text."""

    text_hash: str
    signature: bytes
    band_keys: list[bytes]


@dataclass(frozen=True)
class ClusterEntry:
    """What the cluster index keeps of an original story (see :mod:`crawler.clusters`): its cluster (the
    ``story_id`` of the cluster's first story), language, title, instant (published, else seen; epoch
    seconds), evidence keys, and the keys it is found by."""

    cluster: str
    language: str
    title: str
    at: float
    evidence: tuple[str, ...]
    lookup: tuple[str, ...]


@dataclass(frozen=True)
class StoryInfo:
    """An original story as the cluster index knows it."""

    story_id: str
    url: str
    source: str
    title: str
    language: str
    cluster: str
    at: float
    evidence: tuple[str, ...]


@dataclass
class ArticleCommit:
    """Everything one run decided about one fetched article, made durable by :meth:`StateStore.commit`.

    ``urls`` are all the URLs the article is known by (discovered, each redirect hop, final,
    canonical). A page that is not a story (no article, no topic, not HTML) has only ``urls``.
    A story has ``story_id`` and ``record`` (its archive record, queued for the archive); an
    original also has ``fingerprint`` (recorded in the near-duplicate index); ``alerts`` are its
    ``(target_id, payload)`` outbox rows.
    """

    source: str
    urls: Sequence[str]
    story_id: str | None = None
    record: dict[str, Any] | None = None
    fingerprint: StoryFingerprint | None = None
    published: str | None = None
    seen_at: str | float | datetime | None = None
    alerts: Sequence[tuple[str, dict[str, Any]]] = ()
    # For a page dropped for matching no topic: the version fetched (ISO 8601). A feed or sitemap entry
    # updated later than this makes the URL worth fetching again (see recheck_after()).
    recheck_after: str | None = None
    # For an original: StateStore.index_version() read before its duplicate check. A shared store refuses
    # the commit (IndexChanged) when a story recorded since could be an earlier copy.
    index_seq: int | None = None
    # For an original: its entry in the cluster index (written with the story, in the same transaction).
    cluster: ClusterEntry | None = None


@dataclass
class OutboxRow:
    """One queued alert: a story for one alert target."""

    id: int
    story_id: str
    target_id: str
    payload: dict[str, Any]
    status: str  # "pending" or "delivered"
    attempts: int
    last_error: str | None
    created_at: str  # ISO 8601 UTC
    delivered_at: str | None = None


class StateStore(ABC):
    """The state interface the crawler codes against (see docs/DESIGN.md, "State").

    ``shared`` stores (Redis) are used by several workers at once; the others by one run at a time,
    under the run lock, so claims and index versions are trivial there."""

    shared = False

    # Run lock and lifetime.
    @abstractmethod
    def acquire_lock(self) -> bool:
        """Take the run lock without waiting; False when another run holds it."""

    @abstractmethod
    def release_lock(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def prune(self, retention_days: int) -> int:
        """Forget what is older than ``retention_days``; never pending alerts or their stories."""

    # URLs.
    @abstractmethod
    def is_known_url(self, url: str) -> bool: ...

    @abstractmethod
    def mark_url(self, url: str, source: str) -> None: ...

    @abstractmethod
    def recheck_after(self, url: str) -> float | None:
        """For a known URL dropped for matching no topic: the epoch of the version fetched; None for any
        other URL (a story, or a page that is not an article), which is never fetched again."""

    # The commit point.
    @abstractmethod
    def commit(self, article: ArticleCommit) -> int:
        """Write everything in *article* in one transaction (see the module docstring); returns how many
        outbox rows were new (a row already queued for that story and target is never queued twice)."""

    def commit_many(self, articles: Sequence[ArticleCommit]) -> int:
        """:meth:`commit` for several articles, in one transaction where the store can (for the pages a run
        drops by the thousand, whose loss would only mean fetching them again)."""
        return sum(self.commit(article) for article in articles)

    # Archive queue.
    @abstractmethod
    def archive_pending(self) -> list[tuple[str, dict[str, Any]]]:
        """(story_id, archive record) of committed stories not yet in the archive, in commit order."""

    @abstractmethod
    def mark_archived(self, story_ids: Sequence[str]) -> None: ...

    # Conditional requests.
    @abstractmethod
    def get_validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) last returned for ``url``."""

    @abstractmethod
    def set_validators(self, url: str, etag: str | None, last_modified: str | None) -> None: ...

    # Stories.
    @abstractmethod
    def find_exact(self, text_hash: str) -> str | None: ...

    @abstractmethod
    def near_candidates(self, band_keys: list[bytes]) -> list[str]:
        """Ids of stories sharing at least one band key, oldest recorded first."""

    @abstractmethod
    def add_story(
        self,
        story_id: str,
        url: str,
        source: str,
        text_hash: str,
        band_keys: list[bytes],
        signature: bytes,
        published: str | None,
        seen_at: str | float | datetime | None,
    ) -> None: ...

    @abstractmethod
    def get_signature(self, story_id: str) -> bytes | None: ...

    # Clusters (see crawler.clusters).
    @abstractmethod
    def cluster_candidates(self, keys: Sequence[str], since: float, until: float, not_language: str,
                           limit: int) -> list[StoryInfo]:
        """Stories of another language than *not_language*, from *since* to *until* (epoch), sharing at
        least one of *keys*: the *limit* sharing most first. The cost grows with the stories of the
        window that share a key, never with the whole index."""

    @abstractmethod
    def stories_info(self, story_ids: Sequence[str]) -> list[StoryInfo]:
        """What the cluster index knows of these stories (those it knows), in the order given."""

    @abstractmethod
    def cluster_stories(self, cluster: str) -> list[StoryInfo]:
        """The originals of one cluster, first recorded first."""

    @abstractmethod
    def story_count(self) -> int: ...

    # Outbox.
    @abstractmethod
    def enqueue(self, story_id: str, target_id: str, payload: dict[str, Any]) -> bool:
        """Queue an alert; False if this (story, target) pair was queued before."""

    @abstractmethod
    def pending(self, target_id: str | None = None, story_id: str | None = None) -> list[OutboxRow]:
        """Undelivered alerts, oldest first (optionally of one target and/or one story)."""

    @abstractmethod
    def claim(self, row_ids: Sequence[int]) -> list[int]:
        """Claim pending rows for sending: the ids this process may send now (a lease in a shared store;
        delivered rows and rows another worker holds are left out)."""

    @abstractmethod
    def release(self, row_ids: Sequence[int]) -> None:
        """Give up claims without an outcome (the run is stopping): another worker may send them."""

    def index_version(self) -> int:
        """A number that grows whenever an original story is recorded (see ArticleCommit.index_seq)."""
        return 0

    @abstractmethod
    def mark_delivered(self, row_id: int) -> None: ...

    @abstractmethod
    def mark_failed(self, row_id: int, error: str) -> None:
        """Count a failed attempt; ``error`` must already be free of secrets."""

    @abstractmethod
    def outbox_counts(self) -> dict[str, int]:
        """``{"pending": n, "delivered": m}``."""

    # Health.
    @abstractmethod
    def get_health(self, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def set_health(self, key: str, value: dict[str, Any]) -> None: ...


# Ordered schema migrations: MIGRATIONS[i] holds the statements that take the
# file from user_version i to i + 1, applied in one transaction. Append only;
# never edit a released step.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        "CREATE TABLE urls ("
        " url TEXT PRIMARY KEY, source TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL)",
        "CREATE INDEX urls_last_seen ON urls(last_seen)",
        "CREATE TABLE validators ("
        " url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, updated_at REAL NOT NULL)",
        "CREATE TABLE stories ("
        " id INTEGER PRIMARY KEY, story_id TEXT NOT NULL UNIQUE, url TEXT NOT NULL, source TEXT NOT NULL,"
        " text_hash TEXT NOT NULL, signature BLOB NOT NULL, published TEXT, seen_at REAL NOT NULL)",
        "CREATE INDEX stories_text_hash ON stories(text_hash)",
        "CREATE INDEX stories_seen_at ON stories(seen_at)",
        # One row per (band key, story): the primary key is the lookup index, and
        # story_ref is stories.id (an integer) to keep the biggest table small.
        "CREATE TABLE story_bands ("
        " band_key BLOB NOT NULL, story_ref INTEGER NOT NULL, PRIMARY KEY (band_key, story_ref)) WITHOUT ROWID",
        "CREATE TABLE outbox ("
        " id INTEGER PRIMARY KEY, story_id TEXT NOT NULL, target_id TEXT NOT NULL, payload TEXT NOT NULL,"
        " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),"
        " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL, delivered_at REAL,"
        " UNIQUE (story_id, target_id))",
        "CREATE INDEX outbox_status ON outbox(status, target_id, id)",
        "CREATE TABLE health (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)",
    ),
    (
        # Stories committed but not yet appended to the archive file (see ArchivePipeline).
        "CREATE TABLE archive_queue ("
        " id INTEGER PRIMARY KEY, story_id TEXT NOT NULL UNIQUE, record TEXT NOT NULL, queued_at REAL NOT NULL)",
    ),
    (
        # Pages dropped for matching no topic: the version fetched, so an update can be re-checked.
        "ALTER TABLE urls ADD COLUMN recheck_after REAL",
    ),
    (
        # Story clusters across languages (crawler.clusters). A story from before has no cluster: its own.
        "ALTER TABLE stories ADD COLUMN cluster TEXT",
        "ALTER TABLE stories ADD COLUMN language TEXT",
        "ALTER TABLE stories ADD COLUMN title TEXT",
        "ALTER TABLE stories ADD COLUMN at REAL",
        "ALTER TABLE stories ADD COLUMN evidence TEXT",
        "CREATE INDEX stories_cluster ON stories(cluster)",
        # The inverted index: one row per (evidence key, story), ordered by instant so a lookup reads the
        # window only.
        "CREATE TABLE story_evidence ("
        " key TEXT NOT NULL, at REAL NOT NULL, story_ref INTEGER NOT NULL, PRIMARY KEY (key, at, story_ref))"
        " WITHOUT ROWID",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)


# Kept under these names: the Redis store and older imports use them.
_epoch = epoch
_iso = iso


class SqliteState(StateStore):
    """The SQLite backend: one file, one connection, short transactions."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_file: Any = None
        # Pipelines run on the reactor thread, but an alert sender may call back
        # from a worker thread: one connection shared under a lock.
        self._mutex = threading.RLock()
        self._conn = self._open()

    # -- opening -------------------------------------------------------
    def _fail(self, problem: str) -> StateError:
        return StateError(f"state file {self.path}: {problem} (the file was not deleted or changed)")

    def _open(self) -> sqlite3.Connection:
        if self.path.exists() and not self.path.is_file():
            raise self._fail("is not a regular file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"state file {self.path}: cannot create its directory: {exc.strerror}") from exc
        try:
            # Autocommit mode: transactions are explicit (see _tx) and short.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        except sqlite3.Error as exc:
            raise self._fail(f"cannot be opened: {exc}") from exc
        try:
            # Read-only checks first, so nothing is written to a file that is not ours.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise self._fail(
                    f"has schema version {version}, newer than this newswatch understands ({SCHEMA_VERSION})"
                )
            if version > 0:
                result = str(conn.execute("PRAGMA quick_check").fetchone()[0])
                if result != "ok":
                    # SQLite's report can run to many lines; its first says enough.
                    raise self._fail(f"is corrupt ({result.splitlines()[0][:200]})")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._migrate(conn, version)
        except StateError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise self._fail(f"is not a usable newswatch state database ({str(exc).splitlines()[0]})") from exc
        return conn

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Read again under the write lock: another process may have migrated meanwhile
                # (two first runs at once, or `review` opening a new file while a crawl starts).
                if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                    conn.execute("COMMIT")
                    continue
                logger.info("Migrating state %s to schema version %d", self.path, target)
                for statement in MIGRATIONS[target - 1]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target:d}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StateError(f"state file {self.path}: the store is closed")
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One committed write transaction; a failed write raises StateWriteError, nothing of it kept."""
        with self._mutex:
            conn = self._db
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                # Disk full, I/O error, read-only file system, a lock held past the timeout.
                raise StateWriteError(f"state file {self.path}: cannot write: {exc}") from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._mutex:
            return self._db.execute(sql, params).fetchall()

    # -- lock and lifetime ---------------------------------------------
    @property
    def lock_path(self) -> Path:
        return RunLock(self.path).path

    def acquire_lock(self) -> bool:
        if self._lock_file is None:
            lock = RunLock(self.path)
            if not lock.acquire():
                return False
            self._lock_file = lock
        return True

    def release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.release()
            self._lock_file = None

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]
        self.release_lock()

    def prune(self, retention_days: int) -> int:
        """Delete URLs, validators, stories (with band keys) and delivered alerts older than the cutoff.

        Returns the number of URL, validator, story and outbox rows removed
        (band keys go with their story and are not counted).
        """
        cutoff = time.time() - retention_days * 86400
        with self._tx() as conn:
            removed = conn.execute("DELETE FROM urls WHERE last_seen < ?", (cutoff,)).rowcount
            removed += conn.execute("DELETE FROM validators WHERE updated_at < ?", (cutoff,)).rowcount
            removed += conn.execute(
                "DELETE FROM outbox WHERE status = 'delivered' AND COALESCE(delivered_at, created_at) < ?",
                (cutoff,),
            ).rowcount
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY)")
            conn.execute("DELETE FROM doomed")
            conn.execute(
                "INSERT INTO doomed SELECT id FROM stories WHERE seen_at < ? AND story_id NOT IN "
                "(SELECT story_id FROM outbox WHERE status = 'pending') "
                "AND story_id NOT IN (SELECT story_id FROM archive_queue)",
                (cutoff,),
            )
            conn.execute("DELETE FROM story_bands WHERE story_ref IN (SELECT id FROM doomed)")
            conn.execute("DELETE FROM story_evidence WHERE story_ref IN (SELECT id FROM doomed)")
            removed += conn.execute("DELETE FROM stories WHERE id IN (SELECT id FROM doomed)").rowcount
            conn.execute("DELETE FROM doomed")
        logger.info("Pruned %d state rows older than %d days from %s", removed, retention_days, self.path)
        return removed

    # -- URLs ----------------------------------------------------------
    def is_known_url(self, url: str) -> bool:
        now = time.time()
        with self._mutex:
            row = self._db.execute("SELECT last_seen FROM urls WHERE url = ?", (url,)).fetchone()
            if row is None:
                return False
            if row[0] < now - _TOUCH_INTERVAL:
                # Still listed by a feed or sitemap: keep it from expiring, or
                # pruning would make a years-old sitemap entry look new again.
                try:
                    self._db.execute("UPDATE urls SET last_seen = ? WHERE url = ?", (now, url))
                except sqlite3.OperationalError:
                    pass  # a refresh only: the next run tries again
            return True

    def mark_url(self, url: str, source: str) -> None:
        self.commit(ArticleCommit(source=source, urls=[url]))

    def recheck_after(self, url: str) -> float | None:
        rows = self._query("SELECT recheck_after FROM urls WHERE url = ?", (url,))
        return rows[0][0] if rows else None

    # -- the commit point ------------------------------------------------
    def commit(self, article: ArticleCommit) -> int:
        with self._tx() as conn:
            return self._commit(conn, article, time.time())

    def commit_many(self, articles: Sequence[ArticleCommit]) -> int:
        with self._tx() as conn:
            now = time.time()
            return sum(self._commit(conn, article, now) for article in articles)

    @staticmethod
    def _commit(conn: sqlite3.Connection, article: ArticleCommit, now: float) -> int:
        recheck = _epoch(article.recheck_after) if article.recheck_after else None
        conn.executemany(
            "INSERT INTO urls (url, source, first_seen, last_seen, recheck_after) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET last_seen = excluded.last_seen,"
            " recheck_after = excluded.recheck_after",
            [(url, article.source, now, now, recheck) for url in dict.fromkeys(article.urls)],
        )
        if article.story_id is None:
            return 0
        if article.fingerprint is not None:
            fp = article.fingerprint
            url = str((article.record or {}).get("url") or (article.urls[0] if article.urls else ""))
            _insert_story(conn, article.story_id, url, article.source, fp.text_hash, fp.band_keys,
                          fp.signature, article.published, article.seen_at, article.cluster)
        queued = sum(_insert_outbox(conn, article.story_id, target_id, payload, now)
                     for target_id, payload in article.alerts)
        if article.record is not None:
            conn.execute(
                "INSERT INTO archive_queue (story_id, record, queued_at) VALUES (?, ?, ?) "
                "ON CONFLICT(story_id) DO NOTHING",
                (article.story_id, json.dumps(article.record, ensure_ascii=False), now),
            )
        return queued

    def archive_pending(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self._query("SELECT story_id, record FROM archive_queue ORDER BY id")
        return [(row[0], json.loads(row[1])) for row in rows]

    def mark_archived(self, story_ids: Sequence[str]) -> None:
        with self._tx() as conn:
            conn.executemany("DELETE FROM archive_queue WHERE story_id = ?", [(sid,) for sid in story_ids])

    # -- conditional requests ------------------------------------------
    def get_validators(self, url: str) -> tuple[str | None, str | None]:
        rows = self._query("SELECT etag, last_modified FROM validators WHERE url = ?", (url,))
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def set_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        with self._tx() as conn:
            if etag is None and last_modified is None:
                conn.execute("DELETE FROM validators WHERE url = ?", (url,))
                return
            conn.execute(
                "INSERT INTO validators (url, etag, last_modified, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
                "last_modified = excluded.last_modified, updated_at = excluded.updated_at",
                (url, etag, last_modified, time.time()),
            )

    # -- stories -------------------------------------------------------
    def find_exact(self, text_hash: str) -> str | None:
        rows = self._query("SELECT story_id FROM stories WHERE text_hash = ? ORDER BY id LIMIT 1", (text_hash,))
        return rows[0][0] if rows else None

    def near_candidates(self, band_keys: list[bytes]) -> list[str]:
        if not band_keys:
            return []
        placeholders = ",".join("?" * len(band_keys))
        rows = self._query(
            "SELECT story_id FROM stories WHERE id IN "
            f"(SELECT story_ref FROM story_bands WHERE band_key IN ({placeholders})) ORDER BY id",
            [bytes(key) for key in band_keys],
        )
        return [row[0] for row in rows]

    def add_story(
        self,
        story_id: str,
        url: str,
        source: str,
        text_hash: str,
        band_keys: list[bytes],
        signature: bytes,
        published: str | None,
        seen_at: str | float | datetime | None,
    ) -> None:
        """Record an original story. The first recording of a story id wins; later ones are ignored."""
        with self._tx() as conn:
            _insert_story(conn, story_id, url, source, text_hash, band_keys, signature, published, seen_at)

    def add_stories_bulk(
        self, rows: Sequence[tuple[str, str, str, str, list[bytes], bytes, str | None, float]]
    ) -> None:
        """Many ``add_story`` argument tuples in one transaction (benchmarks, imports)."""
        with self._tx() as conn:
            for story_id, url, source, text_hash, keys, signature, published, seen_at in rows:
                _insert_story(conn, story_id, url, source, text_hash, keys, signature, published, seen_at)

    def get_signature(self, story_id: str) -> bytes | None:
        rows = self._query("SELECT signature FROM stories WHERE story_id = ?", (story_id,))
        return bytes(rows[0][0]) if rows else None

    def story_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM stories")[0][0])

    # -- clusters --------------------------------------------------------
    _INFO = ("SELECT s.story_id, s.url, s.source, COALESCE(s.title, ''), COALESCE(s.language, ''),"
             " COALESCE(s.cluster, s.story_id), COALESCE(s.at, s.seen_at), COALESCE(s.evidence, '[]')"
             " FROM stories s")

    @staticmethod
    def _info(row: Sequence[Any]) -> StoryInfo:
        return StoryInfo(row[0], row[1], row[2], row[3], row[4], row[5], float(row[6]), tuple(json.loads(row[7])))

    def cluster_candidates(self, keys: Sequence[str], since: float, until: float, not_language: str,
                           limit: int) -> list[StoryInfo]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        placeholders = ",".join("?" * len(keys))
        rows = self._query(
            f"{self._INFO} JOIN (SELECT story_ref, COUNT(*) AS n FROM story_evidence"
            f" WHERE key IN ({placeholders}) AND at BETWEEN ? AND ? GROUP BY story_ref) hits"
            " ON hits.story_ref = s.id WHERE COALESCE(s.language, '') != ?"
            " ORDER BY hits.n DESC, s.id LIMIT ?",
            [*keys, since, until, not_language, limit],
        )
        return [self._info(row) for row in rows]

    def stories_info(self, story_ids: Sequence[str]) -> list[StoryInfo]:
        ids = list(dict.fromkeys(story_ids))
        if not ids:
            return []
        rows = self._query(f"{self._INFO} WHERE s.story_id IN ({','.join('?' * len(ids))})", ids)
        found = {row[0]: self._info(row) for row in rows}
        return [found[i] for i in ids if i in found]

    def cluster_stories(self, cluster: str) -> list[StoryInfo]:
        rows = self._query(f"{self._INFO} WHERE s.cluster = ? OR s.story_id = ? ORDER BY s.id", (cluster, cluster))
        return [self._info(row) for row in rows]

    # -- outbox --------------------------------------------------------
    def enqueue(self, story_id: str, target_id: str, payload: dict[str, Any]) -> bool:
        with self._tx() as conn:
            return _insert_outbox(conn, story_id, target_id, payload, time.time())

    def pending(self, target_id: str | None = None, story_id: str | None = None) -> list[OutboxRow]:
        sql = (
            "SELECT id, story_id, target_id, payload, status, attempts, last_error, created_at, delivered_at "
            "FROM outbox WHERE status = 'pending'"
        )
        params: tuple[Any, ...] = ()
        if target_id is not None:
            sql += " AND target_id = ?"
            params += (target_id,)
        if story_id is not None:
            # UNIQUE(story_id, target_id) indexes this lookup.
            sql += " AND story_id = ?"
            params += (story_id,)
        rows = self._query(sql + " ORDER BY created_at, id", params)
        return [
            OutboxRow(
                id=row[0],
                story_id=row[1],
                target_id=row[2],
                payload=json.loads(row[3]),
                status=row[4],
                attempts=row[5],
                last_error=row[6],
                created_at=_iso(row[7]) or "",
                delivered_at=_iso(row[8]),
            )
            for row in rows
        ]

    def claim(self, row_ids: Sequence[int]) -> list[int]:
        """One run at a time holds the file (the run lock): every pending row given is this run's."""
        if not row_ids:
            return []
        wanted = [int(row_id) for row_id in row_ids]
        placeholders = ",".join("?" * len(wanted))
        rows = self._query(f"SELECT id FROM outbox WHERE status = 'pending' AND id IN ({placeholders})", wanted)
        pending = {row[0] for row in rows}
        return [row_id for row_id in wanted if row_id in pending]

    def release(self, row_ids: Sequence[int]) -> None:
        """Nothing to give up: one run at a time holds the file, and its claims are only its pending rows."""

    def _update_row(self, row_id: int, sql: str, params: tuple[Any, ...]) -> None:
        with self._tx() as conn:
            if conn.execute(sql, (*params, row_id)).rowcount != 1:
                raise KeyError(f"no outbox row {row_id}")

    def mark_delivered(self, row_id: int) -> None:
        self._update_row(
            row_id,
            "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ? WHERE id = ?",
            (time.time(),),
        )

    def mark_failed(self, row_id: int, error: str) -> None:
        self._update_row(
            row_id,
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error[:_MAX_ERROR_CHARS],),
        )

    def outbox_counts(self) -> dict[str, int]:
        counts = {"pending": 0, "delivered": 0}
        for status, count in self._query("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
            counts[status] = count
        return counts

    # -- health --------------------------------------------------------
    def get_health(self, key: str) -> dict[str, Any] | None:
        rows = self._query("SELECT value FROM health WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def set_health(self, key: str, value: dict[str, Any]) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO health (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, json.dumps(value, ensure_ascii=False, sort_keys=True), time.time()),
            )


def _insert_story(conn: sqlite3.Connection, story_id: str, url: str, source: str, text_hash: str,
                  band_keys: Sequence[bytes], signature: bytes, published: str | None,
                  seen_at: str | float | datetime | None, cluster: ClusterEntry | None = None) -> None:
    c = cluster
    cursor = conn.execute(
        "INSERT INTO stories (story_id, url, source, text_hash, signature, published, seen_at,"
        " cluster, language, title, at, evidence) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(story_id) DO NOTHING",
        (story_id, url, source, text_hash, bytes(signature), published, _epoch(seen_at),
         c.cluster if c else None, c.language if c else None, c.title if c else None, c.at if c else None,
         json.dumps(list(c.evidence), ensure_ascii=False) if c else None),
    )
    if cursor.rowcount == 1:
        ref = cursor.lastrowid
        conn.executemany(
            "INSERT OR IGNORE INTO story_bands (band_key, story_ref) VALUES (?, ?)",
            [(bytes(key), ref) for key in band_keys],
        )
        if c is not None:
            conn.executemany(
                "INSERT OR IGNORE INTO story_evidence (key, at, story_ref) VALUES (?, ?, ?)",
                [(key, c.at, ref) for key in dict.fromkeys(c.lookup)],
            )


def _insert_outbox(conn: sqlite3.Connection, story_id: str, target_id: str, payload: dict[str, Any],
                   now: float) -> bool:
    cursor = conn.execute(
        "INSERT INTO outbox (story_id, target_id, payload, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(story_id, target_id) DO NOTHING",
        (story_id, target_id, json.dumps(payload, ensure_ascii=False), now),
    )
    return cursor.rowcount == 1


class RunLock:
    """The run lock: ``flock`` on ``<state file>.lock``, taken before the state file is opened.

    The kernel releases it when the process dies, so a crashed run never blocks the next one;
    taking it first means two runs started at once never both create or migrate a new file."""

    def __init__(self, state_path: str | os.PathLike[str]) -> None:
        state = Path(state_path)
        self.path = state.with_name(state.name + ".lock")
        self._handle: Any = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another run holds it."""
        if self._handle is not None:
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        except OSError as exc:
            raise StateError(f"state lock {self.path}: cannot be created: {exc.strerror}") from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")  # for people wondering who holds it
            handle.flush()
        except OSError:
            pass  # a full disk: the lock holds all the same
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is None:
            return
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


def open_state(path: str | os.PathLike[str], *, worker: str = "", **redis: Any) -> StateStore:
    """Open the state store at ``path``: a SQLite file (created if missing, migrated if old), or a
    ``redis://``/``rediss://``/``unix://`` URL shared with other workers (``worker`` names this one;
    ``retention_days`` and ``lease`` go to :class:`~crawler.redis_state.RedisState`)."""
    text = str(path)
    if "://" in text and text.split("://", 1)[0].lower() in REDIS_SCHEMES:
        from crawler.redis_state import RedisState

        return RedisState(text, worker or default_worker(), **redis)
    return SqliteState(path)


def default_worker() -> str:
    """This process's worker name: ``$NEWSWATCH_WORKER``, else host name and PID."""
    return os.environ.get("NEWSWATCH_WORKER", "").strip() or f"{socket.gethostname()}-{os.getpid()}"


__all__: list[str] = [
    "MIGRATIONS",
    "REDIS_SCHEMES",
    "SCHEMA_VERSION",
    "ArticleCommit",
    "ClusterEntry",
    "IndexChanged",
    "OutboxRow",
    "RunLock",
    "SqliteState",
    "StateError",
    "StateStore",
    "StateWriteError",
    "StoryFingerprint",
    "StoryInfo",
    "default_worker",
    "open_state",
]
