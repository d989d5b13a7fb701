"""Headline, published instant, authors and body on real article pages (../shared/benchmarks/news-pages).

Each page goes through the extraction stage's own code (:func:`crawler.extraction.extract_page`) with
no discovery evidence (the pages come without their feeds). Scored as the issue asks:

* headline exact after Unicode and whitespace normalisation;
* published instant right to the minute with the right UTC offset (the truth always has one);
* authors exact (as a list, normalised) where the truth has an author list;
* first and last body paragraph present in the extracted body (normalised).

The baseline is what trafilatura's own metadata gives (``bare_extraction(with_metadata=True)``: its title,
author split on ";", date) on the same pages, in the same run. Misses are printed page by page.
"""

from __future__ import annotations

import ast
import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import trafilatura

from benchmarks.extraction import as_crawled
from crawler.metadata import normalise_text, parse_when

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "benchmarks" / "news-pages"


@dataclass
class Result:
    headline: str | None
    published: str | None
    authors: list[str]
    body: str


def _list(value: object) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(v) for v in ast.literal_eval(str(value))]


def _norm(value: str | None) -> str:
    return normalise_text(value).casefold()


def _instant_ok(got: str | None, want: str) -> bool:
    when = parse_when(got)
    if when is None or not when.aware or not when.has_time:
        return False
    expected = datetime.fromisoformat(want)
    return (when.moment.replace(second=0, microsecond=0) == expected.replace(second=0, microsecond=0)
            and when.moment.utcoffset() == expected.utcoffset())


def _present(paragraph: str, body: str) -> bool:
    return _norm(paragraph) in _norm(body)


def newswatch(html: str, url: str) -> Result:
    page = as_crawled(html, url)
    if page is None:
        return Result(None, None, [], "")
    meta = page.metadata
    return Result(meta.headline, meta.published, meta.authors, page.text)


def trafilatura_metadata(html: str, url: str) -> Result:
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True,
                                      date_extraction_params={"outputformat": "%Y-%m-%dT%H:%M:%S%z",
                                                              "original_date": True, "extensive_search": True})
    if not isinstance(doc, trafilatura.settings.Document):
        return Result(None, None, [], "")
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return Result(doc.title, doc.date, authors, doc.text or "")


def _score(truth: dict[str, dict], extract: Callable[[str, str], Result], show: bool
           ) -> tuple[dict[str, tuple[int, int]], float]:
    counts = {"headline": [0, 0], "published": [0, 0], "authors": [0, 0], "first paragraph": [0, 0],
              "last paragraph": [0, 0]}
    misses: list[str] = []
    started = time.perf_counter()
    for name, entry in sorted(truth.items()):
        html = gzip.decompress((PAGES / "html" / name).read_bytes()).decode("utf-8")
        got = extract(html, entry["url"])
        page = name.split(".")[0]

        def check(key: str, ok: bool, detail: str, page: str = page) -> None:
            counts[key][1] += 1
            if ok:
                counts[key][0] += 1
            else:
                misses.append(f"    {page:<22} {key:<16} {detail}")

        check("headline", _norm(got.headline) == _norm(entry["title"]),
              f"got {got.headline!r}, want {normalise_text(entry['title'])!r}")
        if entry.get("published"):
            check("published", _instant_ok(got.published, entry["published"]),
                  f"got {got.published}, want {entry['published']}")
        want_authors = _list(entry.get("authors"))
        if want_authors is not None:
            check("authors", [_norm(a) for a in got.authors] == [_norm(a) for a in want_authors],
                  f"got {got.authors}, want {want_authors}")
        check("first paragraph", _present(entry["body_first"], got.body), repr(entry["body_first"][:70]))
        check("last paragraph", _present(entry["body_last"], got.body), repr(entry["body_last"][:70]))
    elapsed = time.perf_counter() - started
    if show and misses:
        print("  newswatch misses, by page:")
        print("\n".join(misses))
    return {k: (v[0], v[1]) for k, v in counts.items()}, elapsed


def run(show_misses: bool = True) -> None:
    if not (PAGES / "ground-truth.json").exists():
        print(f"metadata: skipped, benchmark data not found at {PAGES}")
        return
    truth = json.loads((PAGES / "ground-truth.json").read_text(encoding="utf-8"))
    base, base_secs = _score(truth, trafilatura_metadata, False)
    ours, ours_secs = _score(truth, newswatch, show_misses)
    n = len(truth)
    print(f"metadata on {n} real article pages (../shared/benchmarks/news-pages)")
    print(f"  {'field':<18}{'trafilatura metadata':>22}{'newswatch resolver':>22}{'goal':>8}")
    goals = {"headline": 0.95, "published": 0.95, "authors": 0.90, "first paragraph": 0.95, "last paragraph": 0.95}
    for key in ours:
        b, o = base[key], ours[key]
        print(f"  {key:<18}{f'{b[0]}/{b[1]} {b[0] / b[1]:.1%}':>22}{f'{o[0]}/{o[1]} {o[0] / o[1]:.1%}':>22}"
              f"{goals[key]:>8.0%}")
    print(f"  ms/page: trafilatura {base_secs / n * 1000:.1f}, newswatch {ours_secs / n * 1000:.1f} "
          f"(ratio {ours_secs / base_secs:.2f})")
