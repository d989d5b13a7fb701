"""What only the Redis state has: several workers at once (claims, leases, ticks, the archive queue's
owners, the index check of originals), and its refusal of a Redis it cannot use. The behaviour both
stores share is in ``test_state_contract.py``."""

from __future__ import annotations

import time

import pytest

from crawler.redis_state import RedisState
from crawler.state import ArticleCommit, IndexChanged, StateError, StoryFingerprint, open_state
from tests.support.redis_server import free_port


@pytest.fixture
def two(redis_server):
    """Two workers on one Redis, with a short lease."""
    a = open_state(redis_server.url, worker="a", lease=0.5)
    b = open_state(redis_server.url, worker="b", lease=0.5)
    yield a, b
    a.close()
    b.close()


def test_a_row_is_claimed_by_one_worker_until_its_lease_expires(two):
    a, b = two
    a.enqueue("s1", "slack", {"title": "Ascend"})
    row = a.pending()[0].id
    assert a.claim([row]) == [row]
    assert b.claim([row]) == []          # a holds it
    assert a.claim([row]) == [row]       # renewing one's own claim
    time.sleep(0.7)                      # a died mid-send: its lease runs out
    assert b.claim([row]) == [row]
    b.mark_delivered(row)
    assert a.claim([row]) == [] and a.pending() == []


def test_a_released_claim_is_free_at_once(two):
    a, b = two
    a.enqueue("s1", "slack", {})
    row = a.pending()[0].id
    a.claim([row])
    a.release([row])
    assert b.claim([row]) == [row]


def _original(story_id: str, text_hash: str, bands: list[bytes], seq: int) -> ArticleCommit:
    return ArticleCommit(source="a", urls=[f"https://a.example/{story_id}"], story_id=story_id,
                         record={"url": f"https://a.example/{story_id}"},
                         fingerprint=StoryFingerprint(text_hash, b"\x01" * 8, bands), index_seq=seq,
                         alerts=[("slack", {"title": story_id})])


def test_an_original_recorded_meanwhile_by_another_worker_is_seen_at_commit(two):
    """Two workers checked two copies of one story at the same moment: the second commit is refused
    (and writes nothing), so the commit stage checks again and finds the first."""
    a, b = two
    seq = a.index_version()
    assert a.commit(_original("s1", "h1", [b"k1", b"k2"], seq)) == 1
    with pytest.raises(IndexChanged):
        b.commit(_original("s2", "h2", [b"k2", b"k3"], seq))
    assert not b.is_known_url("https://a.example/s2") and b.pending(story_id="s2") == []
    assert b.commit(_original("s2", "h2", [b"k2", b"k3"], b.index_version())) == 1
    # A story sharing nothing with what was recorded since commits with an old index version.
    assert b.commit(_original("s3", "h3", [b"k9"], seq)) == 1


def test_a_dead_workers_archive_entries_are_taken_over(redis_server):
    a = open_state(redis_server.url, worker="a", lease=0.5)
    a.join_tick()
    a.commit(ArticleCommit(source="x", urls=["u1"], story_id="s1", record={"story_id": "s1"}))
    b = open_state(redis_server.url, worker="b", lease=0.5)
    b.join_tick()
    assert b.archive_pending() == []     # a is alive: it archives its own
    assert [sid for sid, _ in a.archive_pending()] == ["s1"]
    time.sleep(0.7)                      # a was killed: no heartbeat
    b.heartbeat(busy=False)
    assert [sid for sid, _ in b.archive_pending()] == ["s1"]
    b.close()


def test_the_first_worker_starts_a_tick_and_the_last_one_ends_it(redis_server):
    a = open_state(redis_server.url, worker="a")
    b = open_state(redis_server.url, worker="b")
    assert a.join_tick() is True
    assert b.join_tick() is False
    assert a.tick == b.tick
    a.heartbeat(busy=True)
    b.heartbeat(busy=False)
    assert b.others_busy(3) and not a.others_busy(3)
    assert a.leave_tick() is False       # b is still in it
    assert b.leave_tick() is True
    c = open_state(redis_server.url, worker="c")
    assert c.join_tick() is True         # a new tick: c seeds it
    for store in (a, b, c):
        store.close()


def test_a_tick_whose_workers_died_expires_with_their_lease(redis_server):
    a = open_state(redis_server.url, worker="a", lease=0.3)
    assert a.join_tick() is True
    time.sleep(0.5)                      # a was killed: nobody renews the tick
    b = open_state(redis_server.url, worker="b")
    assert b.join_tick() is True
    b.close()


@pytest.mark.parametrize(("url", "shown", "hidden"), [
    (f"redis://:S3cretRedisPass@127.0.0.1:{free_port()}/0", "redis://:***@127.0.0.1", "S3cretRedisPass"),
    (f"redis://newswatch:S3cretRedisPass@127.0.0.1:{free_port()}/0", "newswatch:***@", "S3cretRedisPass"),
], ids=["password only", "user and password"])  # the ports differ per process: not in the ids
def test_an_unreachable_redis_is_one_line_without_its_password(url, shown, hidden):
    with pytest.raises(StateError) as caught:
        RedisState(url, "w")
    message = str(caught.value)
    assert shown in message and hidden not in message and "\n" not in message


def test_a_wrong_password_is_refused_without_echoing_it(redis_server):
    client = redis_server.client()
    client.config_set("requirepass", "RightPassw0rd")
    try:
        with pytest.raises(StateError) as caught:
            RedisState(redis_server.url.replace("redis://", "redis://:WrongPassw0rd@"), "w")
        assert "WrongPassw0rd" not in str(caught.value) and "***" in str(caught.value)
    finally:
        import redis

        redis.Redis(port=redis_server.port, password="RightPassw0rd").config_set("requirepass", "")


def test_a_state_from_a_newer_newswatch_is_refused(redis_server):
    redis_server.client().set("nw:schema", 99)
    with pytest.raises(StateError, match="schema version 99"):
        RedisState(redis_server.url, "w")
