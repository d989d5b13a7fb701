"""The metadata resolver: headline, published instant, authors of one article page.

Every field is decided from all the evidence a page and its discovery carry, in one documented order
of trust (the README's archive table repeats it):

* **headline** -- JSON-LD ``headline`` of the article object (also inside ``@graph``), ``og:title``,
  ``twitter:title``, the page's ``<h1>``, ``<title>``. Each candidate loses the site's name wherever it is
  a prefix or a suffix (names from ``og:site_name``, JSON-LD ``publisher.name``, the source's name in the
  config, and what a ``<title>`` separator -- `` - ``, `` | ``, `` – ``, `` :: ``, ``»`` -- sets off and
  other candidates do not carry). The first candidate wins, except that a later one that starts with
  the same words and is longer (the first was a truncation) replaces it. A headline that is only the
  site's name is never returned.
* **published** -- JSON-LD ``datePublished``, ``article:published_time``, ``<time datetime>`` (itemprop
  ``datePublished`` first, then the first inside the article), ``pubdate``/``date``/``DC.date`` metas, the
  feed entry's ``published``, the sitemap's ``news:publication_date``, trafilatura's (htmldate's) guess.
  A naive time is resolved in the source's time zone; a naive time with no zone, or a date without a
  time, takes a later candidate's full instant on the same day, else stays a day
  (``published_precision: day``). The result is ISO 8601 with its offset, never naive.
* **modified** -- JSON-LD ``dateModified``, ``article:modified_time``, the feed's ``updated``.
* **authors** -- JSON-LD ``author`` (objects, arrays, strings), ``article:author``, ``author`` metas,
  ``rel=author`` links and ``itemprop=author``/byline elements; "By", "di", "von", "par", "por" and roles
  removed, names split on "and"/"e"/"und"/"et"/"y" and commas; the outlet's name is dropped unless it is
  the only byline (an outlet that signs its own story, "BBC News").

Nothing here fetches or parses: :func:`resolve` reads the tree :func:`crawler.extraction.parse_page` made.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

# A source's default time zone, from its language, only where the language names one zone.
ZONE_BY_LANGUAGE = {"it": "Europe/Rome"}

# JSON-LD types that describe the article itself (schema.org's Article family).
_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|LiveBlogPosting|NewsArticle|Review)$")
_SEPARATORS = re.compile(r"\s+(?:[-|–—:·•]|::|»|«)\s+|\s*(?:»|«)\s*")
_SPACE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*$")


@dataclass(frozen=True)
class Discovery:
    """What the run knew about an article before fetching it."""

    source_name: str | None = None
    timezone: str | None = None  # IANA name
    feed_published: str | None = None  # ISO 8601: the feed entry's published / the sitemap's date
    feed_updated: str | None = None


@dataclass(frozen=True)
class Metadata:
    headline: str | None = None
    published: str | None = None  # ISO 8601 with offset, or YYYY-MM-DD when only the day is known
    published_precision: str | None = None  # "second" or "day"
    modified: str | None = None
    authors: list[str] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)  # field -> where it came from (for explain)


def normalise_text(value: str | None) -> str:
    """NFC, invisible characters removed, whitespace collapsed."""
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value).translate(_INVISIBLE)
    return _SPACE.sub(" ", value).strip()


# --- reading the page ---------------------------------------------------------------------------

def _meta_key(meta: Any) -> str:
    return (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()


def _metas(tree: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = _meta_key(meta)
        content = meta.get("content")
        if key and content and content.strip():
            out.setdefault(key, []).append(content.strip())
    return out


def _json_ld(tree: Any) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, flattened out of lists and ``@graph``."""
    objects: list[dict[str, Any]] = []

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 6:
            return
        if isinstance(node, list):
            for child in node:
                walk(child, depth + 1)
        elif isinstance(node, dict):
            objects.append(node)
            if "@graph" in node:
                walk(node["@graph"], depth + 1)
            main = node.get("mainEntity")
            if isinstance(main, (dict, list)):
                walk(main, depth + 1)

    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            walk(json.loads(raw, strict=True))
        except ValueError:
            # A trailing comma or a stray character: the page's other evidence still counts.
            logger.debug("unreadable JSON-LD block skipped")
    return objects


def _types(obj: Mapping[str, Any]) -> list[str]:
    kind = obj.get("@type")
    if isinstance(kind, str):
        return [kind]
    return [k for k in kind if isinstance(k, str)] if isinstance(kind, list) else []


def _articles(objects: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if any(_ARTICLE_TYPES.search(t) for t in _types(o))]


def _name(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str):
            return name
        if isinstance(name, list) and name and isinstance(name[0], str):
            return name[0]
    if isinstance(value, list) and value:
        return _name(value[0])
    return None


def _text(element: Any) -> str:
    return normalise_text(element.text_content()) if element is not None else ""


# --- headline -----------------------------------------------------------------------------------

def _fold(value: str) -> str:
    value = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in value if c.isalnum())


def _strip_site(headline: str, sites: Sequence[str]) -> str:
    """*headline* without any of *sites* as a prefix or suffix set off by a separator."""
    changed = True
    while changed and headline:
        changed = False
        parts = _SEPARATORS.split(headline)
        if len(parts) < 2:
            break
        seps = _SEPARATORS.findall(headline)
        for site in sites:
            key = _fold(site)
            if not key:
                continue
            if _fold(parts[-1]) == key or (len(parts[-1]) <= 40 and key in _fold(parts[-1])
                                           and _fold(parts[-1]).startswith(key[:4])):
                headline = headline[: len(headline) - len(parts[-1]) - len(seps[-1])].strip()
                changed = True
                break
            if _fold(parts[0]) == key:
                headline = headline[len(parts[0]) + len(seps[0]):].strip()
                changed = True
                break
    return headline


def _truncation_of(short: str, long: str) -> bool:
    """*short* is *long* cut short with an ellipsis. (Without one, the longer candidate is measurably more
    often the same headline plus a section or site suffix the separators did not catch: "… | World News".)"""
    if not _ELLIPSIS.search(short):
        return False
    base = _fold(_ELLIPSIS.sub("", short))
    return bool(base) and len(long) > len(short) and _fold(long).startswith(base)


def _headline(tree: Any, metas: Mapping[str, list[str]], articles: Sequence[dict[str, Any]],
              sites: Sequence[str], evidence: dict[str, str]) -> str | None:
    """The first headline in trust order (JSON-LD, ``og:title``, ``twitter:title``, ``<h1>``, ``<title>``),
    each without the site's name; a later one replaces it only when the first is its truncation."""
    sites = list(sites)  # what <title> sets off is added here only, not to the outlet names authors use
    candidates: list[tuple[str, str]] = []
    for obj in articles:
        value = obj.get("headline") or obj.get("name")
        if isinstance(value, str):
            candidates.append(("json-ld headline", value))
    for key in ("og:title", "twitter:title"):
        for value in metas.get(key, [])[:1]:
            candidates.append((key, value))
    title = _text(next(tree.iter("title"), None))
    h1s = [h for h in (_text(h) for h in tree.iter("h1")) if h]
    if h1s:
        # A page can have several <h1>s (a logo, a sidebar): the article's is the one the metadata agrees with.
        keys = [_fold(c[1]) for c in candidates] + [_fold(title)]
        agreed = [h for h in h1s if any(_fold(h) and _fold(h) in key for key in keys if key)]
        candidates.append(("h1", (agreed or h1s)[0]))
    if title:
        # What a <title> separator sets off and no other candidate carries is the site's name.
        # With nothing to compare, a short last part is taken for the site's name ("… - La Stampa").
        parts = _SEPARATORS.split(title)
        if len(parts) > 1:
            rest = " ".join(_fold(c[1]) for c in candidates)
            if rest:
                sites += [part for part in (parts[-1], parts[0]) if _fold(part) and _fold(part) not in rest]
            elif len(parts[-1]) <= 40 and len(parts[-1]) < len(parts[0]):
                sites.append(parts[-1])
        candidates.append(("title", title))
    site_keys = {_fold(s) for s in sites if _fold(s)}
    best: tuple[str, str] | None = None
    for origin, raw in candidates:
        # JSON-LD strings are sometimes HTML-escaped a second time ("&#8216;").
        value = _strip_site(normalise_text(unescape(raw)), sites)
        if not _fold(value) or _fold(value) in site_keys:
            continue
        if best is None or _truncation_of(best[1], value):
            best = (origin, value)
    if best is None:
        return None
    evidence["headline"] = best[0]
    return best[1]


# The JSON-LD strings _headline can take (an article object's headline or name), found without parsing
# the JSON: the prefilter reads them on pages it then skips.
_JSON_LD_HEADLINE = re.compile(r'"(?:headline|name)"\s*:\s*("(?:[^"\\]|\\.)*")')


def headline_sources(tree: Any) -> list[str]:
    """What :func:`_headline` may read besides the page's text nodes: ``og:title``/``twitter:title`` and
    the JSON-LD headlines and names (a superset), as the headline resolver unescapes them."""
    out: list[str] = []
    for meta in tree.iter("meta"):
        key = _meta_key(meta)
        if key in ("og:title", "twitter:title") and meta.get("content"):
            out.append(meta.get("content"))
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json" and script.text:
            for literal in _JSON_LD_HEADLINE.findall(script.text):
                try:
                    out.append(json.loads(literal, strict=True))
                except ValueError:
                    out.append(literal)
    return [normalise_text(unescape(value)) for value in out]


# --- dates --------------------------------------------------------------------------------------

_MONTHS = {
    # en, it, de, fr, es -- full names and the usual abbreviations
    **{m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                   "september", "october", "november", "december"], 1)},
    **{m: i for i, m in enumerate(["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio",
                                   "agosto", "settembre", "ottobre", "novembre", "dicembre"], 1)},
    **{m: i for i, m in enumerate(["januar", "februar", "märz", "april", "mai", "juni", "juli", "august",
                                   "september", "oktober", "november", "dezember"], 1)},
    **{m: i for i, m in enumerate(["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                                   "septembre", "octobre", "novembre", "décembre"], 1)},
    **{m: i for i, m in enumerate(["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                                   "septiembre", "octubre", "noviembre", "diciembre"], 1)},
}
for _m, _i in list(_MONTHS.items()):
    _MONTHS.setdefault(_m[:3], _i)
    _MONTHS.setdefault(_m[:4], _i)
_MONTHS.update({"sept": 9, "gen": 1, "mag": 5, "giu": 6, "lug": 7, "ago": 8, "set": 9, "ott": 10, "dic": 12})

# "5 febbraio 2025 ore 14:32", "5. Februar 2025, 14:32 Uhr", "February 5, 2025 at 2:32 pm"
_WORDY = re.compile(
    r"(?:(?P<d1>\d{1,2})\.?\s+(?P<m1>[^\W\d_]{3,10})\.?|(?P<m2>[^\W\d_]{3,10})\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?)"
    r"\s+(?P<y>\d{4})"
    r"(?:[,\s]+(?:ore|alle|um|at|à|a\s+las|-)?\s*(?P<h>\d{1,2})[:.h](?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ap>[ap]\.?m\.?)?)?",
    re.IGNORECASE)
_NUMERIC = re.compile(r"(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4})(?:[,\s]+(?:ore\s+)?(?P<h>\d{1,2})[:.](?P<mi>\d{2}))?")


@dataclass(frozen=True)
class _When:
    """One parsed date: ``moment`` naive or aware; ``has_time`` False for a bare day."""

    moment: datetime
    has_time: bool

    @property
    def aware(self) -> bool:
        return self.moment.tzinfo is not None


def parse_when(value: str | None) -> _When | None:
    """A date string in any of the forms pages and feeds use; None when it is not a date."""
    if not value:
        return None
    text = normalise_text(value)
    if not text:
        return None
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
        try:
            return _When(datetime.fromisoformat(iso), False)
        except ValueError:
            return None
    if re.match(r"\d{4}-\d{2}-\d{2}[T ]\d", iso):
        # Offsets without a colon (+0200) and stray fractions are common: normalise before parsing.
        iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", iso)
        iso = re.sub(r"(\.\d{6})\d+", r"\1", iso)
        try:
            return _When(datetime.fromisoformat(iso), True)
        except ValueError:
            pass
    if re.fullmatch(r"\d{8}", text):
        try:
            return _When(datetime.strptime(text, "%Y%m%d"), False)
        except ValueError:
            return None
    try:
        moment = parsedate_to_datetime(text)  # RFC 2822: feeds
        return _When(moment, True)
    except (TypeError, ValueError, IndexError):
        pass
    return _parse_wordy(text)


def _parse_wordy(text: str) -> _When | None:
    match = _WORDY.search(text)
    if match:
        month = _MONTHS.get((match["m1"] or match["m2"] or "").casefold())
        day = int(match["d1"] or match["d2"])
        if month is None:
            return None
        return _build(int(match["y"]), month, day, match["h"], match["mi"], match["s"], match["ap"])
    match = _NUMERIC.search(text)
    if match:
        return _build(int(match["y"]), int(match["m"]), int(match["d"]), match["h"], match["mi"], None, None)
    return None


def _build(year: int, month: int, day: int, hour: str | None, minute: str | None, second: str | None,
           ampm: str | None) -> _When | None:
    try:
        if hour is None:
            return _When(datetime(year, month, day), False)
        h = int(hour)
        if ampm:
            h = h % 12 + (12 if ampm.lower().startswith("p") else 0)
        return _When(datetime(year, month, day, h, int(minute or 0), int(second or 0)), True)
    except ValueError:
        return None


def zone(name: str | None) -> tzinfo | None:
    return ZoneInfo(name) if name else None


def _read(raw: str | None, tz: tzinfo | None) -> _When | None:
    """*raw* parsed, a naive time read in *tz* when one is known."""
    when = parse_when(raw)
    if when is not None and when.has_time and not when.aware and tz is not None:
        when = _When(when.moment.replace(tzinfo=tz), True)
    return when


def iso_date(value: str | None) -> str | None:
    """A feed or sitemap date as ISO 8601 (kept naive only when the source gave no zone); None if unparseable."""
    when = parse_when(value)
    if when is None:
        return None
    return when.moment.isoformat() if when.has_time else when.moment.date().isoformat()


def _published(candidates: Sequence[tuple[str, str | None]], tz: tzinfo | None,
               evidence: dict[str, str]) -> tuple[str | None, str | None]:
    """(ISO value, precision) from candidates in trust order."""
    parsed: list[tuple[str, _When]] = []
    for origin, raw in candidates:
        when = _read(raw, tz)
        if when is not None and 1990 <= when.moment.year <= 2100:
            parsed.append((origin, when))
    if not parsed:
        return None, None
    origin, first = parsed[0]
    if first.has_time and first.aware:
        evidence["published"] = origin
        return first.moment.isoformat(), "second"
    # A bare day, or a time whose zone nobody knows: a full instant on the same day is better.
    for other_origin, other in parsed[1:]:
        if other.has_time and other.aware and _same_day(first, other, tz):
            evidence["published"] = f"{other_origin} (same day as {origin})"
            return other.moment.isoformat(), "second"
    evidence["published"] = origin
    return first.moment.date().isoformat(), "day"


def _same_day(day: _When, instant: _When, tz: tzinfo | None) -> bool:
    local = instant.moment.astimezone(tz) if tz is not None else instant.moment
    if day.has_time:  # a naive time: the same wall-clock moment within a day
        return abs(day.moment - local.replace(tzinfo=None)) < timedelta(hours=14)
    return local.date() == day.moment.date()


def _modified(candidates: Sequence[str | None], tz: tzinfo | None) -> str | None:
    for raw in candidates:
        when = _read(raw, tz)
        if when is None:
            continue
        if when.has_time and when.aware:
            return when.moment.isoformat()
        if not when.has_time:
            return when.moment.date().isoformat()
    return None


def _date_candidates(tree: Any, metas: Mapping[str, list[str]], articles: Sequence[dict[str, Any]],
                     discovery: Discovery) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for obj in articles:
        value = obj.get("datePublished") or obj.get("dateCreated")
        if isinstance(value, str):
            out.append(("json-ld datePublished", value))
    for key in ("article:published_time", "og:article:published_time", "datepublished"):
        out.extend((key, v) for v in metas.get(key, [])[:1])
    times = tree.xpath("//*[@itemprop='datePublished']")
    times += tree.xpath("(//time[@datetime])[1]")  # in document order: the article header's comes first
    for element in times:
        out.append(("<time datetime>", element.get("datetime") or element.get("content") or _text(element)))
    for key in ("pubdate", "publishdate", "publish-date", "publication_date", "date", "dc.date.issued",
                "dc.date", "dcterms.date", "sailthru.date", "parsely-pub-date", "article.published"):
        out.extend((f"meta {key}", v) for v in metas.get(key, [])[:1])
    out.append(("feed", discovery.feed_published))
    return out


# --- authors ------------------------------------------------------------------------------------

_BY = re.compile(r"^\s*(?:by|written\s+by|di|a\s+cura\s+di|von|par|por|de|door|av|af)[:\s]+", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|;|&|\+|\s(?:and|e|ed|und|et|y)\s|\|)\s*", re.IGNORECASE)
_ROLE = re.compile(
    r"\s*(?:[,|–—-]\s*|\()\s*\b(?:senior|staff|contributing|deputy|associate|chief|managing|executive|political|"
    r"news|technology|tech|science|business|sports?|foreign|health|royal|world|global)?\s*"
    r"(?:editor|reporter|writer|correspondent|journalist|columnist|contributor|redattore|giornalista|"
    r"redakteur(?:in)?|autor(?:in)?|rédacteur|periodista|corresponsal)\b.*$", re.IGNORECASE)
_URLISH = re.compile(r"^(?:https?:|www\.)|/")
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)+$")  # "chuck-ross": a URL slug, not a byline
_DATEISH = re.compile(r"\d{1,2}[:./]\d{2}|\b\d{4}\b")


def clean_authors(raw: Iterable[str], outlet_names: Sequence[str] = ()) -> list[str]:
    """Author names from bylines: prefixes, roles and duplicates removed; the outlet's name dropped
    unless it is the only byline."""
    names: list[str] = []
    for value in raw:
        value = normalise_text(value)
        if not value or _URLISH.search(value):
            continue
        value = _BY.sub("", value)
        if _SLUG.match(value):
            continue
        for part in _SPLIT.split(_ROLE.sub("", value)):
            part = _BY.sub("", _ROLE.sub("", part)).strip(" .:-–—|·")
            if not part or _DATEISH.search(part) or len(part) > 60 or len(part.split()) > 6:
                continue
            if part.casefold() in {"staff", "redazione", "redaktion", "admin", "editor", "editorial"}:
                continue
            if all(_fold(part) != _fold(n) for n in names):
                names.append(part)
    outlets = {_fold(n) for n in outlet_names if _fold(n)}
    kept = [n for n in names if _fold(n) not in outlets]
    return kept or names


def _author_values(value: Any, by_id: Mapping[str, dict[str, Any]]) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        # {"@id": ...} refers to a Person elsewhere in the @graph.
        name = _name(by_id.get(value.get("@id") or "", value)) or _name(value)
        if name:
            yield name
    elif isinstance(value, list):
        for child in value:
            yield from _author_values(child, by_id)


def _authors(tree: Any, metas: Mapping[str, list[str]], articles: Sequence[dict[str, Any]],
             objects: Sequence[dict[str, Any]], outlets: Sequence[str], evidence: dict[str, str]) -> list[str]:
    by_id = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str) and _name(o)}
    sources: list[tuple[str, list[str]]] = []
    for obj in articles:
        found = list(_author_values(obj.get("author"), by_id))
        if found:
            sources.append(("json-ld author", found))
    sources.append(("article:author", metas.get("article:author", [])))
    sources.append(("meta author", metas.get("author", [])[:1] + metas.get("parsely-author", [])
                    + metas.get("sailthru.author", [])[:1]))
    sources.append(("rel=author", [_text(a) for a in tree.xpath("//a[@rel='author']")][:5]))
    sources.append(("byline", [_text(e) for e in tree.xpath(
        "//*[@itemprop='author']//*[@itemprop='name'] | //*[@itemprop='author'][not(.//*[@itemprop='name'])]"
        " | //*[contains(concat(' ', normalize-space(@class), ' '), ' byline ')]")][:5]))
    for origin, values in sources:
        names = clean_authors(values, outlets)
        if names:
            evidence["authors"] = origin
            return names
    return []


# --- the resolver -------------------------------------------------------------------------------

def resolve(tree: Any, discovery: Discovery = Discovery(),
            fallback_date: Callable[[], str | None] | None = None) -> Metadata:
    """Decide headline, published, modified and authors of the article page *tree* (an lxml tree).

    *fallback_date* (htmldate's guess, costly) is called only when no other evidence dates the page."""
    metas = _metas(tree)
    objects = _json_ld(tree)
    articles = _articles(objects) or [o for o in objects if "headline" in o]
    site_names: list[str] = []
    site_names += metas.get("og:site_name", [])[:1]
    for obj in articles:
        publisher = _name(obj.get("publisher"))
        if publisher:
            site_names.append(publisher)
    site_names += [_name(o) or "" for o in objects
                   if {"WebSite", "Organization", "NewsMediaOrganization"}.intersection(_types(o))]
    if discovery.source_name:
        site_names.append(discovery.source_name)
    site_names = [normalise_text(s) for s in site_names if s and s.strip()]

    evidence: dict[str, str] = {}
    tz = zone(discovery.timezone)
    headline = _headline(tree, metas, articles, site_names, evidence)
    candidates = _date_candidates(tree, metas, articles, discovery)
    published, precision = _published(candidates, tz, evidence)
    if published is None and fallback_date is not None:
        published, precision = _published([("htmldate", fallback_date())], tz, evidence)
    modified = _modified([*(o.get("dateModified") for o in articles if isinstance(o.get("dateModified"), str)),
                          *metas.get("article:modified_time", [])[:1], *metas.get("og:updated_time", [])[:1],
                          discovery.feed_updated], tz)
    authors = _authors(tree, metas, articles, objects, site_names, evidence)
    return Metadata(headline=headline, published=published, published_precision=precision, modified=modified,
                    authors=authors, evidence=evidence)


def to_utc(value: str | None) -> datetime | None:
    """An archived ``published`` value as an aware UTC datetime (a day: its midnight UTC)."""
    when = parse_when(value)
    if when is None:
        return None
    moment = when.moment if when.aware else when.moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


