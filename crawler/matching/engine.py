"""Matching compiled topics against a story's title and body: normalisation that keeps offsets, the
search, the evidence (snippets, candidates and why each was kept or not). See crawler.matching."""

from __future__ import annotations

import bisect
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from crawler.text import DELETABLE, DELETABLE_RE, TYPOGRAPHY, VARIANTS, WORD_RE, snippet

if TYPE_CHECKING:
    from crawler.matching.rules import Pattern, Topic

logger = logging.getLogger(__name__)

FIELDS = ("title", "body")
#: The longest snippet of match evidence (crawler.text.snippet): about a sentence.
SNIPPET_CHARS = 200

# --- normalisation -----------------------------------------------------------------

# The one typography table (crawler.text), shared with the duplicate check and the cluster evidence.
_TRANSLATE = TYPOGRAPHY
_VARIANT_RE = re.compile("[" + re.escape(VARIANTS) + "]")


def _normalise(s: str) -> tuple[str, list[int] | None, list[int] | None]:
    """Return (normalised, starts, ends): starts[i]/ends[i] bound the original characters
    that produced normalised character i; both are None when offsets are unchanged."""
    starts: list[int] | None = None
    ends: list[int] | None = None
    if not s.isascii() and (DELETABLE_RE.search(s) or not unicodedata.is_normalized("NFC", s)):
        s, starts, ends = _normalise_slow(s)
    if _VARIANT_RE.search(s):
        s = s.translate(_TRANSLATE)  # one character for one: offsets survive
    return s, starts, ends


def _normalise_slow(s: str) -> tuple[str, list[int], list[int]]:
    """NFC per base character + its combining marks, dropping invisible characters,
    while recording where every output character came from."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(s)
    combining = unicodedata.combining
    while i < n:
        if s[i] in DELETABLE:
            i += 1
            continue
        j = i + 1
        while j < n and (combining(s[j]) or s[j] in DELETABLE):
            j += 1
        cluster = unicodedata.normalize("NFC", DELETABLE_RE.sub("", s[i:j]))
        out.append(cluster)
        starts.extend([i] * len(cluster))
        ends.extend([j] * len(cluster))
        i = j
    return "".join(out), starts, ends


def normalise_rule_text(s: str) -> str:
    return unicodedata.normalize("NFC", DELETABLE_RE.sub("", s)).translate(_TRANSLATE)


@dataclass(frozen=True)
class Match:
    """An accepted occurrence. ``start``/``end`` index the original title or text."""

    topic: str
    term: str
    field: str
    start: int
    end: int
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    """Any occurrence of a topic term, with the verdict and why."""

    topic: str
    term: str
    field: str
    start: int
    end: int
    text: str
    accepted: bool
    reason: str
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- matching ----------------------------------------------------------------------


class _Field:
    """One field (title or body) of a story, normalised once and shared by all topics."""

    def __init__(self, name: str, original: str, word_offset: int = 0) -> None:
        self.name = name
        self.original = original
        self.norm, self._starts, self._ends = _normalise(original)
        self.folded = self.norm.casefold()
        self._words: list[int] | None = None
        self.word_offset = word_offset  # title words come before body words

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Map a normalised span to the original string."""
        if self._starts is None or self._ends is None:
            return a, b
        return self._starts[a], self._ends[b - 1]

    @property
    def words(self) -> list[int]:
        if self._words is None:
            self._words = [m.start() for m in WORD_RE.finditer(self.norm)]
        return self._words

    def word_count(self) -> int:
        return len(self.words)

    def word_index(self, pos: int) -> int:
        """Global index of the word at or just before normalised offset ``pos``."""
        return self.word_offset + max(bisect.bisect_right(self.words, pos) - 1, 0)


@dataclass(frozen=True)
class _Occurrence:
    """One occurrence of a topic's term in a field, in normalised offsets, with the verdict."""

    field_index: int  # position of the field in FIELDS (title first)
    start: int
    end: int
    field: _Field
    order: int  # the term's position in the topic: the first listed wins a tie
    term: Pattern
    accepted: bool
    reason: str

    def overlaps(self, field_index: int, start: int, end: int) -> bool:
        return self.field_index == field_index and self.start < end and start < self.end


class CompiledTopics:
    """Compiled topic rules; build with :func:`compile_topics`."""

    def __init__(self, topics: list[Topic]) -> None:
        self._topics = topics
        cores = sorted({t.core for topic in topics for t in topic.terms})
        self._ascii_cores = tuple(c for c in cores if c.isascii())
        self._other_cores = tuple(c for c in cores if not c.isascii())

    @property
    def names(self) -> list[str]:
        return [t.name for t in self._topics]

    def __len__(self) -> int:
        return len(self._topics)

    # -- prefilter
    def may_match_text(self, text: str) -> bool:
        """The prefilter's test on text (entities decoded, as a parser gives it): False only when no
        term's core word is in the text as the matcher normalises and case-folds it, so the matcher
        cannot accept anything in it."""
        if not self._topics or not text:
            return False
        # _normalise's text without its offset map (the same characters), and without the apostrophe/dash/
        # space mapping: a core is made of word characters, which that mapping never produces or removes.
        if text.isascii():
            folded = text.lower()
        else:
            if any(c in text for c in DELETABLE):  # one fast scan per character: rarely there
                text = DELETABLE_RE.sub("", text)
            if not unicodedata.is_normalized("NFC", text):
                text = unicodedata.normalize("NFC", text)
            folded = text.casefold()
        return any(c in folded for c in self._ascii_cores) or any(c in folded for c in self._other_cores)

    def any_term_in(self, texts: Iterable[str]) -> bool:
        """True when some term's pattern occurs in one of *texts*, its context and exclusions aside. The
        matcher only accepts such occurrences, so where this is False it accepts nothing; it costs a
        regex search per term whose core word is there, far less than extracting the page."""
        for text in texts:
            norm = normalise_rule_text(text)  # _normalise()'s text, without its offset map
            folded = norm.casefold()
            for topic in self._topics:
                for term in topic.terms:
                    if term.core in folded and term.regex.search(norm):
                        return True
        return False

    # -- matching
    def explain(self, title: str | None, text: str | None, near_misses: bool = True) -> list[Candidate]:
        """Every candidate occurrence of every topic, with accepted True/False and why.

        With *near_misses*, a term's core word found where no term matched (inside
        "ascendente", or "ascend" against a case-sensitive "Ascend") is listed too, rejected,
        so a user can see why a page that mentions the word did not match."""
        title_f = _Field("title", title or "")
        body_f = _Field("body", text or "")
        fields = {"title": title_f, "body": body_f}
        body_f.word_offset = title_f.word_count() if any(t.window for t in self._topics) else 0

        def evidence(f: _Field, a: int, b: int) -> str:
            return snippet(f.original, a, b, SNIPPET_CHARS).text

        out: list[Candidate] = []
        for topic in self._topics:
            out.extend(self._explain_topic(topic, fields, evidence, near_misses))
        return out

    def match(self, title: str | None, text: str | None) -> list[Match]:
        """Accepted matches only, title first, in text order."""
        return [
            Match(c.topic, c.term, c.field, c.start, c.end, c.snippet)
            for c in self.explain(title, text, near_misses=False)
            if c.accepted
        ]

    def _explain_topic(
        self, topic: Topic, fields: dict[str, _Field], make_snippet: Callable[[_Field, int, int], str],
        near_misses: bool = False,
    ) -> list[Candidate]:
        raw: list[_Occurrence] = []
        ctx_cache: dict[str, list[tuple[int, int, int, int]]] = {}
        for fname in topic.fields:
            f = fields[fname]
            if not f.norm:
                continue
            excl: list[tuple[int, int, str]] | None = None
            for order, term in enumerate(topic.terms):
                if term.core not in f.folded:
                    continue  # same test as the prefilter: the two cannot disagree
                for m in term.regex.finditer(f.norm):
                    a, b = m.span()
                    if excl is None:
                        excl = [
                            (e.start(), e.end(), x.label)
                            for x in topic.excludes
                            if x.core in f.folded
                            for e in x.regex.finditer(f.norm)
                        ]
                    hit = next((lbl for s, e, lbl in excl if s < b and a < e), None)
                    if hit is not None:
                        accepted, reason = False, f"excluded: {hit}"
                    elif term.needs_context and not self._has_context(topic, fields, f, a, b, ctx_cache):
                        accepted, reason = False, self._no_context_reason(topic)
                    else:
                        accepted, reason = True, "matched"
                    raw.append(_Occurrence(FIELDS.index(fname), a, b, f, order, term, accepted, reason))
        # Overlapping candidates of one topic ("Ascend 910C" and "Ascend") are one mention:
        # keep an accepted one over a rejected one, then the longest, then the first listed term.
        raw.sort(key=lambda r: (not r.accepted, -(r.end - r.start), r.order, r.field_index, r.start))
        kept: list[_Occurrence] = []
        for r in raw:
            if not any(k.overlaps(r.field_index, r.start, r.end) for k in kept):
                kept.append(r)
        if near_misses:
            kept += self._near_misses(topic, fields, kept)
        kept.sort(key=lambda r: (r.field_index, r.start))
        out = []
        for r in kept:
            start, end = r.field.span(r.start, r.end)
            out.append(
                Candidate(
                    topic=topic.name,
                    term=r.term.label,
                    field=r.field.name,
                    start=start,
                    end=end,
                    text=r.field.original[start:end],
                    accepted=r.accepted,
                    reason=r.reason,
                    snippet=make_snippet(r.field, start, end),
                )
            )
        return out

    @staticmethod
    def _near_misses(topic: Topic, fields: dict[str, _Field], kept: list[_Occurrence]) -> list[_Occurrence]:
        """Occurrences of a term's core word that no term matched, as rejected candidates."""
        out: list[_Occurrence] = []
        for fname in topic.fields:
            f = fields[fname]
            fi = FIELDS.index(fname)
            if not f.norm or len(f.folded) != len(f.norm):  # casefold changed offsets (e.g. ß)
                continue
            for core in sorted({t.core for t in topic.terms}):
                term = next(t for t in topic.terms if t.core == core)
                pos = f.folded.find(core)
                while pos >= 0:
                    end = pos + len(core)
                    if not any(k.overlaps(fi, pos, end) for k in kept + out):
                        a, b = pos, end
                        while a > 0 and f.norm[a - 1].isalnum():
                            a -= 1
                        while b < len(f.norm) and f.norm[b].isalnum():
                            b += 1
                        word = f.norm[a:b]
                        if (a, b) != (pos, end):
                            why = f"not a whole word: {word!r}"
                        elif any(t.core == core and not t.regex.flags & re.IGNORECASE for t in topic.terms):
                            why = f"case differs from a case-sensitive term: {word!r}"
                        else:
                            why = f"no term matches here: {word!r}"
                        out.append(_Occurrence(fi, a, b, f, 0, term, False, why))
                    pos = f.folded.find(core, end)
        return out

    @staticmethod
    def _context_hits(topic: Topic, f: _Field, cache: dict[str, list[tuple[int, int, int, int]]]) -> list[tuple[int, int, int, int]]:
        """Context occurrences in a field as (first word, last word, start, end), sorted.
        Each context term is searched only if its core word is in the field at all."""
        if f.name not in cache:
            assert topic.context is not None
            spans = sorted(
                m.span() for p in topic.context if p.core in f.folded for m in p.regex.finditer(f.norm)
            )
            if topic.window is None:
                cache[f.name] = [(0, 0, a, b) for a, b in spans]
            else:
                cache[f.name] = [(f.word_index(a), f.word_index(max(b - 1, a)), a, b) for a, b in spans]
        return cache[f.name]

    def _has_context(
        self,
        topic: Topic,
        fields: dict[str, _Field],
        f: _Field,
        a: int,
        b: int,
        cache: dict[str, list[tuple[int, int, int, int]]],
    ) -> bool:
        """Context counts anywhere in the title (a title frames the whole story); in the
        body only within ``window`` words of the match (title words count as coming just
        before the body). Without a window, anywhere in title or body."""
        title = fields["title"]
        if title.norm:
            for _, _, s, e in self._context_hits(topic, title, cache):
                if not (f is title and s < b and a < e):  # a match is not its own context
                    return True
        body = fields["body"]
        if not body.norm:
            return False
        hits = self._context_hits(topic, body, cache)
        if topic.window is None:
            return any(not (f is body and s < b and a < e) for _, _, s, e in hits)
        first, last = f.word_index(a), f.word_index(max(b - 1, a))
        # Hits are sorted by first word; a context phrase spans few words, so starting a
        # little before first - window and stopping after last + window sees every candidate.
        i = bisect.bisect_left(hits, (first - topic.window - 16,))
        for ws, we, s, e in hits[i:]:
            if ws > last + topic.window:
                break
            if f is body and s < b and a < e:
                continue  # a match is not its own context
            if max(ws - last, first - we) <= topic.window:
                return True
        return False

    @staticmethod
    def _no_context_reason(topic: Topic) -> str:
        labels = list(topic.context_labels)
        shown = ", ".join(labels[:8]) + (", …" if len(labels) > 8 else "")
        where = f" within {topic.window} words" if topic.window else ""
        return f"no context: needs one of {shown}{where}"
