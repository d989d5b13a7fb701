"""The Redis state store: the state of :mod:`crawler.state` shared by several workers.

Every newswatch process given the same ``redis://`` URL (``state:`` in newswatch.yaml, or
``NEWSWATCH_STATE``) is a worker of one crawl. The guarantees are SQLite's:

* **One commit point.** :meth:`RedisState.commit` (and ``commit_many``) is one Lua script: every URL of
  the article, the story and its near-duplicate keys, its outbox rows, its archive-queue entry -- all
  written, or (a conflict, an error) none. Redis runs a script alone, so no worker sees half of one.
* **An original is original across workers.** The dedup stage reads the index version
  (:meth:`index_version`) before it looks for earlier copies; the commit script refuses an original if
  a story recorded since shares its text hash or one of its band keys, and the commit stage checks
  again (:class:`~crawler.state.IndexChanged`). Two workers that fetch two copies of one story at once
  record one original and one duplicate.
* **An alert is sent by one worker.** A worker claims an outbox row before sending it
  (:meth:`claim`: ``SET NX`` with a lease of ``crawl.lease`` seconds, renewed before each attempt);
  the row is marked delivered or failed and the claim dropped in one script. A worker killed mid-send
  leaves its claim to expire, and a worker of a later tick sends the row again: the one repeat window,
  the same as SQLite's kill between a send and its mark.
* **Retention as TTLs.** URLs, validators, stories, band keys and delivered rows expire
  ``retention_days`` after they were last written; pending outbox rows and the archive queue never
  expire.
* **The archive queue has owners.** A story is queued for the archive by the worker that committed it;
  :meth:`archive_pending` returns this worker's entries and those of workers that are gone (whose
  liveness key, renewed by :meth:`heartbeat`, has expired).

The run lock becomes a *tick* (:meth:`join_tick`): the first worker of a tick seeds the feeds, sitemaps
and listings; workers started while it lasts join the shared request queue (scrapy-redis). A tick ends
when its last worker leaves, or ``crawl.lease`` seconds after its last heartbeat.

All keys start with ``nw:``: use one Redis database per newswatch installation. Redis Cluster is not
supported (the scripts touch keys they compute).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import redis
from redis.exceptions import RedisError

from crawler.config import CrawlConfig, Document, mask_url
from crawler.secrets import redact
from crawler.state import (
    _MAX_ERROR_CHARS,
    _TOUCH_INTERVAL,
    ArticleCommit,
    IndexChanged,
    OutboxRow,
    StateError,
    StateStore,
    StateWriteError,
    StoryFingerprint,
    StoryInfo,
    _epoch,
    _iso,
)

logger = logging.getLogger(__name__)

P = "nw:"
SCHEMA_VERSION = 1
_DAY = 86400
# Per-tick keys (members, the tick's duplicate filter, its requested URLs) outlive any tick.
TICK_KEYS_TTL = 2 * _DAY

# One article or many, in one script: conflicts are checked before anything is written.
_COMMIT = """
local arts = cjson.decode(ARGV[1])
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local worker = ARGV[4]
local P = 'nw:'
for _, a in ipairs(arts) do
  if a.fp and a.seq and redis.call('EXISTS', P .. 'story:' .. a.story_id) == 0 then
    local same = redis.call('GET', P .. 'texthash:' .. a.fp.hash)
    if same and same ~= a.story_id then return {'conflict', a.story_id} end
    for _, band in ipairs(a.fp.bands) do
      local newer = redis.call('ZRANGEBYSCORE', P .. 'band:' .. band, '(' .. a.seq, '+inf', 'LIMIT', 0, 1)
      if #newer > 0 and newer[1] ~= a.story_id then return {'conflict', a.story_id} end
    end
  end
end
local queued = 0
for _, a in ipairs(arts) do
  for _, url in ipairs(a.urls) do
    local key = P .. 'url:' .. url
    redis.call('HSETNX', key, 'f', now)
    redis.call('HSET', key, 's', a.source, 'l', now, 'r', a.recheck or '')
    redis.call('EXPIRE', key, ttl)
  end
  if a.story_id then
    if a.fp then
      local key = P .. 'story:' .. a.story_id
      if redis.call('EXISTS', key) == 0 then
        local ref = redis.call('INCR', P .. 'story:seq')
        local expire_at = math.floor(a.seen + ttl)
        redis.call('HSET', key, 'url', a.url, 'source', a.source, 'hash', a.fp.hash, 'sig', a.fp.sig,
                   'pub', a.pub or '', 'seen', a.seen, 'ref', ref)
        local hash_key = P .. 'texthash:' .. a.fp.hash
        local new_hash = redis.call('SET', hash_key, a.story_id, 'NX')
        -- A story with an alert to send stays until the alert is delivered (see _MARK).
        if #a.alerts == 0 then
          redis.call('EXPIREAT', key, expire_at)
          if new_hash then redis.call('EXPIREAT', hash_key, expire_at) end
        end
        redis.call('ZADD', P .. 'stories', a.seen, a.story_id)
        if a.cl then
          -- The cluster index: the story's entry, its evidence keys (scored by instant, so a lookup reads
          -- the window only) and its cluster's member set.
          redis.call('HSET', key, 'cluster', a.cl.id, 'lang', a.cl.lang, 'title', a.cl.title, 'at', a.cl.at,
                     'ev', a.cl.ev)
          for _, k in ipairs(a.cl.keys) do
            redis.call('ZADD', P .. 'ev:' .. k, a.cl.at, a.story_id)
            redis.call('EXPIRE', P .. 'ev:' .. k, ttl)
          end
          redis.call('ZADD', P .. 'cluster:' .. a.cl.id, ref, a.story_id)
          redis.call('EXPIRE', P .. 'cluster:' .. a.cl.id, ttl)
        end
        for _, band in ipairs(a.fp.bands) do
          redis.call('ZADD', P .. 'band:' .. band, ref, a.story_id)
          redis.call('EXPIRE', P .. 'band:' .. band, ttl)
        end
      end
    end
    for _, alert in ipairs(a.alerts) do
      local pair = P .. 'outbox:pair:' .. a.story_id .. '\\31' .. alert[1]
      if redis.call('EXISTS', pair) == 0 then
        local id = redis.call('INCR', P .. 'outbox:seq')
        redis.call('SET', pair, id)
        redis.call('HSET', P .. 'outbox:' .. id, 'story', a.story_id, 'target', alert[1], 'payload', alert[2],
                   'status', 'pending', 'attempts', 0, 'created', now)
        redis.call('ZADD', P .. 'outbox:pending', id, id)
        queued = queued + 1
      end
    end
    if a.record and redis.call('HEXISTS', P .. 'archive:rec', a.story_id) == 0 then
      redis.call('ZADD', P .. 'archive:queue', redis.call('INCR', P .. 'archive:seq'), a.story_id)
      redis.call('HSET', P .. 'archive:rec', a.story_id, a.record)
      redis.call('HSET', P .. 'archive:owner', a.story_id, worker)
    end
  end
end
return {'ok', queued}
"""

# Claim pending rows for this worker (or keep its own claim): returns the ids claimed.
_CLAIM = """
local got = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', 'nw:outbox:' .. id, 'status') == 'pending' then
    local key = 'nw:claim:' .. id
    if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
      table.insert(got, id)
    elseif redis.call('GET', key) == ARGV[1] then
      redis.call('PEXPIRE', key, ARGV[2])
      table.insert(got, id)
    end
  end
end
return got
"""

_RELEASE = """
for i = 2, #ARGV do
  if redis.call('GET', 'nw:claim:' .. ARGV[i]) == ARGV[1] then redis.call('DEL', 'nw:claim:' .. ARGV[i]) end
end
return 0
"""

# ARGV: id, outcome ('delivered' | 'failed'), now, ttl, error
_MARK = """
local key = 'nw:outbox:' .. ARGV[1]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HINCRBY', key, 'attempts', 1)
if ARGV[2] == 'delivered' then
  redis.call('HSET', key, 'status', 'delivered', 'delivered', ARGV[3])
  redis.call('ZREM', 'nw:outbox:pending', ARGV[1])
  redis.call('ZADD', 'nw:outbox:delivered', ARGV[3], ARGV[1])
  redis.call('EXPIRE', key, ARGV[4])
  local h = redis.call('HMGET', key, 'story', 'target')
  redis.call('EXPIRE', 'nw:outbox:pair:' .. h[1] .. '\\31' .. h[2], ARGV[4])
  -- The story now ages as any other (it was kept while its alert waited).
  local story = 'nw:story:' .. h[1]
  local seen = redis.call('HMGET', story, 'seen', 'hash')
  if seen[1] and redis.call('TTL', story) == -1 then
    local expire_at = math.floor(tonumber(seen[1]) + tonumber(ARGV[4]))
    redis.call('EXPIREAT', story, expire_at)
    if redis.call('GET', 'nw:texthash:' .. seen[2]) == h[1] then redis.call('EXPIREAT', 'nw:texthash:' .. seen[2], expire_at) end
  end
else
  redis.call('HSET', key, 'last_error', ARGV[5])
end
redis.call('DEL', 'nw:claim:' .. ARGV[1])
return 1
"""

# This worker's archive entries and those of workers that are gone (taken over): story ids in order.
_ARCHIVE_TAKE = """
local ids = redis.call('ZRANGE', 'nw:archive:queue', 0, -1)
local mine = {}
for _, id in ipairs(ids) do
  local owner = redis.call('HGET', 'nw:archive:owner', id)
  if owner == ARGV[1] or not owner or redis.call('EXISTS', 'nw:worker:' .. owner) == 0 then
    redis.call('HSET', 'nw:archive:owner', id, ARGV[1])
    table.insert(mine, id)
  end
end
return mine
"""

# ARGV: worker, new tick id, lease ms. Returns {tick id, 1 if this worker starts it}.
_JOIN_TICK = """
local tick = redis.call('GET', 'nw:tick')
local seeding = 0
if not tick then
  tick = ARGV[2]
  redis.call('SET', 'nw:tick', tick, 'PX', ARGV[3])
  seeding = 1
end
redis.call('SADD', 'nw:tick:' .. tick .. ':members', ARGV[1])
redis.call('EXPIRE', 'nw:tick:' .. tick .. ':members', ARGV[4])
return {tick, seeding}
"""

# ARGV: worker, tick, lease ms, busy (0/1), now ms
_HEARTBEAT = """
redis.call('SET', 'nw:worker:' .. ARGV[1], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', 'nw:tick') == ARGV[2] then redis.call('PEXPIRE', 'nw:tick', ARGV[3]) end
if ARGV[4] == '1' then
  redis.call('ZADD', 'nw:tick:' .. ARGV[2] .. ':busy', ARGV[5], ARGV[1])
  redis.call('EXPIRE', 'nw:tick:' .. ARGV[2] .. ':busy', 86400)
else
  redis.call('ZREM', 'nw:tick:' .. ARGV[2] .. ':busy', ARGV[1])
end
return 0
"""

# ARGV: worker, tick. Drops members that are gone; the last one out ends the tick.
_LEAVE_TICK = """
local members = 'nw:tick:' .. ARGV[2] .. ':members'
redis.call('SREM', members, ARGV[1])
for _, w in ipairs(redis.call('SMEMBERS', members)) do
  if redis.call('EXISTS', 'nw:worker:' .. w) == 0 then redis.call('SREM', members, w) end
end
redis.call('DEL', 'nw:worker:' .. ARGV[1])
if redis.call('SCARD', members) == 0 and redis.call('GET', 'nw:tick') == ARGV[2] then
  redis.call('DEL', 'nw:tick')
  return 1
end
return 0
"""


class RedisState(StateStore):
    """The Redis backend (see the module docstring). ``worker`` names this process in claims and queues."""

    shared = True

    def __init__(self, url: str, worker: str, *, retention_days: int = Document.retention_days,
                 lease: float = CrawlConfig.lease) -> None:
        self.url = url
        self.where = mask_url(url)
        self.worker = worker
        self.lease_ms = int(lease * 1000)
        self._ttl = int(retention_days * _DAY)
        self.tick: str | None = None
        try:
            self._db = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10,
                                            socket_connect_timeout=5, health_check_interval=30)
            self._db.ping()
            version = str(self._db.get(P + "schema") or "") or None
            if version is not None and int(version) > SCHEMA_VERSION:
                raise StateError(f"Redis state {self.where}: has schema version {version}, newer than this "
                                 f"newswatch understands ({SCHEMA_VERSION})")
            self._db.set(P + "schema", SCHEMA_VERSION, nx=True)
        except RedisError as exc:
            raise StateError(f"Redis state {self.where}: cannot be used: {self._why(exc)}") from None
        except ValueError as exc:  # a URL redis-py cannot parse
            raise StateError(f"Redis state {self.where}: invalid URL: {self._why(exc)}") from None
        self._scripts = {name: self._db.register_script(source) for name, source in (
            ("commit", _COMMIT), ("claim", _CLAIM), ("release", _RELEASE), ("mark", _MARK),
            ("archive", _ARCHIVE_TAKE), ("join", _JOIN_TICK), ("beat", _HEARTBEAT), ("leave", _LEAVE_TICK))}

    def _why(self, exc: BaseException) -> str:
        # redis-py quotes hosts and ports, never the password; the mask covers any other path.
        return redact(str(exc).replace(self.url, self.where)) or type(exc).__name__

    def _run(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except RedisError as exc:
            raise StateWriteError(f"Redis state {self.where}: {what} failed: {self._why(exc)}") from None

    def _script(self, name: str, args: Sequence[Any]) -> Any:
        return self._run(name, self._scripts[name], args=list(args))

    # -- lifetime ------------------------------------------------------------------------------------
    def acquire_lock(self) -> bool:
        """Several workers share a Redis state: there is no run lock (see :meth:`join_tick`)."""
        return True

    def release_lock(self) -> None:
        pass

    def close(self) -> None:
        try:
            if self.tick is not None:
                self.leave_tick()
        except StateError as exc:
            logger.warning("%s", exc)
        finally:
            self._db.close()

    def prune(self, retention_days: int) -> int:
        """Keys expire by themselves; this trims the two indexes that hold ids of expired rows."""
        self._ttl = int(retention_days * _DAY)
        cutoff = time.time() - self._ttl
        pipe = self._db.pipeline(transaction=True)
        pipe.zremrangebyscore(P + "outbox:delivered", "-inf", cutoff)
        pipe.zremrangebyscore(P + "stories", "-inf", cutoff)
        removed = self._run("prune", pipe.execute)
        return int(sum(removed))

    # -- ticks and workers ---------------------------------------------------------------------------
    def join_tick(self) -> bool:
        """Join the running tick, or start one: True when this worker starts it (and so seeds it)."""
        tick, seeding = self._script("join", [self.worker, f"{time.time():.3f}-{self.worker}", self.lease_ms,
                                              TICK_KEYS_TTL])
        self.tick = str(tick)
        self.heartbeat(busy=True)
        return bool(int(seeding))

    def heartbeat(self, busy: bool) -> None:
        """Renew this worker's liveness (and the tick's); *busy* says it is downloading or processing."""
        if self.tick is None:
            return
        self._script("beat", [self.worker, self.tick, self.lease_ms, int(busy), int(time.time() * 1000)])

    def others_busy(self, within: float) -> bool:
        """Another worker of this tick was busy in the last *within* seconds."""
        if self.tick is None:
            return False
        since = int((time.time() - within) * 1000)
        busy = self._run("busy", self._db.zrangebyscore, f"{P}tick:{self.tick}:busy", since, "+inf")
        return any(worker != self.worker for worker in busy)

    def leave_tick(self) -> bool:
        """Leave the tick; True when this was its last worker (the next start begins a new tick)."""
        if self.tick is None:
            return False
        tick, self.tick = self.tick, None
        return bool(self._script("leave", [self.worker, tick]))

    def tick_key(self, what: str) -> str:
        """A key that lives as long as this tick (its duplicate filter, its requested URLs)."""
        return f"{P}tick:{self.tick}:{what}"

    def tick_add(self, what: str, member: str) -> bool:
        """Add *member* to this tick's set *what*; True when it was not there yet (the first worker of the
        tick to ask: its requested URLs, its duplicate filter's fingerprints, its incomplete feeds)."""
        key = self.tick_key(what)
        pipe = self._db.pipeline(transaction=True)
        pipe.sadd(key, member)
        pipe.expire(key, TICK_KEYS_TTL)
        return bool(self._run(f"add to {what}", pipe.execute)[0])

    def tick_members(self, what: str) -> set[str]:
        return set(self._run(f"read {what}", self._db.smembers, self.tick_key(what)))

    # -- URLs -------------------------------------------------------------------------------------------
    def is_known_url(self, url: str) -> bool:
        last = self._run("read URL", self._db.hget, P + "url:" + url, "l")
        if last is None:
            return False
        now = time.time()
        if float(last) < now - _TOUCH_INTERVAL:
            pipe = self._db.pipeline(transaction=True)
            pipe.hset(P + "url:" + url, "l", now)
            pipe.expire(P + "url:" + url, self._ttl)
            try:
                pipe.execute()
            except RedisError:
                pass  # a refresh only: the next run tries again
        return True

    def mark_url(self, url: str, source: str) -> None:
        self.commit(ArticleCommit(source=source, urls=[url]))

    def recheck_after(self, url: str) -> float | None:
        value = self._run("read URL", self._db.hget, P + "url:" + url, "r")
        return float(value) if value else None

    # -- the commit point -------------------------------------------------------------------------------
    def index_version(self) -> int:
        return int(self._run("read index", self._db.get, P + "story:seq") or 0)

    def commit(self, article: ArticleCommit) -> int:
        return self.commit_many([article])

    def commit_many(self, articles: Sequence[ArticleCommit]) -> int:
        if not articles:
            return 0
        payload = json.dumps([_encode(article) for article in articles], ensure_ascii=False)
        outcome, value = self._script("commit", [payload, f"{time.time():.6f}", self._ttl, self.worker])
        if outcome == "conflict":
            raise IndexChanged(str(value))
        return int(value)

    def archive_pending(self) -> list[tuple[str, dict[str, Any]]]:
        ids = self._script("archive", [self.worker])
        if not ids:
            return []
        records = self._run("read archive queue", self._db.hmget, P + "archive:rec", ids)
        return [(sid, json.loads(rec)) for sid, rec in zip(ids, records, strict=True) if rec is not None]

    def mark_archived(self, story_ids: Sequence[str]) -> None:
        if not story_ids:
            return
        pipe = self._db.pipeline(transaction=True)
        pipe.zrem(P + "archive:queue", *story_ids)
        pipe.hdel(P + "archive:rec", *story_ids)
        pipe.hdel(P + "archive:owner", *story_ids)
        self._run("mark archived", pipe.execute)

    # -- conditional requests ---------------------------------------------------------------------------
    def get_validators(self, url: str) -> tuple[str | None, str | None]:
        etag, modified = self._run("read validators", self._db.hmget, P + "val:" + url, ["e", "m"])
        return etag or None, modified or None

    def set_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        key = P + "val:" + url
        pipe = self._db.pipeline(transaction=True)
        pipe.delete(key)
        if etag is not None or last_modified is not None:
            pipe.hset(key, mapping={"e": etag or "", "m": last_modified or ""})
            pipe.expire(key, self._ttl)
        self._run("write validators", pipe.execute)

    # -- stories ----------------------------------------------------------------------------------------
    def find_exact(self, text_hash: str) -> str | None:
        value = self._run("read story", self._db.get, P + "texthash:" + text_hash)
        return str(value) if value else None

    def near_candidates(self, band_keys: list[bytes]) -> list[str]:
        if not band_keys:
            return []
        pipe = self._db.pipeline(transaction=False)
        for key in band_keys:
            pipe.zrange(P + "band:" + bytes(key).hex(), 0, -1, withscores=True)
        order: dict[str, float] = {}
        where: dict[str, list[str]] = {}
        for key, members in zip(band_keys, self._run("read bands", pipe.execute), strict=True):
            for story_id, ref in members:
                order[story_id] = ref
                where.setdefault(story_id, []).append(P + "band:" + bytes(key).hex())
        if not order:
            return []
        ids = sorted(order, key=order.__getitem__)
        # A band set outlives the stories in it: leave out (and drop) the members that have expired.
        pipe = self._db.pipeline(transaction=False)
        for story_id in ids:
            pipe.exists(P + "story:" + story_id)
        alive = self._run("read stories", pipe.execute)
        gone = [story_id for story_id, exists in zip(ids, alive, strict=True) if not exists]
        if gone:
            pipe = self._db.pipeline(transaction=False)
            for story_id in gone:
                for band in where[story_id]:
                    pipe.zrem(band, story_id)
            try:
                pipe.execute()
            except RedisError:
                pass  # tidying only
        return [story_id for story_id, exists in zip(ids, alive, strict=True) if exists]

    def add_story(self, story_id: str, url: str, source: str, text_hash: str, band_keys: list[bytes],
                  signature: bytes, published: str | None, seen_at: str | float | datetime | None) -> None:
        encoded = _encode(ArticleCommit(source=source, urls=[], story_id=story_id,
                                        fingerprint=StoryFingerprint(text_hash, signature, list(band_keys)),
                                        published=published, seen_at=seen_at))
        encoded["url"] = url
        self._script("commit", [json.dumps([encoded]), f"{time.time():.6f}", self._ttl, self.worker])

    def get_signature(self, story_id: str) -> bytes | None:
        value = self._run("read story", self._db.hget, P + "story:" + story_id, "sig")
        return bytes.fromhex(value) if value else None

    # -- clusters ---------------------------------------------------------------------------------------
    _INFO_FIELDS = ("url", "source", "title", "lang", "cluster", "at", "seen", "ev")

    def _infos(self, story_ids: Sequence[str]) -> list[StoryInfo]:
        pipe = self._db.pipeline(transaction=False)
        for story_id in story_ids:
            pipe.hmget(P + "story:" + story_id, *self._INFO_FIELDS)
        out = []
        for story_id, values in zip(story_ids, self._run("read stories", pipe.execute), strict=True):
            url, source, title, lang, cluster, at, seen, ev = values
            if url is None:
                continue  # expired
            out.append(StoryInfo(story_id, url, source or "", title or "", lang or "", cluster or story_id,
                                 float(at or seen or 0), tuple(json.loads(ev)) if ev else ()))
        return out

    def cluster_candidates(self, keys: Sequence[str], since: float, until: float, not_language: str,
                           limit: int) -> list[StoryInfo]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        pipe = self._db.pipeline(transaction=False)
        for key in keys:
            pipe.zrangebyscore(P + "ev:" + key, since, until)
        hits: dict[str, int] = {}
        for members in self._run("read evidence", pipe.execute):
            for story_id in members:
                hits[story_id] = hits.get(story_id, 0) + 1
        ranked = sorted(hits, key=lambda story_id: (-hits[story_id], story_id))
        # Read the stories a window at a time, most shared keys first, until *limit* of another language.
        found: list[StoryInfo] = []
        step = max(limit, 1)
        for start in range(0, len(ranked), step):
            found += [info for info in self._infos(ranked[start:start + step]) if info.language != not_language]
            if len(found) >= limit:
                break
        return found[:limit]

    def stories_info(self, story_ids: Sequence[str]) -> list[StoryInfo]:
        return self._infos(list(dict.fromkeys(story_ids)))

    def cluster_stories(self, cluster: str) -> list[StoryInfo]:
        members = self._run("read cluster", self._db.zrange, P + "cluster:" + cluster, 0, -1)
        return self._infos(list(dict.fromkeys([cluster, *members])))

    def story_count(self) -> int:
        cutoff = time.time() - self._ttl
        return int(self._run("count stories", self._db.zcount, P + "stories", cutoff, "+inf"))

    # -- outbox -----------------------------------------------------------------------------------------
    def enqueue(self, story_id: str, target_id: str, payload: dict[str, Any]) -> bool:
        return self.commit(ArticleCommit(source="", urls=[], story_id=story_id,
                                         alerts=[(target_id, payload)])) == 1

    def pending(self, target_id: str | None = None, story_id: str | None = None) -> list[OutboxRow]:
        if story_id is not None and target_id is not None:
            found = self._run("read outbox", self._db.get, f"{P}outbox:pair:{story_id}\x1f{target_id}")
            ids = [found] if found else []
        else:
            ids = self._run("read outbox", self._db.zrange, P + "outbox:pending", 0, -1)
        pipe = self._db.pipeline(transaction=False)
        for row_id in ids:
            pipe.hgetall(P + "outbox:" + str(row_id))
        rows = []
        for row_id, fields in zip(ids, self._run("read outbox", pipe.execute), strict=True):
            if not fields or fields.get("status") != "pending":
                continue
            if (target_id is not None and fields["target"] != target_id) or (
                    story_id is not None and fields["story"] != story_id):
                continue
            rows.append(_row(int(row_id), fields))
        return rows

    def claim(self, row_ids: Sequence[int]) -> list[int]:
        if not row_ids:
            return []
        got = self._script("claim", [self.worker, self.lease_ms, *row_ids])
        return [int(row_id) for row_id in got]

    def release(self, row_ids: Sequence[int]) -> None:
        if row_ids:
            self._script("release", [self.worker, *row_ids])

    def _mark(self, row_id: int, outcome: str, error: str = "") -> None:
        if not self._script("mark", [row_id, outcome, f"{time.time():.6f}", self._ttl, error]):
            raise KeyError(f"no outbox row {row_id}")

    def mark_delivered(self, row_id: int) -> None:
        self._mark(row_id, "delivered")

    def mark_failed(self, row_id: int, error: str) -> None:
        self._mark(row_id, "failed", error[:_MAX_ERROR_CHARS])

    def outbox_counts(self) -> dict[str, int]:
        pipe = self._db.pipeline(transaction=False)
        pipe.zcard(P + "outbox:pending")
        pipe.zcount(P + "outbox:delivered", time.time() - self._ttl, "+inf")
        pending, delivered = self._run("count outbox", pipe.execute)
        return {"pending": int(pending), "delivered": int(delivered)}

    # -- health -----------------------------------------------------------------------------------------
    def get_health(self, key: str) -> dict[str, Any] | None:
        value = self._run("read health", self._db.get, P + "health:" + key)
        return json.loads(value) if value else None

    def set_health(self, key: str, value: dict[str, Any]) -> None:
        self._run("write health", self._db.set, P + "health:" + key,
                  json.dumps(value, ensure_ascii=False, sort_keys=True))


def _encode(article: ArticleCommit) -> dict[str, Any]:
    """An ArticleCommit as the commit script reads it (no JSON nulls: cjson makes them truthy)."""
    out: dict[str, Any] = {"source": article.source, "urls": list(dict.fromkeys(article.urls)), "alerts": []}
    if article.recheck_after:
        out["recheck"] = _epoch(article.recheck_after)
    if article.story_id is None:
        return out
    out["story_id"] = article.story_id
    out["alerts"] = [[target, json.dumps(payload, ensure_ascii=False)] for target, payload in article.alerts]
    if article.fingerprint is not None:
        fp = article.fingerprint
        out["fp"] = {"hash": fp.text_hash, "sig": bytes(fp.signature).hex(),
                     "bands": [bytes(key).hex() for key in fp.band_keys]}
        out["url"] = str((article.record or {}).get("url") or (article.urls[0] if article.urls else ""))
        out["seen"] = _epoch(article.seen_at)
        if article.published:
            out["pub"] = article.published
        if article.index_seq is not None:
            out["seq"] = article.index_seq
        c = article.cluster
        if c is not None:
            out["cl"] = {"id": c.cluster, "lang": c.language, "title": c.title, "at": c.at,
                         "ev": json.dumps(list(c.evidence), ensure_ascii=False), "keys": list(dict.fromkeys(c.lookup))}
    if article.record is not None:
        out["record"] = json.dumps(article.record, ensure_ascii=False)
    return out


def _row(row_id: int, fields: dict[str, str]) -> OutboxRow:
    delivered = fields.get("delivered")
    return OutboxRow(
        id=row_id,
        story_id=fields["story"],
        target_id=fields["target"],
        payload=json.loads(fields["payload"]),
        status=fields["status"],
        attempts=int(fields.get("attempts") or 0),
        last_error=fields.get("last_error") or None,
        created_at=_iso(float(fields["created"])) or "",
        delivered_at=_iso(float(delivered)) if delivered else None,
    )
