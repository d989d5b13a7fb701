"""The SQLite state store: creation, corruption, migration, lock, URLs, stories, outbox, prune."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from crawler.state import MIGRATIONS, SCHEMA_VERSION, ArticleCommit, StateError, StateStore, open_state

DAY = 86400


@pytest.fixture
def state(tmp_path):
    store = open_state(tmp_path / "state.sqlite")
    yield store
    store.close()


def _age(path, sql: str, params=()) -> None:
    """Rewrite timestamps directly, as if rows were written long ago."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql, params)
    conn.close()


def test_missing_file_is_created_with_parents(tmp_path):
    path = tmp_path / "deep" / "er" / "state.sqlite"
    store = open_state(path)
    try:
        assert isinstance(store, StateStore)
        assert path.is_file()
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
    finally:
        store.close()


def _random_bytes(path):
    path.write_bytes(os.urandom(64 * 1024))


def _truncated_db(path):
    store = open_state(path)
    for i in range(3000):
        store.mark_url(f"https://a.example/{i}", "a")
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _newer_schema(path):
    open_state(path).close()
    _age(path, "PRAGMA user_version = 99")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_random_bytes, "not a usable newswatch state database"),
        (_truncated_db, "corrupt|not a usable"),
        (_newer_schema, "schema version 99"),
    ],
    ids=["random-bytes", "truncated", "newer-schema"],
)
def test_bad_file_raises_and_is_left_alone(tmp_path, make, message):
    path = tmp_path / "state.sqlite"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StateError, match=message) as info:
        open_state(path)
    assert str(path) in str(info.value)
    assert "not deleted" in str(info.value)
    assert path.read_bytes() == before


def test_directory_in_place_of_file(tmp_path):
    (tmp_path / "state.sqlite").mkdir()
    with pytest.raises(StateError, match="not a regular file"):
        open_state(tmp_path / "state.sqlite")


def test_migrations_run_in_order_from_an_older_file(tmp_path, monkeypatch):
    path = tmp_path / "state.sqlite"
    open_state(path).close()
    # A later release appends a step; opening the old file applies just that step.
    extra = ("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)",)
    monkeypatch.setattr("crawler.state.MIGRATIONS", [*MIGRATIONS, extra])
    monkeypatch.setattr("crawler.state.SCHEMA_VERSION", len(MIGRATIONS) + 1)
    store = open_state(path)
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'notes'").fetchone()[0] == 1
    conn.close()


def test_a_version_2_file_gains_recheck_stamps_and_keeps_its_urls(tmp_path):
    path = tmp_path / "state.sqlite"
    conn = sqlite3.connect(path)  # a file as the release before re-checks left it
    for statement in (*MIGRATIONS[0], *MIGRATIONS[1]):
        conn.execute(statement)
    conn.execute("INSERT INTO urls VALUES ('https://a.example/1', 'a', ?, ?)", (time.time(), time.time()))
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    store = open_state(path)
    try:
        assert store.is_known_url("https://a.example/1")
        assert store.recheck_after("https://a.example/1") is None  # never fetched again
        store.commit(ArticleCommit(source="a", urls=["https://a.example/2"], recheck_after="2026-03-02"))
        assert store.recheck_after("https://a.example/2") == datetime(2026, 3, 2, tzinfo=UTC).timestamp()
    finally:
        store.close()


def test_lock_is_exclusive_and_released(tmp_path):
    path = tmp_path / "state.sqlite"
    first, second = open_state(path), open_state(path)
    try:
        assert first.acquire_lock() is True
        assert first.acquire_lock() is True  # re-entrant for the holder
        assert second.acquire_lock() is False
        first.release_lock()
        assert second.acquire_lock() is True
    finally:
        first.close()
        second.close()


def test_lock_held_by_another_process_and_freed_when_it_dies(tmp_path):
    path = tmp_path / "state.sqlite"
    code = (
        "import sys, time; from crawler.state import open_state\n"
        "s = open_state(sys.argv[1]); assert s.acquire_lock(); print('locked', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        store = open_state(path)
        assert store.acquire_lock() is False
        child.kill()
        child.wait()
        assert store.acquire_lock() is True  # the kernel dropped the dead run's lock
        store.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


def test_delivery_survives_a_killed_process(tmp_path):
    """A delivery recorded just before the process is killed is still there."""
    path = tmp_path / "state.sqlite"
    code = (
        "import os, sys; from crawler.state import open_state\n"
        "s = open_state(sys.argv[1]); s.enqueue('s1', 't', {}); s.enqueue('s2', 't', {})\n"
        "s.mark_delivered(s.pending()[0].id); os.kill(os.getpid(), 9)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], cwd=os.getcwd(), check=False)
    assert result.returncode == -9
    store = open_state(path)
    try:
        assert store.outbox_counts() == {"pending": 1, "delivered": 1}
        assert [r.story_id for r in store.pending()] == ["s2"]
    finally:
        store.close()


def test_prune_keeps_pending_alerts_and_their_stories(tmp_path):
    path = tmp_path / "state.sqlite"
    store = open_state(path)
    old = time.time() - 40 * DAY
    store.mark_url("https://a.example/old", "a")
    store.mark_url("https://a.example/new", "a")
    store.set_validators("https://a.example/feed", '"x"', None)
    for sid in ("old-delivered", "old-pending", "old-plain", "new"):
        store.add_story(sid, f"https://a.example/{sid}", "a", sid, [sid.encode()], b"\0" * 8, None, None)
    store.enqueue("old-delivered", "t", {})
    store.enqueue("old-pending", "t", {})
    store.mark_delivered(store.pending()[0].id)
    _age(path, "UPDATE urls SET last_seen = ? WHERE url LIKE '%/old'", (old,))
    _age(path, "UPDATE validators SET updated_at = ?", (old,))
    _age(path, "UPDATE stories SET seen_at = ? WHERE story_id LIKE 'old-%'", (old,))
    _age(path, "UPDATE outbox SET created_at = ?, delivered_at = ?", (old, old))

    # Removed: 1 URL + 1 validator + 1 delivered row + 2 stories (old-delivered, old-plain).
    assert store.prune(30) == 5
    assert not store.is_known_url("https://a.example/old")
    assert store.is_known_url("https://a.example/new")
    assert store.get_validators("https://a.example/feed") == (None, None)
    assert store.outbox_counts() == {"pending": 1, "delivered": 0}
    assert store.get_signature("old-pending") is not None
    assert store.get_signature("old-plain") is None
    assert store.near_candidates([b"old-plain", b"old-delivered", b"old-pending", b"new"]) == ["old-pending", "new"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM story_bands").fetchone()[0] == 2
    conn.close()
    assert store.prune(30) == 0
    store.close()


def test_known_url_still_listed_does_not_expire(tmp_path):
    path = tmp_path / "state.sqlite"
    store = open_state(path)
    store.mark_url("https://a.example/listed", "a")
    _age(path, "UPDATE urls SET last_seen = ?", (time.time() - 40 * DAY,))
    assert store.is_known_url("https://a.example/listed")  # seen again in a sitemap today
    assert store.prune(30) == 0
    assert store.is_known_url("https://a.example/listed")
    store.close()


def test_outbox_payload_is_json(state, tmp_path):
    payload = {"title": "Perché DeepSeek usa Ascend", "n": 1}
    state.enqueue("s1", "t", payload)
    conn = sqlite3.connect(tmp_path / "state.sqlite")
    stored = conn.execute("SELECT payload FROM outbox").fetchone()[0]
    conn.close()
    assert json.loads(stored) == payload
