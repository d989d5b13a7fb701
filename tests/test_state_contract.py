"""The state-store contract: the same tests for every backend (SQLite and Redis).

A behaviour that only one backend has (SQLite's file handling, Redis's leases and ticks) is tested in
``test_state.py`` and ``test_redis_state.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime

import pytest

from crawler.state import ArticleCommit, ClusterEntry, OutboxRow, StoryFingerprint, open_state

DAY = 86400


@pytest.fixture(params=["sqlite", "redis"])
def location(request, tmp_path):
    """Where a store lives: a SQLite file, or a real redis-server on loopback."""
    if request.param == "sqlite":
        return str(tmp_path / "state.sqlite")
    return request.getfixturevalue("redis_server").url


@pytest.fixture
def state(location):
    store = open_state(location, worker="w1")
    yield store
    store.close()


def test_urls_and_validators(state):
    assert not state.is_known_url("https://a.example/1")
    state.mark_url("https://a.example/1", "a")
    state.mark_url("https://a.example/1", "a")
    assert state.is_known_url("https://a.example/1")
    assert state.get_validators("https://a.example/feed") == (None, None)
    state.set_validators("https://a.example/feed", '"abc"', "Tue, 01 Apr 2025 10:00:00 GMT")
    assert state.get_validators("https://a.example/feed") == ('"abc"', "Tue, 01 Apr 2025 10:00:00 GMT")
    state.set_validators("https://a.example/feed", None, "Wed, 02 Apr 2025 10:00:00 GMT")
    assert state.get_validators("https://a.example/feed") == (None, "Wed, 02 Apr 2025 10:00:00 GMT")
    state.set_validators("https://a.example/feed", None, None)
    assert state.get_validators("https://a.example/feed") == (None, None)


def test_stories_and_band_lookup(state):
    state.add_story("s1", "https://a.example/1", "a", "h1", [b"k1", b"k2"], b"\x01" * 8, None, time.time() - DAY)
    state.add_story("s2", "https://b.example/1", "b", "h2", [b"k2", b"k3"], b"\x02" * 8, "2025-04-01", None)
    # A second recording of s1 changes nothing: the first one wins.
    state.add_story("s1", "https://a.example/1", "a", "other", [b"k9"], b"\x09" * 8, None, None)
    assert state.story_count() == 2
    assert state.find_exact("h1") == "s1"
    assert state.find_exact("other") is None
    assert state.near_candidates([b"k2"]) == ["s1", "s2"]
    assert state.near_candidates([b"k3", b"k1", b"zz"]) == ["s1", "s2"]
    assert state.near_candidates([b"k9"]) == []
    assert state.near_candidates([]) == []
    assert state.get_signature("s1") == b"\x01" * 8
    assert state.get_signature("nope") is None


def test_outbox(state):
    assert state.enqueue("s1", "slack", {"title": "Ascend 910C", "topics": ["huawei-ascend"]}) is True
    assert state.enqueue("s1", "slack", {"title": "changed"}) is False  # one alert per (story, target)
    assert state.enqueue("s1", "email", {"title": "Ascend 910C"}) is True
    assert state.enqueue("s2", "slack", {"title": "H800"}) is True
    rows = state.pending()
    assert [(r.story_id, r.target_id) for r in rows] == [("s1", "slack"), ("s1", "email"), ("s2", "slack")]
    assert isinstance(rows[0], OutboxRow)
    assert rows[0].payload == {"title": "Ascend 910C", "topics": ["huawei-ascend"]}
    assert (rows[0].status, rows[0].attempts, rows[0].last_error) == ("pending", 0, None)
    assert rows[0].created_at.endswith("+00:00")
    assert [r.story_id for r in state.pending("slack")] == ["s1", "s2"]
    assert [(r.story_id, r.target_id) for r in state.pending("slack", story_id="s2")] == [("s2", "slack")]
    assert [r.target_id for r in state.pending(story_id="s1")] == ["slack", "email"]

    state.mark_failed(rows[0].id, "HTTP 503 from hooks.slack.com")
    state.mark_delivered(rows[1].id)
    failed = state.pending("slack")[0]
    assert (failed.attempts, failed.last_error, failed.status) == (1, "HTTP 503 from hooks.slack.com", "pending")
    assert [r.target_id for r in state.pending()] == ["slack", "slack"]
    assert state.outbox_counts() == {"pending": 2, "delivered": 1}
    with pytest.raises(KeyError):
        state.mark_delivered(12345)


def test_health_records(state):
    assert state.get_health("source/hdblog") is None
    state.set_health("source/hdblog", {"consecutive_failures": 2, "last_ok": "2025-04-01T10:00:00+00:00"})
    state.set_health("source/hdblog", {"consecutive_failures": 3, "last_ok": "2025-04-01T10:00:00+00:00"})
    assert state.get_health("source/hdblog") == {"consecutive_failures": 3, "last_ok": "2025-04-01T10:00:00+00:00"}


@pytest.mark.parametrize(("commits", "expected"), [
    # dropped for matching no topic: the version seen is kept
    ([{"recheck_after": "2026-03-02T10:00:00+01:00"}], "2026-03-02T10:00:00+01:00"),
    # dropped again after a re-check: the newer version
    ([{"recheck_after": "2026-03-02T10:00:00+01:00"}, {"recheck_after": "2026-03-03"}], "2026-03-03T00:00:00+00:00"),
    # it became a story: never re-checked
    ([{"recheck_after": "2026-03-02T10:00:00+01:00"}, {"story_id": "00000000000000aa", "record": {"url": "u"}}],
     None),
    # another kind of page (no article, not HTML): never re-checked
    ([{}], None),
])
def test_recheck_stamp_follows_the_last_commit(state, commits, expected):
    for extra in commits:
        state.commit(ArticleCommit(source="a", urls=["https://a.example/1", "https://a.example/1?amp"], **extra))
    want = None if expected is None else datetime.fromisoformat(expected).timestamp()
    assert state.recheck_after("https://a.example/1") == want
    assert state.recheck_after("https://a.example/1?amp") == want
    assert state.recheck_after("https://a.example/unknown") is None


def test_a_commit_writes_everything_once(state):
    """The commit point: URLs, story, index keys, outbox rows and archive entry; committing again adds nothing."""
    article = ArticleCommit(
        source="a", urls=["https://a.example/1", "https://a.example/amp/1"], story_id="s1",
        record={"url": "https://a.example/1", "title": "Ascend"},
        fingerprint=StoryFingerprint("h1", b"\x01" * 8, [b"k1"]), seen_at="2026-12-01T10:00:00Z",
        alerts=[("slack", {"title": "Ascend"}), ("email", {"title": "Ascend"})])
    assert state.commit(article) == 2
    assert state.commit(article) == 0
    assert state.is_known_url("https://a.example/amp/1")
    assert state.find_exact("h1") == "s1" and state.near_candidates([b"k1"]) == ["s1"]
    assert [(r.story_id, r.target_id) for r in state.pending()] == [("s1", "slack"), ("s1", "email")]
    assert state.archive_pending() == [("s1", {"url": "https://a.example/1", "title": "Ascend"})]
    state.mark_archived(["s1"])
    assert state.archive_pending() == []


def test_commit_many_keeps_the_order_of_the_archive_queue(state):
    pages = [ArticleCommit(source="a", urls=[f"https://a.example/{i}"]) for i in range(5)]
    stories = [ArticleCommit(source="a", urls=[f"https://a.example/s{i}"], story_id=f"s{i}", record={"i": i})
               for i in range(3)]
    assert state.commit_many(pages + stories) == 0
    assert all(state.is_known_url(f"https://a.example/{i}") for i in range(5))
    assert [sid for sid, _ in state.archive_pending()] == ["s0", "s1", "s2"]


def test_claimed_rows_are_pending_rows(state):
    state.enqueue("s1", "t", {})
    state.enqueue("s2", "t", {})
    first, second = (row.id for row in state.pending())
    state.mark_delivered(first)
    assert state.claim([first, second]) == [second]
    state.mark_failed(second, "HTTP 503")
    # A failed row stays pending and can be claimed again (the next attempt).
    assert state.claim([second]) == [second]
    state.release([second])


def test_a_story_past_retention_is_forgotten_unless_its_alert_is_pending(state):
    """Past ``retention_days`` (90 by default) a story leaves the index -- not while an alert of it waits."""
    old = time.time() - 100 * DAY
    fp = StoryFingerprint("h-old", b"\0" * 8, [b"k-old"])
    state.commit(ArticleCommit(source="a", urls=[], story_id="old-pending", fingerprint=fp, seen_at=old,
                               alerts=[("t", {"title": "old"})]))
    state.add_story("old-plain", "https://a.example/p", "a", "h-plain", [b"k-plain"], b"\0" * 8, None, old)
    state.add_story("new", "https://a.example/new", "a", "h-new", [b"k-new"], b"\0" * 8, None, None)
    state.prune(90)
    assert state.get_signature("old-plain") is None and state.find_exact("h-plain") is None
    assert state.get_signature("new") is not None
    assert state.get_signature("old-pending") is not None and state.find_exact("h-old") == "old-pending"
    assert state.near_candidates([b"k-plain", b"k-old", b"k-new"]) == ["old-pending", "new"]
    assert [row.story_id for row in state.pending()] == ["old-pending"]


@pytest.mark.subprocess
def test_delivery_survives_a_killed_process(location):
    """A delivery recorded just before the process is killed is still there."""
    code = (
        "import os, sys; from crawler.state import open_state\n"
        "s = open_state(sys.argv[1], worker='w9'); s.enqueue('s1', 't', {}); s.enqueue('s2', 't', {})\n"
        "s.mark_delivered(s.pending()[0].id); os.kill(os.getpid(), 9)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, location], cwd=os.getcwd(), check=False)
    assert result.returncode == -9
    store = open_state(location, worker="w1")
    try:
        assert store.outbox_counts() == {"pending": 1, "delivered": 1}
        assert [r.story_id for r in store.pending()] == ["s2"]
    finally:
        store.close()


def _clustered(story_id, cluster, language, at, keys, title="t"):
    return ArticleCommit(source=f"src-{story_id}", urls=[f"https://{story_id}.example/"], story_id=story_id,
                         record={"url": f"https://{story_id}.example/"},
                         fingerprint=StoryFingerprint(f"h-{story_id}", b"\x01" * 8, [story_id.encode()]),
                         seen_at=at, cluster=ClusterEntry(cluster, language, title, at, tuple(keys), tuple(keys)))


def test_cluster_index_finds_other_languages_in_the_window_by_shared_keys(state):
    now = time.time()
    state.commit(_clustered("en1", "en1", "en", now - 3600, ["c:910C", "f:2000:gpu", "d:03-05"], "Ascend"))
    state.commit(_clustered("en2", "en2", "en", now - 3600, ["c:910C"]))
    state.commit(_clustered("it0", "it0", "it", now - 3600, ["c:910C", "f:2000:gpu"]))
    state.commit(_clustered("old", "old", "en", now - 30 * DAY, ["c:910C", "f:2000:gpu", "d:03-05"]))
    found = state.cluster_candidates(["c:910C", "f:2000:gpu", "d:03-05"], now - 7 * DAY, now + 7 * DAY, "it", 10)
    # Most shared keys first; the Italian story and the one outside the window are left out.
    assert [info.story_id for info in found] == ["en1", "en2"]
    first = found[0]
    assert (first.cluster, first.language, first.title, first.source) == ("en1", "en", "Ascend", "src-en1")
    assert first.evidence == ("c:910C", "f:2000:gpu", "d:03-05")
    assert abs(first.at - (now - 3600)) < 1
    assert [i.story_id for i in state.cluster_candidates(["c:910C"], now - DAY, now, "it", 1)] == ["en1"]
    assert state.cluster_candidates([], now - DAY, now, "it", 5) == []


def test_cluster_members_and_story_info(state):
    now = time.time()
    state.commit(_clustered("en1", "en1", "en", now - 7200, ["c:H800"]))
    state.commit(_clustered("it1", "en1", "it", now - 3600, ["c:H800"]))
    state.commit(_clustered("it2", "it2", "it", now, ["c:H800"]))
    assert [i.story_id for i in state.cluster_stories("en1")] == ["en1", "it1"]
    assert [i.story_id for i in state.cluster_stories("it2")] == ["it2"]
    assert [(i.story_id, i.cluster) for i in state.stories_info(["it1", "nope", "en1"])] == [
        ("it1", "en1"), ("en1", "en1")]
    # A story recorded without a cluster entry (before clusters existed) is its own cluster.
    state.add_story("plain", "https://p.example/", "p", "hp", [b"kp"], b"\x02" * 8, None, now)
    assert [(i.story_id, i.cluster, i.evidence) for i in state.stories_info(["plain"])] == [("plain", "plain", ())]
