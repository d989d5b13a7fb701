"""The metadata resolver's rules, one small page per case (crawler/metadata.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crawler.extraction import parse_page
from crawler.metadata import Discovery, clean_authors, parse_when, resolve


def page(head: str = "", body: str = "", ld: Any = None) -> Any:
    script = f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld is not None else ""
    return parse_page(f"<html><head>{head}{script}</head><body>{body}</body></html>")


def article(**fields: Any) -> dict[str, Any]:
    return {"@context": "https://schema.org", "@type": "NewsArticle", **fields}


HEADLINES = [
    ("json-ld headline inside @graph",
     page(ld={"@graph": [{"@type": "WebSite", "name": "HDblog"},
                         {"@type": "NewsArticle", "headline": "DeepSeek V4 arriva sui chip Ascend"}]},
          head="<title>DeepSeek V4 - HDblog</title>"),
     Discovery(), "DeepSeek V4 arriva sui chip Ascend"),
    ("og:title with the site's name as a suffix",
     page(head='<meta property="og:title" content="Perturbazione polare al Centro e al Sud - La Stampa">'
               '<meta property="og:site_name" content="La Stampa">'),
     Discovery(), "Perturbazione polare al Centro e al Sud"),
    ("<title> suffix after a pipe, site name from the config",
     page(head="<title>ORSO MARSICANO: 2019 UN ANNO DA RECORD | Parco Nazionale d'Abruzzo</title>"),
     Discovery(source_name="Parco Nazionale d'Abruzzo"), "ORSO MARSICANO: 2019 UN ANNO DA RECORD"),
    ("German quotes and a publisher from JSON-LD",
     page(ld=article(headline="„Unermüdlicher Einsatz“ - Die Neue Südtiroler Tageszeitung",
                     publisher={"@type": "Organization", "name": "Die Neue Südtiroler Tageszeitung"})),
     Discovery(), "„Unermüdlicher Einsatz“"),
    ("site name as a prefix with »",
     page(head="<title>Punto Informatico » Nvidia H800, nuove restrizioni</title>"),
     Discovery(source_name="Punto Informatico"), "Nvidia H800, nuove restrizioni"),
    ("a truncated social title gives way to the full headline",
     page(head='<meta property="og:title" content="Huawei Ascend 910C: le prime consegne...">',
          body="<h1>Huawei Ascend 910C: le prime consegne ai data center cinesi</h1>"),
     Discovery(), "Huawei Ascend 910C: le prime consegne ai data center cinesi"),
    ("a headline that is only the site's name is never returned",
     page(head='<meta property="og:title" content="Tom\'s Hardware"><meta property="og:site_name" '
               'content="Tom\'s Hardware">', body="<h1>Nvidia's H800 in China</h1>"),
     Discovery(), "Nvidia's H800 in China"),
    ("double-escaped JSON-LD",
     page(ld=article(headline="Mexico to fight &#8216;illogical&#8217; tariffs")),
     Discovery(), "Mexico to fight ‘illogical’ tariffs"),
    ("a colon inside the headline is kept",
     page(ld=article(headline="Ascend: why Huawei's chip matters"), head="<title>Ascend: why Huawei's chip "
                                                                          "matters | Tom's Hardware</title>"),
     Discovery(source_name="tomshardware"), "Ascend: why Huawei's chip matters"),
]


@pytest.mark.parametrize(("tree", "discovery", "expected"), [c[1:] for c in HEADLINES], ids=[c[0] for c in HEADLINES])
def test_headline(tree: Any, discovery: Discovery, expected: str) -> None:
    assert resolve(tree, discovery).headline == expected


PUBLISHED = [
    ("aware JSON-LD datePublished wins, its offset kept",
     page(ld=article(datePublished="2025-06-17T18:24:10+02:00"),
          head='<meta property="article:published_time" content="2025-06-17T16:24:10Z">'),
     Discovery(), "2025-06-17T18:24:10+02:00", "second"),
    ("a naive datePublished in the source's zone (summer time in Rome)",
     page(ld=article(datePublished="2025-06-17T18:24:10")),
     Discovery(timezone="Europe/Rome"), "2025-06-17T18:24:10+02:00", "second"),
    ("a naive time in winter in Rome",
     page(ld=article(datePublished="2025-02-05T14:32:00")),
     Discovery(timezone="Europe/Rome"), "2025-02-05T14:32:00+01:00", "second"),
    ("a date-only page takes the feed's pubDate of the same day",
     page(ld=article(datePublished="2025-01-05")),
     Discovery(feed_published="2025-01-05T14:44:14+00:00"), "2025-01-05T14:44:14+00:00", "second"),
    ("a date-only page with a feed date of another day stays a day",
     page(ld=article(datePublished="2025-01-05")),
     Discovery(feed_published="2025-01-09T08:00:00+00:00"), "2025-01-05", "day"),
    ("a naive time with no known zone takes the feed's instant when it agrees",
     page(ld=article(datePublished="2025-01-05T15:44:14")),
     Discovery(feed_published="Sun, 05 Jan 2025 14:44:14 +0000"), "2025-01-05T14:44:14+00:00", "second"),
    ("a naive time with no zone and no feed stays a day, never a naive instant",
     page(ld=article(datePublished="2025-01-05T15:44:14")), Discovery(), "2025-01-05", "day"),
    ("article:published_time meta",
     page(head='<meta property="article:published_time" content="2026-03-02T09:15:00+0100">'),
     Discovery(), "2026-03-02T09:15:00+01:00", "second"),
    ("<time datetime> in the article header",
     page(body='<article><header><time datetime="2026-03-02T09:15:00Z">2 marzo</time></header></article>'),
     Discovery(), "2026-03-02T09:15:00+00:00", "second"),
    ("an Italian byline date, 'ore', in the source's zone",
     page(body='<article><p class="date"><span itemprop="datePublished">5 febbraio 2025 ore 14:32</span></p>'
               '</article>'), Discovery(timezone="Europe/Rome"), "2025-02-05T14:32:00+01:00", "second"),
    ("Italian numeric date with ore",
     page(head='<meta name="date" content="05/02/2025 ore 14:32">'), Discovery(timezone="Europe/Rome"),
     "2025-02-05T14:32:00+01:00", "second"),
    ("only the feed knows",
     page(), Discovery(feed_published="2026-03-02T09:15:00+01:00"), "2026-03-02T09:15:00+01:00", "second"),
    ("nothing dates the page", page(), Discovery(), None, None),
]


@pytest.mark.parametrize(("tree", "discovery", "expected", "precision"), [c[1:] for c in PUBLISHED],
                         ids=[c[0] for c in PUBLISHED])
def test_published(tree: Any, discovery: Discovery, expected: str | None, precision: str | None) -> None:
    meta = resolve(tree, discovery)
    assert (meta.published, meta.published_precision) == (expected, precision)


def test_modified_is_kept_apart_from_published() -> None:
    meta = resolve(page(ld=article(datePublished="2025-01-05T10:00:00Z", dateModified="2025-01-06T11:00:00Z")))
    assert meta.published == "2025-01-05T10:00:00+00:00"
    assert meta.modified == "2025-01-06T11:00:00+00:00"


def test_htmldate_guess_is_asked_only_when_nothing_else_dates_the_page() -> None:
    calls: list[int] = []

    def guess() -> str:
        calls.append(1)
        return "2025-03-01T10:00:00+0000"

    assert resolve(page(ld=article(datePublished="2025-01-05T10:00:00Z")), fallback_date=guess).published \
        == "2025-01-05T10:00:00+00:00"
    assert calls == []
    assert resolve(page(), fallback_date=guess).published == "2025-03-01T10:00:00+00:00"
    assert calls == [1]


AUTHORS = [
    ("JSON-LD author objects in an array",
     page(ld=article(author=[{"@type": "Person", "name": "Mario Rossi"}, {"@type": "Person", "name": "Anna Bianchi"}])),
     ["Mario Rossi", "Anna Bianchi"]),
    ("a JSON-LD author object", page(ld=article(author={"@type": "Person", "name": "Paul Alcorn"})),
     ["Paul Alcorn"]),
    ("an @id reference into @graph",
     page(ld={"@graph": [{"@type": "NewsArticle", "headline": "x", "author": {"@id": "#p1"}},
                         {"@type": "Person", "@id": "#p1", "name": "Chuck Ross"}]}), ["Chuck Ross"]),
    ("a string with By", page(head='<meta name="author" content="By Anton Shilov">'), ["Anton Shilov"]),
    ("Italian 'di' and 'e'", page(body='<article><span class="byline">di Mario Rossi e Luca Verdi</span></article>'),
     ["Mario Rossi", "Luca Verdi"]),
    ("German 'von' and 'und'", page(head='<meta name="author" content="von Dirk Knop und Anna Schmidt">'),
     ["Dirk Knop", "Anna Schmidt"]),
    ("a role after a comma is not a name", page(head='<meta name="author" content="Jane Doe, Senior Editor">'),
     ["Jane Doe"]),
    ("the outlet's name beside a journalist is dropped",
     page(ld=article(author=[{"name": "Mario Rossi"}, {"name": "HDblog"}], publisher={"name": "HDblog"})),
     ["Mario Rossi"]),
    ("an outlet that signs its own story keeps its byline",
     page(ld=article(author={"@type": "Organization", "name": "BBC News"}, publisher={"name": "BBC News"})),
     ["BBC News"]),
    ("a URL slug is not a name; the next evidence is used",
     page(ld=article(author={"name": "chuck-ross"}), head='<meta name="author" content="Chuck Ross">'),
     ["Chuck Ross"]),
    ("a profile URL in article:author is not a name",
     page(head='<meta property="article:author" content="https://www.facebook.com/someone">'), []),
]


@pytest.mark.parametrize(("tree", "expected"), [c[1:] for c in AUTHORS], ids=[c[0] for c in AUTHORS])
def test_authors(tree: Any, expected: list[str]) -> None:
    assert resolve(tree).authors == expected


@pytest.mark.parametrize(("raw", "expected"), [
    (["A cura di Redazione"], []),
    (["di Mario Rossi | Tom's Hardware"], ["Mario Rossi"]),
    (["Par Jean Dupont et Marie Curie"], ["Jean Dupont", "Marie Curie"]),
    (["Por María R. Sahuquillo"], ["María R. Sahuquillo"]),
    (["Mario Rossi", "mario rossi"], ["Mario Rossi"]),
])
def test_clean_authors(raw: list[str], expected: list[str]) -> None:
    assert clean_authors(raw, ["Tom's Hardware"]) == expected


@pytest.mark.parametrize(("raw", "iso", "has_time"), [
    ("2025-01-05", "2025-01-05T00:00:00", False),
    ("2025-01-05T14:44:14Z", "2025-01-05T14:44:14+00:00", True),
    ("2025-01-05T14:44:14.123456789+0200", "2025-01-05T14:44:14.123456+02:00", True),
    ("Sun, 05 Jan 2025 14:44:14 GMT", "2025-01-05T14:44:14+00:00", True),
    ("5 febbraio 2025 ore 14:32", "2025-02-05T14:32:00", True),
    ("5. Februar 2025, 14:32 Uhr", "2025-02-05T14:32:00", True),
    ("February 5, 2025 at 2:32 pm", "2025-02-05T14:32:00", True),
    ("12 dicembre 2024", "2024-12-12T00:00:00", False),
])
def test_parse_when(raw: str, iso: str, has_time: bool) -> None:
    when = parse_when(raw)
    assert when is not None and when.moment.isoformat() == iso and when.has_time is has_time


@pytest.mark.parametrize("raw", ["", "yesterday", "Redazione", "32 febbraio 2025", "2025-13-45", "2025-02-30T10:00"])
def test_parse_when_rejects(raw: str) -> None:
    assert parse_when(raw) is None
