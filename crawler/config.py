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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from crawler import secrets
from crawler.matching import CompiledTopics
from crawler.matching.rules import TopicSpec, build_topics
from crawler.metadata import ZONE_BY_LANGUAGE
from crawler.schema import Invalid, Problem, key, name_key, read, unique_names
from crawler.state import REDIS_SCHEMES

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


def http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Problem(f"not an http(s) URL: {value!r}")
    return value


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise Problem(f"bad regular expression {value!r}: {exc}") from None


def _language(value: str) -> str:
    if not _LANG.match(value):
        raise Problem(f"must be an ISO 639-1 code like 'en' or 'it', got {value!r}")
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Problem(f"unknown time zone {value!r}: use an IANA name like 'Europe/Rome'") from None
    return value


# --- the schema of newswatch.yaml (read by crawler.schema; defaults and bounds live here only) ---

@dataclass(frozen=True, kw_only=True)
class Listing:
    url: str = key(required=True, check=http_url, expect="an http(s) URL")
    follow: re.Pattern[str] = key(required=True, check=_regex, expect="a regular expression")
    max_pages: int = key(0, low=1, high=1000)  # 0: crawl.max_listing_pages


@dataclass(frozen=True, kw_only=True)
class Source:
    NAMED_BY: ClassVar[str] = "name"
    name: str = name_key()
    language: str = key(required=True, check=_language, expect="an ISO 639-1 code ('en', 'it')")
    # IANA name: resolves a page's naive times (default: the language's zone, where it has one).
    timezone: str | None = key(None, check=_zone, expect="an IANA time zone name ('Europe/Rome')")
    feeds: tuple[str, ...] = key((), check=http_url, expect="a list of http(s) URLs")
    sitemaps: tuple[str, ...] = key((), check=http_url, expect="a list of http(s) URLs")
    listings: tuple[Listing, ...] = ()
    enabled: bool = True

    def __post_init__(self) -> None:
        if not (self.feeds or self.sitemaps or self.listings):
            raise Problem("needs at least one of feeds, sitemaps or listings")
        if self.timezone is None:
            object.__setattr__(self, "timezone", ZONE_BY_LANGUAGE.get(self.language))


#: What a target is alerted once per: each language's first copy of a story, or its first copy at all.
PER_CHOICES = ("language", "cluster")


@dataclass(frozen=True, kw_only=True)
class TargetSpec:
    """A ``health:`` target: where source problems go."""

    # May hold ${VARIABLES}: substituted, and the URL checked by apprise, when the targets are loaded.
    url: str = key(required=True, expect="a notification URL apprise understands")
    name: str | None = None

    @property
    def id(self) -> str:
        """The target's stable id: its name, else a hash of the URL as written (so it holds no secret)."""
        return self.name or hashlib.sha256(self.url.encode()).hexdigest()[:12]


@dataclass(frozen=True, kw_only=True)
class AlertSpec(TargetSpec):
    """An ``alerts:`` target: which topics, how (``instant`` or ``digest``), how many per run."""

    topics: tuple[str, ...] | None = None
    mode: str = key("instant", choices=("instant", "digest"))
    max_per_run: int | None = key(None, low=1)
    # "language": the first copy of a story in each language alerts; "cluster": only the first copy.
    per: str = key("language", choices=PER_CHOICES)


@dataclass(frozen=True)
class AlertTarget:
    """A target resolved for delivery."""

    id: str
    url: str = field(repr=False)  # resolved: may hold secrets, never log it
    privacy_url: str
    topics: tuple[str, ...] | None = AlertSpec.topics
    mode: str = AlertSpec.mode
    max_per_run: int | None = AlertSpec.max_per_run
    per: str = AlertSpec.per


@dataclass(frozen=True, kw_only=True)
class DedupConfig:
    # MinHash Jaccard from which two texts are one story (crawler.dedup; docs/state.md, "Choosing the
    # threshold", has the similarities measured on syndicated copies and same-topic stories).
    threshold: float = key(0.4, low=0.05, high=0.99)
    num_perm: int = key(128, low=16, high=1024)
    shingles: int = key(3, low=1, high=10)


@dataclass(frozen=True, kw_only=True)
class ClusterConfig:
    """Linking one story across languages (crawler.clusters)."""

    enabled: bool = True
    window_days: float = key(7.0, low=0.1, high=90.0)
    # The evidence score at which two stories are linked (tuned with `make eval`).
    threshold: float = key(0.5, low=0.05, high=1.0)


@dataclass(frozen=True, kw_only=True)
class CrawlConfig:
    download_timeout: float = key(30.0, low=0.1)
    max_page_bytes: int = key(5 * 1024 * 1024, low=1024)
    max_listing_pages: int = key(5, low=1, high=1000)
    sitemap_max_age_days: float = key(7.0, low=0.01)
    concurrent_per_domain: int = key(2, low=1, high=16)
    # Articles dropped for matching no topic that a feed or sitemap shows as updated since: re-fetched,
    # at most this many per source in a run.
    max_rechecks_per_source: int = key(20, low=0, high=10000)
    obey_robots: bool = True
    user_agent: str | None = None
    # Worker processes that analyse pages (0: in the crawl's own process), and the seconds one page may
    # take there before its worker is killed and the page counted as failed.
    workers: int = key(default_factory=lambda: os.cpu_count() or 1, low=0, high=64)
    page_timeout: float = key(60.0, low=1.0, high=3600.0)
    # With a Redis state: seconds a worker waits, with the shared queue empty and no worker busy, before
    # it closes (so cron still ends), and the seconds an alert claim or a tick lasts unless renewed.
    idle_close: float = key(10.0, low=0.5, high=3600.0)
    lease: float = key(60.0, low=5.0, high=3600.0)


@dataclass(frozen=True, kw_only=True)
class HealthConfig:
    stale_days: float = key(3.0, low=0.1)
    extract_failure_jump: float = key(0.5, low=0.01, high=1.0)


@dataclass(frozen=True, kw_only=True)
class Document:
    """The whole of newswatch.yaml, checked; :func:`load_config` resolves it into a :class:`Config`."""

    sources: tuple[Source, ...] = key(required=True, non_empty=True)
    topics: tuple[TopicSpec, ...] = key(required=True)
    alerts: tuple[AlertSpec, ...] = ()
    health: tuple[TargetSpec, ...] = ()
    archive: str = key("data/archive.jsonl", expect="a file path; {worker} stands for the worker's name")
    # A file, or a Redis URL that makes this process one worker of many (see _state_location).
    state: str = key("data/state.sqlite3", expect="a file path, or a redis://, rediss:// or unix:// URL")
    dedup: DedupConfig = field(default_factory=DedupConfig)
    retention_days: int = key(90, low=1)
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    health_checks: HealthConfig = field(default_factory=HealthConfig)
    clusters: ClusterConfig = field(default_factory=ClusterConfig)

    def __post_init__(self) -> None:
        unique_names(self.sources, "sources", "source")
        unique_names(self.topics, "topics", "topic")
        names = [t.name for t in self.topics]
        for section, targets in (("alerts", self.alerts), ("health", self.health)):
            ids: set[str] = set()
            for i, target in enumerate(targets):
                if target.id in ids:
                    raise Problem("two targets with the same name or URL", f"{section}[{i}].{'name' if target.name else 'url'}")
                ids.add(target.id)
        for i, alert in enumerate(self.alerts):
            for j, topic in enumerate(alert.topics or ()):
                if topic not in names:
                    raise Problem(f"unknown topic {topic!r} (topics: {', '.join(names)})", f"alerts[{i}].topics[{j}]")
        pages = self.crawl.max_listing_pages
        object.__setattr__(self, "sources", tuple(
            replace(s, listings=tuple(replace(li, max_pages=li.max_pages or pages) for li in s.listings))
            if s.listings else s for s in self.sources))


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


def _expand(file: Path, key: str, template: str) -> str:
    def substitute(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None or value == "":
            raise ConfigError(file, key, f"environment variable ${{{m.group(1)}}} is not set")
        secrets.register(value)
        return value

    return _VAR.sub(substitute, template)


def _resolve(file: Path, targets: tuple[TargetSpec, ...], section: str) -> list[AlertTarget]:
    """The targets with their ${VARIABLES} substituted, each checked by apprise."""
    import apprise  # heavy import: only when targets are configured

    resolved = []
    for i, target in enumerate(targets):
        key = f"{section}[{i}].url"
        url = _expand(file, key, target.url)
        secrets.register_url(url)
        with secrets.quiet_apprise():
            plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            # The URL itself is never echoed: it may hold a token.
            raise ConfigError(file, key, "not a notification URL apprise understands (check the scheme and its "
                              "required parts)")
        routing = {k: v for k, v in asdict(target).items() if k not in ("url", "name")}
        resolved.append(AlertTarget(target.id, url, plugin.url(privacy=True), **routing))
    return resolved


def load_config(path: str | os.PathLike[str] | None = None, *, with_targets: bool = True) -> Config:
    """Read, validate and compile the configuration. Raises :class:`ConfigError`.

    ``with_targets=False`` leaves ``alerts`` and ``health`` empty and their URLs unresolved: the terminal
    tools (explain, review) need no secrets from the environment."""
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
    try:
        doc = read(Document, data if data is not None else {})
    except Invalid as exc:
        raise ConfigError(file, exc.key, exc.problem) from None
    base = file.resolve().parent
    state_value, state_key = doc.state, "state"
    if os.environ.get(STATE_ENV, "").strip():
        state_value, state_key = os.environ[STATE_ENV].strip(), f"state (from ${STATE_ENV})"
    state, redis_url = _state_location(file, base, state_value, state_key)
    return Config(
        path=file,
        sources=list(doc.sources),
        topics=build_topics(doc.topics),
        alerts=_resolve(file, doc.alerts, "alerts") if with_targets else [],
        health=_resolve(file, doc.health, "health") if with_targets else [],
        archive=base / doc.archive,
        state=state,
        redis_url=redis_url,
        dedup=doc.dedup,
        retention_days=doc.retention_days,
        crawl=doc.crawl,
        health_checks=doc.health_checks,
        clusters=doc.clusters,
        raw=data or {},
    )
