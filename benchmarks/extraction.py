"""Extraction quality and cost on the shared article-extraction benchmark (../shared/benchmarks/aeb).

Scores newswatch's body strategy (crawler/extraction.py), and each of its steps, against trafilatura
with its defaults, measured in the same run. The scorer follows the benchmark's README: Unicode ``\\w+``
tokens, multisets of 4-token shingles, precision averaged over pages with an extraction, recall over
pages with a truth, F1 of the two means."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trafilatura

from crawler import extraction
from crawler.extraction import Page, extract_page

ROOT = Path(__file__).resolve().parent.parent
AEB = ROOT.parent / "shared" / "benchmarks" / "aeb"
_TOKEN = re.compile(r"\w+")


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1))


def score(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    """(precision, recall, F1) over (extracted, truth) pairs, as the benchmark defines them."""
    precisions, recalls = [], []
    for extracted, truth in pairs:
        got, want = shingles(extracted), shingles(truth)
        tp = sum((got & want).values())
        fp, fn = sum(got.values()) - tp, sum(want.values()) - tp
        if got:
            precisions.append(1.0 if fp == fn == 0 else tp / (tp + fp))
        if want:
            recalls.append(1.0 if fp == fn == 0 else tp / (tp + fn))
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _pages() -> list[tuple[str, str, str]]:
    truth = json.loads((AEB / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, entry in sorted(truth.items()):
        html = gzip.decompress((AEB / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8", "replace")
        pages.append((entry["url"], html, entry["articleBody"]))
    return pages


def as_crawled(html: str, url: str | None) -> Page | None:
    """The page as the crawl extracts it: one parse, its code and chrome removed (crawler/analysis.py)."""
    tree = extraction.parse_page(html)
    if tree is None:
        return None
    extraction.remove_chrome(tree)
    return extract_page(tree, url, min_chars=0)


def _run(pages: list[tuple[str, str, str]], extract: Callable[[str, str], str]) -> tuple[list[tuple[str, str]], float]:
    started = time.perf_counter()
    pairs = [(extract(html, url) or "", truth) for url, html, truth in pages]
    return pairs, time.perf_counter() - started


def run() -> None:
    if not (AEB / "ground-truth.json").exists():
        print(f"extraction: skipped, benchmark data not found at {AEB}")
        return
    pages = _pages()

    def newswatch(html: str, url: str) -> str:
        page = as_crawled(html, url)
        return page.text if page else ""

    def defaults(html: str, url: str) -> str:
        return trafilatura.extract(html, url=url) or ""

    # What each step of the body strategy bought, measured in this run (crawler/extraction.py).
    def precise_only(html: str, url: str) -> str:
        tree = trafilatura.utils.load_html(html)
        return extraction.trafilatura_text(tree, url, precise=True) if tree is not None else ""

    def steps(default_pass: bool, fallback: bool) -> Callable[[str, str], str]:
        def extract(html: str, url: str) -> str:
            tree = extraction.parse_page(html)
            if tree is None:
                return ""
            extraction.remove_hidden(tree)
            return extraction.body_text(tree, url, default_pass=default_pass, fallback=fallback)
        return extract

    base_pairs, base_secs = _run(pages, defaults)
    rows = [("baseline: trafilatura.extract defaults", base_pairs, base_secs)]
    for label, fn in (("trafilatura favor_precision, no comments", precise_only),
                      ("+ screen-reader-only text removed", steps(default_pass=False, fallback=False)),
                      ("+ default pass where precise keeps ~nothing", steps(default_pass=True, fallback=False)),
                      ("+ readability-lxml fallback", steps(default_pass=True, fallback=True)),
                      ("+ code and site chrome removed first = newswatch", newswatch)):
        pairs, secs = _run(pages, fn)
        rows.append((label, pairs, secs))
    n = len(pages)
    print(f"extraction quality on {n} pages (../shared/benchmarks/aeb); goal F1 >= 0.970")
    print(f"  {'configuration':<46}{'precision':>10}{'recall':>8}{'F1':>8}{'ms/page':>10}")
    scores = []
    for label, pairs, secs in rows:
        p, r, f = score(pairs)
        scores.append(f)
        print(f"  {label:<46}{p:>10.4f}{r:>8.4f}{f:>8.4f}{secs / n * 1000:>10.1f}")
    ours_secs = rows[-1][2]
    print(f"  F1 ratio newswatch/baseline: {scores[-1] / scores[0]:.3f}; time ratio {ours_secs / base_secs:.2f}")
