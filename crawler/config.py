"""Load and validate ``newswatch.yaml`` into a typed :class:`Config`.

Every problem is a :class:`ConfigError` naming the file, the key and the problem, raised before
the crawl sends a single request. Messages never contain the value of an alert URL: those may
hold tokens.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from crawler import clusters, dedup, secrets
from crawler.metadata import ZONE_BY_LANGUAGE
from crawler.state import REDIS_SCHEMES

if TYPE_CHECKING:  # the rules compile only when a config is loaded (a heavy import)
    from crawler.matching import CompiledTopics

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "newswatch.yaml"
CONFIG_ENV = "NEWSWATCH_CONFIG"
#: Overrides the file's ``state`` (a path, or a redis:// URL that makes this process one worker of many).
STATE_ENV = "NEWSWATCH_STATE"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LANG = re.compile(r"^[a-z]{2}$")


class ConfigError(Exception):
    """A problem in the configuration file: ``file: key: problem``."""

    def __init__(self, file: str | os.PathLike[str], key: str, problem: str) -> None:
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


@dataclass(frozen=True)
class Listing:
    url: str
    follow: re.Pattern[str]
    max_pages: int


@dataclass(frozen=True)
class Source:
    name: str
    language: str
    timezone: str | None = None  # IANA name: resolves a page's naive times (default from the language)
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    listings: tuple[Listing, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class AlertTarget:
    id: str
    url: str = field(repr=False)  # resolved: may hold secrets, never log it
    privacy_url: str
    topics: tuple[str, ...] | None = None
    mode: str = "instant"
    max_per_run: int | None = None
    # "language": the first copy of a story in each language alerts; "cluster": only the first copy.
    per: str = "language"


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = dedup.DEFAULT_THRESHOLD
    num_perm: int = dedup.DEFAULT_NUM_PERM
    shingles: int = dedup.DEFAULT_SHINGLE_SIZE


@dataclass(frozen=True)
class ClusterConfig:
    """Linking one story across languages (crawler.clusters)."""

    enabled: bool = True
    window_days: float = clusters.DEFAULT_WINDOW_DAYS
    threshold: float = clusters.DEFAULT_THRESHOLD


@dataclass(frozen=True)
class CrawlConfig:
    download_timeout: float = 30.0
    max_page_bytes: int = 5 * 1024 * 1024
    max_listing_pages: int = 5
    sitemap_max_age_days: float = 7.0
    concurrent_per_domain: int = 2
    # Articles dropped for matching no topic that a feed or sitemap shows as updated since: re-fetched,
    # at most this many per source in a run.
    max_rechecks_per_source: int = 20
    obey_robots: bool = True
    user_agent: str | None = None
    # Worker processes that analyse pages (0: in the crawl's own process), and the seconds one page may
    # take there before its worker is killed and the page counted as failed.
    workers: int = 1
    page_timeout: float = 60.0
    # With a Redis state: seconds a worker waits, with the shared queue empty and no worker busy, before
    # it closes (so cron still ends), and the seconds an alert claim or a tick lasts unless renewed.
    idle_close: float = 10.0
    lease: float = 60.0


@dataclass(frozen=True)
class HealthConfig:
    stale_days: float = 3.0
    extract_failure_jump: float = 0.5


@dataclass
class Config:
    path: Path
    sources: list[Source]
    topics: CompiledTopics
    alerts: list[AlertTarget]
    health: list[AlertTarget]
    archive: Path
    state: Path
    # The Redis URL when the state is shared by several workers (may hold a password: never log it,
    # see mask_url); ``state`` is then unused.
    redis_url: str | None = field(default=None, repr=False)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    retention_days: int = 90
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    health_checks: HealthConfig = field(default_factory=HealthConfig)
    clusters: ClusterConfig = field(default_factory=ClusterConfig)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)


def mask_url(url: str) -> str:
    """*url* with its password replaced by ``***`` (for messages)."""
    try:
        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
            return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return "<unparseable URL>"
    return url


def _state_location(file: Path, base: Path, value: str, key: str) -> tuple[Path, str | None]:
    """(SQLite path, Redis URL or None) from the ``state`` value."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if not match:
        return base / value, None
    scheme = match.group(1).lower()
    if scheme not in REDIS_SCHEMES:
        raise ConfigError(file, key, f"unsupported state URL scheme {scheme!r} in {mask_url(value)} "
                          "(a file path, or redis://, rediss://, unix://)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigError(file, key, f"invalid Redis URL {mask_url(value)}: {exc}") from None
    if scheme != "unix" and not parts.hostname:
        raise ConfigError(file, key, f"invalid Redis URL {mask_url(value)}: no host")
    if parts.password:
        secrets.register(parts.password)
    return base / "data/state.sqlite3", value


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: *explicit*, else ``$NEWSWATCH_CONFIG``, else ``newswatch.yaml``."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


class _Reader:
    """Typed access to one mapping of the YAML document, raising errors that name the key."""

    def __init__(self, file: Path, data: Any, key: str, allowed: set[str]) -> None:
        self.file, self.key = file, key
        if not isinstance(data, dict):
            self.fail("", f"must be a mapping, got {_kind(data)}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            self.fail(str(unknown[0]), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        self.data = data

    def path(self, name: str) -> str:
        if not name:
            return self.key
        return f"{self.key}.{name}" if self.key else name

    def fail(self, name: str, problem: str) -> None:
        raise ConfigError(self.file, self.path(name), problem)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ..., required: bool = False) -> Any:
        if name not in self.data or self.data[name] is None:
            if required:
                self.fail(name, "missing required key")
            return default
        value = self.data[name]
        # bool is an int subclass; a number field must not accept `yes`.
        if isinstance(value, bool) and bool not in _as_tuple(kind):
            self.fail(name, f"must be {_names(kind)}, got {_kind(value)}")
        if not isinstance(value, kind):
            self.fail(name, f"must be {_names(kind)}, got {_kind(value)}")
        return value

    def text(self, name: str, default: Any = ..., required: bool = False) -> Any:
        value = self.get(name, str, default, required)
        if isinstance(value, str) and not value.strip():
            self.fail(name, "must not be empty")
        return value

    def number(self, name: str, default: float, low: float, high: float | None = None, integer: bool = False) -> Any:
        value = self.get(name, int if integer else (int, float), default)
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.fail(name, f"must be {bound}, got {value}")
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(f"{name}[{i}]", "must be a non-empty string")
        return tuple(value)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a mapping"}
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))


def _kind(value: Any) -> str:
    return {type(None): "nothing", bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _http_url(reader: _Reader, key: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        reader.fail(key, f"not an http(s) URL: {value!r}")
    return value


def _sources(file: Path, data: Any, crawl: CrawlConfig) -> list[Source]:
    if not isinstance(data, list) or not data:
        raise ConfigError(file, "sources", "must be a non-empty list of sources")
    sources: list[Source] = []
    seen: set[str] = set()
    allowed = {"name", "language", "timezone", "feeds", "sitemaps", "listings", "enabled"}
    for i, raw in enumerate(data):
        r = _Reader(file, raw, f"sources[{i}]", allowed)
        name = r.text("name", required=True)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            r.fail("name", f"{name!r} may only hold letters, digits, '_', '.', '-'")
        if name in seen:
            r.fail("name", f"duplicate source name {name!r}")
        seen.add(name)
        r.key = f"sources[{i}] ({name})"
        language = r.text("language", required=True)
        if not _LANG.match(language):
            r.fail("language", f"must be an ISO 639-1 code like 'en' or 'it', got {language!r}")
        feeds = tuple(_http_url(r, f"feeds[{j}]", u) for j, u in enumerate(r.strings("feeds")))
        sitemaps = tuple(_http_url(r, f"sitemaps[{j}]", u) for j, u in enumerate(r.strings("sitemaps")))
        listings = []
        for j, raw_listing in enumerate(r.get("listings", list, [])):
            lr = _Reader(file, raw_listing, f"{r.key}.listings[{j}]", {"url", "follow", "max_pages"})
            url = _http_url(lr, "url", lr.text("url", required=True))
            pattern = lr.text("follow", required=True)
            try:
                follow = re.compile(pattern)
            except re.error as exc:
                lr.fail("follow", f"bad regular expression {pattern!r}: {exc}")
            max_pages = lr.number("max_pages", crawl.max_listing_pages, 1, 1000, integer=True)
            listings.append(Listing(url, follow, max_pages))
        if not (feeds or sitemaps or listings):
            r.fail("", "needs at least one of feeds, sitemaps or listings")
        zone = r.text("timezone", None)
        if zone is None:
            zone = ZONE_BY_LANGUAGE.get(language)
        else:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                r.fail("timezone", f"unknown time zone {zone!r}: use an IANA name like 'Europe/Rome'")
        enabled = r.get("enabled", bool, True)
        sources.append(Source(name, language, zone, feeds, sitemaps, tuple(listings), enabled))
    return sources


def _expand(file: Path, key: str, template: str) -> str:
    def substitute(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None or value == "":
            raise ConfigError(file, key, f"environment variable ${{{m.group(1)}}} is not set")
        secrets.register(value)
        return value

    return _VAR.sub(substitute, template)


def _targets(file: Path, data: Any, section: str, topic_names: list[str], routed: bool) -> list[AlertTarget]:
    import apprise  # heavy import: only when targets are configured

    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(file, section, "must be a list of targets")
    allowed = {"url", "name"} | ({"topics", "mode", "max_per_run", "per"} if routed else set())
    targets: list[AlertTarget] = []
    ids: set[str] = set()
    for i, raw in enumerate(data):
        r = _Reader(file, raw, f"{section}[{i}]", allowed)
        template = r.text("url", required=True)
        url = _expand(file, r.path("url"), template)
        secrets.register_url(url)
        with secrets.quiet_apprise():
            plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            # The URL itself is never echoed: it may hold a token.
            r.fail("url", "not a notification URL apprise understands (check the scheme and its required parts)")
        name = r.text("name", None)
        target_id = name or hashlib.sha256(template.encode()).hexdigest()[:12]
        if target_id in ids:
            r.fail("name" if name else "url", "two targets with the same name or URL")
        ids.add(target_id)
        topics = None
        mode, max_per_run, per = "instant", None, "language"
        if routed:
            if "topics" in r.data:
                topics = r.strings("topics")
                for j, t in enumerate(topics):
                    if t not in topic_names:
                        r.fail(f"topics[{j}]", f"unknown topic {t!r} (topics: {', '.join(topic_names)})")
            mode = r.text("mode", "instant")
            if mode not in ("instant", "digest"):
                r.fail("mode", f"must be 'instant' or 'digest', got {mode!r}")
            max_per_run = r.number("max_per_run", 0, 1, integer=True) if "max_per_run" in r.data else None
            per = r.text("per", "language")
            if per not in PER_CHOICES:
                r.fail("per", f"must be {' or '.join(repr(p) for p in PER_CHOICES)}, got {per!r}")
        assert plugin is not None  # r.fail raised otherwise
        targets.append(AlertTarget(target_id, url, plugin.url(privacy=True), topics, mode, max_per_run, per))
    return targets


TOP_LEVEL = {"sources", "topics", "alerts", "health", "archive", "state", "dedup", "retention_days", "crawl",
             "health_checks", "clusters"}
#: What a target is alerted once per: each language's first copy of a story, or its first copy at all.
PER_CHOICES = ("language", "cluster")


def load_config(path: str | os.PathLike[str] | None = None, *, with_targets: bool = True) -> Config:
    """Read, validate and compile the configuration. Raises :class:`ConfigError`.

    ``with_targets=False`` leaves ``alerts`` and ``health`` empty and unchecked: the terminal tools
    (explain, review) need no secrets from the environment."""
    from crawler.matching import RuleError, compile_topics

    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found (set NEWSWATCH_CONFIG or create newswatch.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "", f"cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(file, "", f"invalid YAML: {where}{getattr(exc, 'problem', exc)}") from None
    top = _Reader(file, data if data is not None else {}, "", TOP_LEVEL)
    base = file.resolve().parent

    cr = _Reader(file, top.get("crawl", dict, {}), "crawl", {"download_timeout", "max_page_bytes",
                 "max_listing_pages", "sitemap_max_age_days", "concurrent_per_domain", "obey_robots",
                 "user_agent", "max_rechecks_per_source", "workers", "page_timeout", "idle_close", "lease"})
    crawl = CrawlConfig(
        download_timeout=float(cr.number("download_timeout", 30.0, 0.1)),
        max_page_bytes=cr.number("max_page_bytes", 5 * 1024 * 1024, 1024, integer=True),
        max_listing_pages=cr.number("max_listing_pages", 5, 1, 1000, integer=True),
        sitemap_max_age_days=float(cr.number("sitemap_max_age_days", 7.0, 0.01)),
        concurrent_per_domain=cr.number("concurrent_per_domain", 2, 1, 16, integer=True),
        max_rechecks_per_source=cr.number("max_rechecks_per_source", 20, 0, 10000, integer=True),
        obey_robots=cr.get("obey_robots", bool, True),
        user_agent=cr.text("user_agent", None),
        workers=cr.number("workers", os.cpu_count() or 1, 0, 64, integer=True),
        page_timeout=float(cr.number("page_timeout", 60.0, 1.0, 3600.0)),
        idle_close=float(cr.number("idle_close", 10.0, 0.5, 3600.0)),
        lease=float(cr.number("lease", 60.0, 5.0, 3600.0)),
    )
    sources = _sources(file, top.get("sources", list, None, required=True), crawl)

    raw_topics = top.get("topics", list, None, required=True)
    try:
        topics = compile_topics(raw_topics)
    except RuleError as exc:
        raise ConfigError(file, exc.key, exc.problem) from None

    dr = _Reader(file, top.get("dedup", dict, {}), "dedup", {"threshold", "num_perm", "shingles"})
    dedup = DedupConfig(
        threshold=float(dr.number("threshold", DedupConfig.threshold, 0.05, 0.99)),
        num_perm=dr.number("num_perm", DedupConfig.num_perm, 16, 1024, integer=True),
        shingles=dr.number("shingles", DedupConfig.shingles, 1, 10, integer=True),
    )
    hr = _Reader(file, top.get("health_checks", dict, {}), "health_checks", {"stale_days", "extract_failure_jump"})
    health_checks = HealthConfig(
        stale_days=float(hr.number("stale_days", HealthConfig.stale_days, 0.1)),
        extract_failure_jump=float(hr.number("extract_failure_jump", HealthConfig.extract_failure_jump, 0.01, 1.0)),
    )
    cl = _Reader(file, top.get("clusters", dict, {}), "clusters", {"enabled", "window_days", "threshold"})
    cluster_config = ClusterConfig(
        enabled=cl.get("enabled", bool, True),
        window_days=float(cl.number("window_days", ClusterConfig.window_days, 0.1, 90.0)),
        threshold=float(cl.number("threshold", ClusterConfig.threshold, 0.05, 1.0)),
    )
    names = list(topics.names)
    state_value, state_key = top.text("state", "data/state.sqlite3"), "state"
    if os.environ.get(STATE_ENV, "").strip():
        state_value, state_key = os.environ[STATE_ENV].strip(), f"state (from ${STATE_ENV})"
    state, redis_url = _state_location(file, base, state_value, state_key)
    return Config(
        path=file,
        sources=sources,
        topics=topics,
        alerts=_targets(file, top.get("alerts", list, None), "alerts", names, routed=True) if with_targets else [],
        health=_targets(file, top.get("health", list, None), "health", names, routed=False) if with_targets else [],
        archive=base / top.text("archive", "data/archive.jsonl"),
        state=state,
        redis_url=redis_url,
        dedup=dedup,
        retention_days=top.number("retention_days", 90, 1, integer=True),
        crawl=crawl,
        health_checks=health_checks,
        clusters=cluster_config,
        raw=data or {},
    )
