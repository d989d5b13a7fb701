"""What linking stories across languages costs: per story, and as the archive grows.

* **Evidence** (:func:`crawler.clusters.story_evidence`) on the 72 texts of the labelled tuning pairs,
  against the MinHash fingerprint every story already gets (the baseline), in this process.
* **Lookup** (:meth:`crawler.clusters.ClusterLinker.decide`) against SQLite states of 3,000 and 30,000
  stories, 100 a day (so 10 times the days, the same stories per 7-day window), against a naive
  baseline that scores every stored story. Stored evidence is drawn from a Zipf-like vocabulary of
  keys, so common keys ("n:nvidia") sit in many stories, as they do in a real archive.

Run with ``python -m benchmarks.clusters`` (``make bench`` runs it through ``benchmarks``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from crawler.cluster_eval import default_files, evidence_of, load_pairs
from crawler.clusters import ClusterLinker, Evidence, score_pair
from crawler.config import ClusterConfig, DedupConfig
from crawler.dedup import Fingerprinter
from crawler.state import ArticleCommit, ClusterEntry, SqliteState, StoryFingerprint

SIZES = (3_000, 30_000)
PER_DAY = 100
QUERIES = 200
SEED = 20261202
KINDS = ("n", "n", "n", "c", "c", "f", "m", "d", "b", "q")


def _vocabulary(rng: np.random.Generator, size: int = 20_000) -> list[str]:
    return [f"{KINDS[int(rng.integers(0, len(KINDS)))]}:k{i}" for i in range(size)]


def _evidence(rng: np.random.Generator, vocab: list[str], weights: np.ndarray, count: int = 45) -> Evidence:
    picked = {vocab[int(i)] for i in rng.choice(len(vocab), size=count, p=weights)}
    return Evidence(tuple(sorted(picked)))


def _state(path: Path, size: int, rng: np.random.Generator, vocab: list[str], weights: np.ndarray,
           now: float) -> SqliteState:
    store = SqliteState(path)
    days = size / PER_DAY
    batch: list[ArticleCommit] = []
    for n in range(size):
        at = now - days * 86400 * (n / size)
        ev = _evidence(rng, vocab, weights)
        story_id = f"s{n:07d}"
        batch.append(ArticleCommit(source="syn", urls=[f"https://syn.example/{n}"], story_id=story_id,
                                   record={"url": f"https://syn.example/{n}"},
                                   fingerprint=StoryFingerprint(f"{n:064x}", b"\x00" * 8, []), seen_at=at,
                                   cluster=ClusterEntry(story_id, "en", "t", at, ev.keys, tuple(ev.lookup_keys()))))
        if len(batch) == 2000:
            store.commit_many(batch)
            batch = []
    store.commit_many(batch)
    return store


def _per_story_ms(func: Callable[[Any], object], items: Sequence[Any]) -> float:
    started = time.perf_counter()
    for item in items:
        func(item)
    return (time.perf_counter() - started) * 1000 / len(items)


def _decide(linker: ClusterLinker, now: float, evidence: Evidence) -> object:
    return linker.decide("q", evidence, "it", now)


def _best_of_all(stored: Sequence[Evidence], evidence: Evidence) -> float:
    return max(score_pair(evidence, other).score for other in stored)


def run() -> None:
    """Print the cluster benchmark table."""
    sides = [side for path in default_files()[0] for pair in load_pairs(path) for side in (pair.a, pair.b)]
    fingerprint = Fingerprinter(DedupConfig())
    for _ in range(2):  # warm: compiled patterns, the MinHash template
        base_ms = _per_story_ms(lambda side: fingerprint(side.text), sides)
        evidence_ms = _per_story_ms(evidence_of, sides)
    keys = statistics.mean(len(evidence_of(side).keys) for side in sides)
    print("Clusters: evidence per story (the 72 texts of the tuning pairs)")
    print(f"  MinHash fingerprint (baseline)   {base_ms:7.2f} ms")
    print(f"  evidence keys                    {evidence_ms:7.2f} ms   {evidence_ms / base_ms:5.2f}x   "
          f"({keys:.0f} keys a story)")

    rng = np.random.default_rng(SEED)
    vocab = _vocabulary(rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 0.9
    weights /= weights.sum()
    now = time.time()
    print(f"Clusters: candidate lookup and scoring, {PER_DAY} stories a day, 7-day window, {QUERIES} new stories")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            store = _state(Path(tmp) / f"state-{size}.sqlite", size, rng, vocab, weights, now)
            linker = ClusterLinker(store, ClusterConfig())
            queries = [_evidence(rng, vocab, weights) for _ in range(QUERIES)]
            linker.decide("q", queries[0], "it", now)
            index_ms = _per_story_ms(partial(_decide, linker, now), queries)
            everything = store.stories_info([f"s{n:07d}" for n in range(size)])
            stored = [Evidence(info.evidence) for info in everything]
            few = queries[:10]
            naive_ms = _per_story_ms(partial(_best_of_all, stored), few)
            rows.append((size, index_ms, naive_ms))
            store.close()
    print(f"  {'stories':>8} {'days':>5}  {'indexed':>10}  {'naive (score all)':>18}")
    for size, index_ms, naive_ms in rows:
        print(f"  {size:>8,} {size // PER_DAY:>5}  {index_ms:7.2f} ms  {naive_ms:12.1f} ms")
    small, large = rows[0], rows[-1]
    print(f"  {large[0] // small[0]}x the archive: indexed {large[1] / small[1]:.2f}x, naive {large[2] / small[2]:.2f}x; "
          f"indexed vs naive at {large[0]:,}: {large[2] / large[1]:.0f}x faster")


if __name__ == "__main__":
    run()
