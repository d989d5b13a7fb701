"""Duplicate detection across outlets and runs.

Two kinds of duplicate:

* **exact** — the normalised body text is identical (same SHA-256), e.g. the
  same article reached through a feed and a sitemap under two URLs;
* **near** — a syndicated or lightly rewritten copy: the estimated Jaccard
  similarity of the two texts' word shingles is at least the threshold.

Near duplicates are found with MinHash signatures (datasketch) and LSH banding:
the signature is cut into ``b`` bands of ``r`` rows and each band is hashed to a
short byte key stored in an indexed table of the state store. A new story's
candidates are the stored stories that share at least one band key; each
candidate is then verified by the similarity estimated from the two stored
signatures, so the index only has to be cheap, not exact.

Only originals enter the index. A copy points at the story it duplicates,
which is itself an original, so chains never form and a pair is linked one way
only: the first story *recorded* is the original.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from datasketch import MinHash

from crawler.config import DedupConfig
from crawler.state import ArticleCommit, StateStore, StoryFingerprint
from crawler.text import TYPOGRAPHY

logger = logging.getLogger(__name__)

# Fixed so signatures stay comparable across runs and processes.
_MINHASH_SEED = 1
_MINHASH_SCHEME = "affine32"
# Banding must make a pair at exactly the threshold a candidate with at least
# this probability: a missed candidate is a repeated alert, while a spurious one
# only costs a signature comparison.
_MIN_RECALL_AT_THRESHOLD = 0.9
# Where the parameters the stored band keys were built with are remembered.
_PARAMS_KEY = "newswatch:dedup-params"

# Typographic variants folded before punctuation is dropped, so e.g. "l’IA" and "l'IA" split into the
# same words: the one table of crawler.text, shared with matching and the cluster evidence.
_CHAR_MAP = TYPOGRAPHY
_WHITESPACE = re.compile(r"\s+")


class DedupResult(NamedTuple):
    """Outcome of :meth:`Deduplicator.check`; unpacks as ``kind, duplicate_of, similarity``."""

    kind: str | None  # "exact", "near" or None (an original)
    duplicate_of: str | None
    similarity: float  # 1.0 for exact, estimated Jaccard for near, best candidate's otherwise


# Everything the state stores about a story's text (signature: num_perm little-endian uint32 MinHash values).
Fingerprint = StoryFingerprint


def normalise_text(text: str) -> str:
    """Text reduced to comparable words.

    NFKC (folds full-width and compatibility forms), casefold, typographic
    quotes and dashes unified, every punctuation character replaced by a space,
    whitespace collapsed.
    """
    text = _NON_WORD.sub(_space_if_punctuation, unicodedata.normalize("NFKC", text).casefold())
    return _WHITESPACE.sub(" ", text).strip()


# Only characters outside \w and \s can be punctuation: the category lookup runs for those alone (a few
# in a hundred characters of prose), which is ten times faster than one per character.
def _space_if_punctuation(match: re.Match[str]) -> str:
    char = match.group()
    # _CHAR_MAP's symbols (` ´ − ʼ) map to punctuation, so they become spaces too.
    return " " if unicodedata.category(char)[0] == "P" or char in _SYMBOLS_AS_PUNCTUATION else char


_SYMBOLS_AS_PUNCTUATION = frozenset(c for c, to in ((chr(k), v) for k, v in _CHAR_MAP.items())
                                    if unicodedata.category(c)[0] != "P" and unicodedata.category(to)[0] == "P")
# ...and the one among them that \w matches (ʼ, a modifier letter used as an apostrophe).
_NON_WORD = re.compile(r"[^\w\s]|_|[" + re.escape("".join(c for c in _SYMBOLS_AS_PUNCTUATION if re.match(r"\w", c)))
                       + "]")


#: The fingerprint hash of a text with no words.
_EMPTY_HASH = hashlib.sha256(b"").hexdigest()


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the normalised text: equal for texts that differ only in form."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def shingles(normalised: str, size: int) -> set[bytes]:
    """Word ``size``-grams of an already normalised text (the whole text if shorter)."""
    words = normalised.split()
    if not words:
        return set()
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")}
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that two texts of this Jaccard similarity share at least one band key."""
    return 1.0 - (1.0 - similarity**rows) ** bands


@lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) for a threshold: the most rows per band (fewest spurious candidates)
    that still makes a pair at the threshold a candidate with probability >= 0.9.

    datasketch's own optimiser balances false positives and negatives, which puts
    the S-curve's midpoint on the threshold: a true pair just above it is then
    missed about a quarter of the time, and candidates are verified anyway.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"dedup threshold must be between 0 and 1, got {threshold}")
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if candidate_probability(threshold, bands, rows) >= _MIN_RECALL_AT_THRESHOLD:
            return bands, rows
    return num_perm, 1


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[bytes]:
    """One key per band: 2-byte band index + 8-byte BLAKE2b digest of the band's values."""
    values = np.ascontiguousarray(signature, dtype="<u4")
    return [
        index.to_bytes(2, "big")
        + hashlib.blake2b(values[index * rows : (index + 1) * rows].tobytes(), digest_size=8).digest()
        for index in range(bands)
    ]


def estimated_similarity(signature_a: bytes, signature_b: bytes) -> float:
    """Jaccard similarity estimated as the share of equal MinHash values."""
    a = np.frombuffer(signature_a, dtype="<u4")
    b = np.frombuffer(signature_b, dtype="<u4")
    if a.size == 0 or a.size != b.size:
        return 0.0
    return float(np.count_nonzero(a == b)) / a.size


class Fingerprinter:
    """What the near-duplicate index keeps of a text: its hash, MinHash signature and band keys.

    Plain values only, so the pool's worker processes compute fingerprints and the crawl's process
    only looks them up."""

    def __init__(self, params: DedupConfig) -> None:
        self.threshold, self.num_perm, self.shingle_size = float(params.threshold), params.num_perm, params.shingles
        self.bands, self.rows = lsh_params(self.threshold, self.num_perm)
        self._template: MinHash | None = None

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_template": None}  # rebuilt where it is used

    def __call__(self, text: str) -> Fingerprint:
        if self._template is None:
            # Built once: a MinHash's permutations are derived from num_perm and seed.
            self._template = MinHash(num_perm=self.num_perm, seed=_MINHASH_SEED, scheme=_MINHASH_SCHEME)
        normalised = normalise_text(text)
        minhash = self._template.copy()
        grams = shingles(normalised, self.shingle_size)
        if grams:
            minhash.update_batch(list(grams))
        values = np.asarray(minhash.hashvalues, dtype="<u4")
        return Fingerprint(
            text_hash=hashlib.sha256(normalised.encode("utf-8")).hexdigest(),
            signature=values.tobytes(),
            band_keys=band_keys(values, self.bands, self.rows),
        )


class Deduplicator:
    """Checks stories against everything recorded in the state and records originals.

    ``check`` then ``record`` per story, in one process at a time (the run
    lock): the first story recorded becomes the original of any later copy.
    """

    def __init__(self, state: StateStore, params: DedupConfig) -> None:
        if params.num_perm < 2:
            raise ValueError(f"dedup num_perm must be at least 2, got {params.num_perm}")
        if params.shingles < 1:
            raise ValueError(f"dedup shingle size must be at least 1, got {params.shingles}")
        self.state = state
        self.threshold = float(params.threshold)
        self.num_perm = params.num_perm
        self.shingle_size = params.shingles
        self.fingerprinter = Fingerprinter(params)
        self.bands, self.rows = self.fingerprinter.bands, self.fingerprinter.rows
        self._last: tuple[str, Fingerprint] | None = None
        self._check_params()

    def _check_params(self) -> None:
        params = {"num_perm": self.num_perm, "bands": self.bands, "rows": self.rows, "shingles": self.shingle_size}
        stored = self.state.get_health(_PARAMS_KEY)
        if stored is not None and stored != params:
            # Old band keys were cut differently: older stories are then only found as exact duplicates.
            logger.warning(
                "Dedup settings changed from %s to %s: stories recorded before now are only matched "
                "as exact duplicates until they expire from the state",
                stored,
                params,
            )
        if stored != params:
            self.state.set_health(_PARAMS_KEY, params)

    def fingerprint(self, text: str) -> Fingerprint:
        """Text hash, MinHash signature and band keys of a text (the last one is cached)."""
        if self._last is not None and self._last[0] == text:
            return self._last[1]
        result = self.fingerprinter(text)
        self._last = (text, result)
        return result

    def check(self, story_id: str, text: str, fingerprint: Fingerprint | None = None) -> DedupResult:
        """Is this story a copy of one recorded before?

        *fingerprint* is the text's, when a worker process already computed it. A story already
        recorded as an original is never a duplicate of anything (re-processing it returns kind
        None), and never of itself.
        """
        fp = fingerprint if fingerprint is not None else self.fingerprint(text)
        self._last = (text, fp)
        if fp.text_hash == _EMPTY_HASH:
            return DedupResult(None, None, 0.0)
        if self.state.get_signature(story_id) is not None:
            return DedupResult(None, None, 0.0)
        exact = self.state.find_exact(fp.text_hash)
        if exact is not None and exact != story_id:
            return DedupResult("exact", exact, 1.0)
        best_id: str | None = None
        best = 0.0
        # Candidates come oldest first; strict ">" keeps the oldest on a tie.
        for candidate in self.state.near_candidates(fp.band_keys):
            if candidate == story_id:
                continue
            stored = self.state.get_signature(candidate)
            if stored is None:
                continue
            similarity = estimated_similarity(fp.signature, stored)
            if similarity > best:
                best_id, best = candidate, similarity
        if best_id is not None and best >= self.threshold:
            return DedupResult("near", best_id, best)
        return DedupResult(None, None, best)

    def record(
        self,
        story_id: str,
        url: str,
        source: str,
        text: str,
        published: str | None = None,
        seen_at: str | None = None,
        duplicate_of: str | None = None,
    ) -> None:
        """Record a checked story outside a crawl (tools, tests): its URL always, its fingerprint only if
        it is an original. The crawl records stories through its commit stage instead."""
        self.state.commit(ArticleCommit(
            source=source,
            urls=[url],
            story_id=story_id,
            fingerprint=self.fingerprint_if_original(text, duplicate_of),
            published=published,
            seen_at=seen_at or datetime.now(UTC).isoformat(),
        ))

    def fingerprint_if_original(self, text: str, duplicate_of: str | None) -> Fingerprint | None:
        """The fingerprint to index for a checked story: None for a duplicate or an empty text."""
        if duplicate_of is not None:
            return None
        fp = self.fingerprint(text)
        return None if fp.text_hash == _EMPTY_HASH else fp
