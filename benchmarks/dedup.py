"""How the duplicate check's cost grows with the number of stories in the state.

Builds states of 10,000 and 100,000 stories, then times ``Deduplicator.check``
on new stories (half of them near copies of stored stories) against each, next
to a naive baseline that scans every stored signature. Run with
``python -m benchmarks.dedup`` (``make bench`` runs it through ``benchmarks``).

Most of the stored stories get random MinHash signatures instead of signatures
of generated texts: for unrelated texts the MinHash values are independent, so
the band-key table looks the same, and building 100,000 real signatures would
take minutes on a small machine. 1,000 stored stories are real texts, so the
near copies among the queries have real originals to be found.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from crawler.config import DedupConfig
from crawler.dedup import Deduplicator, band_keys
from crawler.state import SqliteState

logger = logging.getLogger(__name__)

#: The shipped defaults (the `dedup:` section of the schema).
PARAMS = DedupConfig()

SIZES = (10_000, 100_000)
REAL_STORIES = 1_000
QUERIES = 200  # half near copies, half new stories
NAIVE_QUERIES = 20
SEED = 20250401


def _vocabulary(rng: np.random.Generator, size: int = 6000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "su", "ra", "to", "vi", "den", "gar", "pol", "ster", "ic", "an", "or", "et"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables, size=int(rng.integers(2, 5)))))
    return sorted(words)


def _texts(rng: np.random.Generator, vocab: list[str], count: int, words: int = 350) -> list[str]:
    # Zipf-like word frequencies, as in real prose: shared common words make the
    # shingles of unrelated texts overlap a little, as real articles do.
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    vocab_array = np.array(vocab)
    texts = []
    for _ in range(count):
        picked = vocab_array[rng.choice(len(vocab), size=words, p=weights)]
        sentences = [" ".join(picked[i : i + 15]).capitalize() + "." for i in range(0, words, 15)]
        texts.append(" ".join(sentences))
    return texts


def _near_copy(rng: np.random.Generator, text: str, vocab: list[str]) -> str:
    """A syndicated copy: first sixth rewritten, an update sentence added."""
    words = text.split()
    cut = len(words) // 6
    rewritten = [vocab[int(i)] for i in rng.integers(0, len(vocab), size=cut)]
    update = ["Update:"] + [vocab[int(i)] for i in rng.integers(0, len(vocab), size=25)]
    return " ".join(rewritten + words[cut:] + update)


def _build_state(path: Path, size: int, real: list[tuple[str, bytes, list[bytes], str]], dedup: Deduplicator) -> float:
    """A state of ``size`` stories: the real ones first, the rest random signatures. Returns seconds."""
    started = time.perf_counter()
    rng = np.random.default_rng(SEED + size)
    store = SqliteState(path)
    rows = [
        (f"real{i:06d}", f"https://real.example/{i}", "real", text_hash, keys, signature, None, time.time())
        for i, (text_hash, signature, keys, _) in enumerate(real)
    ]
    store.add_stories_bulk(rows)
    batch = 20_000
    for start in range(0, size - len(real), batch):
        count = min(batch, size - len(real) - start)
        signatures = rng.integers(0, 2**32 - 1, size=(count, dedup.num_perm), dtype=np.uint32)
        rows = []
        for offset, signature in enumerate(signatures):
            n = start + offset
            rows.append(
                (
                    f"syn{n:07d}",
                    f"https://syn.example/{n}",
                    "syn",
                    f"{n:064x}",
                    band_keys(signature, dedup.bands, dedup.rows),
                    signature.astype("<u4").tobytes(),
                    None,
                    time.time(),
                )
            )
        store.add_stories_bulk(rows)
    store.close()
    return time.perf_counter() - started


def _naive_check(conn: sqlite3.Connection, signature: bytes, threshold: float) -> str | None:
    """What a state without an index must do: compare with every stored signature."""
    query = np.frombuffer(signature, dtype="<u4")
    ids, blobs = [], []
    for story_id, blob in conn.execute("SELECT story_id, signature FROM stories"):
        ids.append(story_id)
        blobs.append(blob)
    matrix = np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), -1)
    similarities = (matrix == query).mean(axis=1)
    index = int(similarities.argmax())
    best_id, best = ids[index], float(similarities[index])
    return best_id if best >= threshold else None


def run() -> None:
    """Print the dedup benchmark table."""
    rng = np.random.default_rng(SEED)
    vocab = _vocabulary(rng)
    texts = _texts(rng, vocab, REAL_STORIES + QUERIES // 2)
    stored_texts, new_texts = texts[:REAL_STORIES], texts[REAL_STORIES:]
    copies = [_near_copy(rng, stored_texts[int(i)], vocab) for i in rng.choice(REAL_STORIES, QUERIES // 2, replace=False)]
    queries = copies + new_texts

    with tempfile.TemporaryDirectory(prefix="newswatch-bench-") as tmp:
        scratch = SqliteState(Path(tmp) / "scratch.sqlite")
        dedup = Deduplicator(scratch, PARAMS)
        started = time.perf_counter()
        real = []
        for text in stored_texts:
            fp = dedup.fingerprint(text)
            real.append((fp.text_hash, fp.signature, fp.band_keys, text))
        fingerprint_ms = (time.perf_counter() - started) * 1000 / len(stored_texts)
        query_fps = [dedup.fingerprint(text) for text in queries]
        scratch.close()

        print(
            f"Dedup benchmark: threshold {PARAMS.threshold}, {PARAMS.num_perm} permutations "
            f"({dedup.bands} bands x {dedup.rows} rows), {len(queries)} checks per state "
            f"({len(copies)} near copies), naive scan on {NAIVE_QUERIES}"
        )
        print(f"MinHash fingerprint of a ~350-word story: {fingerprint_ms:.2f} ms (independent of state size)")
        print()
        header = (
            f"{'stories':>8} {'build s':>8} {'open ms':>8} {'check ms':>9} {'naive ms':>9} {'found':>7} "
            f"{'file B/story':>13}"
        )
        print(header)
        print("-" * len(header))
        results = {}
        for size in SIZES:
            path = Path(tmp) / f"state-{size}.sqlite"
            build = _build_state(path, size, real, dedup)
            started = time.perf_counter()
            store = SqliteState(path)  # includes the integrity check every run pays
            open_ms = (time.perf_counter() - started) * 1000
            checker = Deduplicator(store, PARAMS)
            found = 0
            started = time.perf_counter()
            for n, (text, fp) in enumerate(zip(queries, query_fps, strict=True)):
                checker._last = (text, fp)  # time the state lookups, not the MinHash (measured above)
                result = checker.check(f"query{n}", text)
                found += result.kind == "near" and n < len(copies)
            check_ms = (time.perf_counter() - started) * 1000 / len(queries)
            conn = sqlite3.connect(path)
            started = time.perf_counter()
            for fp in query_fps[:NAIVE_QUERIES]:
                _naive_check(conn, fp.signature, PARAMS.threshold)
            naive_ms = (time.perf_counter() - started) * 1000 / NAIVE_QUERIES
            conn.close()
            store.close()
            per_story = os.path.getsize(path) / size
            results[size] = (check_ms, naive_ms)
            print(
                f"{size:>8,} {build:>8.1f} {open_ms:>8.0f} {check_ms:>9.3f} {naive_ms:>9.2f} "
                f"{found:>3}/{len(copies):<3} {per_story:>13,.0f}",
                flush=True,
            )
        small, large = SIZES
        print()
        print(
            f"100k/10k cost ratio: indexed check {results[large][0] / results[small][0]:.2f}x, "
            f"naive scan {results[large][1] / results[small][1]:.2f}x (state grew {large // small}x)"
        )


if __name__ == "__main__":
    run()
