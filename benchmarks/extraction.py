"""Extraction quality and cost on the shared article-extraction benchmark (../shared/benchmarks/aeb).

Scores trafilatura as newswatch calls it (``favor_precision=True``, no comments) against the
same trafilatura with its defaults, measured in the same run, and times the raw-HTML prefilter
against extraction on the same pages. The scorer follows the benchmark's README: Unicode ``\\w+``
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

from crawler.config import load_config
from crawler.extraction import extract_page

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
        page = extract_page(html, url, min_chars=0)
        return page.text if page else ""

    def defaults(html: str, url: str) -> str:
        return trafilatura.extract(html, url=url) or ""

    base_pairs, base_secs = _run(pages, defaults)
    ours_pairs, ours_secs = _run(pages, newswatch)
    topics = load_config(ROOT / "newswatch.yaml").topics
    started = time.perf_counter()
    for _, html, _ in pages:
        topics.prefilter(html)
    prefilter_secs = time.perf_counter() - started

    bp, br, bf = score(base_pairs)
    op, orec, of = score(ours_pairs)
    n = len(pages)
    print(f"extraction quality on {n} pages (../shared/benchmarks/aeb)")
    print(f"  {'configuration':<44}{'precision':>10}{'recall':>8}{'F1':>8}{'ms/page':>10}")
    print(f"  {'baseline: trafilatura.extract defaults':<44}{bp:>10.3f}{br:>8.3f}{bf:>8.3f}{base_secs / n * 1000:>10.1f}")
    print(f"  {'newswatch: favor_precision, no comments':<44}{op:>10.3f}{orec:>8.3f}{of:>8.3f}{ours_secs / n * 1000:>10.1f}")
    print(f"  F1 ratio newswatch/baseline: {of / bf:.3f}")
    print(f"  prefilter: {prefilter_secs / n * 1000:.2f} ms/page = {prefilter_secs / ours_secs:.4f}x the cost "
          f"of extraction (a page the prefilter rejects skips trafilatura)")
