"""Characters that differ only in typography: one table for every component that compares text.

Matching (``crawler.matching``), the duplicate check (``crawler.dedup``) and the cross-language evidence
(``crawler.clusters``) all read ``l’Ascend`` as ``l'Ascend``, ``DeepSeek‑R1`` as ``DeepSeek-R1`` and a
narrow no-break space as a space, through :data:`TYPOGRAPHY`. Each mapping is one character for one, so
offsets into a text survive it.

The one snippet maker is here too: :func:`snippet` cuts the passage a reader sees around a hit, for the
match evidence (``crawler.matching``) and for alerts (``crawler.alerts.formatters``), each with its own limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

APOSTROPHES = "\u2019\u2018\u201a\u201b\u02bc\u00b4\u2032\uff07`"
DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb"
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d"
SPACES = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
#: Invisible characters that only hint at hyphenation or joining ("Deep\u00adSeek" reads DeepSeek): removed
#: where offsets need not survive, mapped where they must.
DELETABLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"

TYPOGRAPHY: dict[int, str] = str.maketrans(
    {**{c: "'" for c in APOSTROPHES}, **{c: '"' for c in DOUBLE_QUOTES}, **{c: "-" for c in DASHES},
     **{c: " " for c in SPACES}}
)
#: Every character :data:`TYPOGRAPHY` changes.
VARIANTS = APOSTROPHES + DOUBLE_QUOTES + DASHES + SPACES

#: Any one of the invisible characters (matching, the snippets).
DELETABLE_RE = re.compile("[" + DELETABLE + "]")

#: A word: a run of letters, digits and underscores (Python's \w, Unicode-aware).
WORD_RE = re.compile(r"\w+")

# --- snippets ----------------------------------------------------------------------------------------------------

#: A sentence ends at . ! ? or …, after any closing quotes or brackets (``arriva.»``), before whitespace.
_SENTENCE_END = re.compile(r"[.!?…][\"”’»)]*(?=\s)")
_WS = re.compile(r"\s+")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Snippet:
    """A passage of a text for a reader: ``text`` is one line; ``hit`` is ``(start, end)`` of the matched
    term inside ``text`` (``text[start:end]``), or None when the snippet is the lead of the text."""

    text: str
    hit: tuple[int, int] | None


def _clean(s: str) -> str:
    """*s* as a reader sees it: invisible characters removed, every run of whitespace one space."""
    return _WS.sub(" ", DELETABLE_RE.sub("", s))


def _sentence_start(text: str, pos: int, reach: int) -> int | None:
    """Where the sentence holding ``text[pos]`` starts, looking back at most *reach* characters; None when
    it starts further back."""
    lo = max(0, pos - reach)
    start = None
    for m in _SENTENCE_END.finditer(text, lo, pos):
        start = m.end()
    if start is None and lo == 0:
        start = 0
    return start


def _sentence_end(text: str, pos: int, reach: int) -> int | None:
    """Where the first sentence end at or after ``text[pos]`` is (after its closing punctuation), looking at
    most *reach* characters ahead; None when it is further on."""
    hi = min(len(text), pos + reach)
    m = _SENTENCE_END.search(text, pos, min(len(text), hi + 1))
    if m is not None and m.start() < hi:
        return m.end()
    return len(text) if hi == len(text) else None


def _cut_head(pre: str, keep: int) -> str:
    """"…" and at most the last *keep* characters of *pre* (the text before the hit), from a word's start."""
    kept = pre[len(pre) - keep:] if keep > 0 else ""
    if len(kept) < len(pre) and pre[len(pre) - len(kept) - 1] != " ":
        space = kept.find(" ")
        kept = kept[space + 1:] if space >= 0 else ""  # drop the word the cut went through
    return ELLIPSIS + kept


def _cut_tail(post: str, keep: int) -> str:
    """At most the first *keep* characters of *post* (the text after the hit), up to a word's end, and "…"."""
    kept = post[:max(keep, 0)]
    if len(kept) < len(post) and post[len(kept)] != " ":
        space = kept.rfind(" ")
        kept = kept[:space] if space >= 0 else ""  # drop the word the cut went through
    return kept.rstrip() + ELLIPSIS


def snippet(text: str, start: int | None, end: int | None, limit: int, min_chars: int = 0) -> Snippet:
    """The sentence of *text* holding the hit ``text[start:end]``, whitespace collapsed and invisible
    characters (:data:`DELETABLE`) removed, as a :class:`Snippet` that gives the hit's place in it.

    * A hit that spans sentences gets all of them; the hit itself is never cut.
    * The snippet is at most *limit* characters unless the hit alone is longer: a longer sentence is cut
      between words around the hit, which stays about in the middle, and "…" marks each cut.
    * While it is shorter than *min_chars*, the snippet takes the next sentence too (cut like the first).
    * Without a usable hit (``start`` or ``end`` None, or not ``0 <= start < end <= len(text)``) the snippet
      is the lead of the text, made the same way from its first sentence, and ``hit`` is None.
    """
    text = text or ""
    a, b = (start, end) if start is not None and end is not None and 0 <= start < end <= len(text) else (0, 0)
    # The hit as a reader sees it: without blanks or invisible characters at its edges.
    while a < b and (text[a].isspace() or text[a] in DELETABLE):
        a += 1
    while a < b and (text[b - 1].isspace() or text[b - 1] in DELETABLE):
        b -= 1
    if a == b:  # no hit, or nothing visible in it: the lead
        a = b = 0
    reach = 2 * limit  # raw characters to look through either side: whitespace collapses
    # A sentence end may be the hit's own last character ("… in Italia S.p.A.").
    lo, hi = _sentence_start(text, a, reach), _sentence_end(text, max(b - 1, a), reach)
    head_cut, tail_cut = lo is None, hi is None
    lo = a - reach if lo is None else lo
    hi = b + reach if hi is None else hi
    pre, hit, post = _clean(text[lo:a]).lstrip(), _clean(text[a:b]), _clean(text[b:hi]).rstrip()
    if not hit:
        post = post.lstrip()
    if head_cut and not text[lo - 1].isspace():  # the reach ended inside a word: start at the next one
        pre = pre[pre.find(" ") + 1:] if " " in pre else ""
    # A short snippet takes the next sentence, and the next, while it is short (cut below if too long).
    while not tail_cut and hi < len(text) and len(pre) + len(hit) + len(post) < min_chars:
        nxt = _sentence_end(text, hi, reach)
        tail_cut = nxt is None
        nxt = hi + reach if nxt is None else nxt
        post, hi = (post + _clean(text[hi:nxt])).rstrip(), nxt
        if not hit:
            post = post.lstrip()
    if tail_cut and not text[hi].isspace():  # the reach ended inside a word: stop at the one before
        post = post[:post.rfind(" ")] if " " in post else ""
    # The limit: the hit whole, the room around it shared, what one side does not need going to the other.
    # A side's budget counts its "…".
    room = max(limit - len(hit), 0)
    need_pre, need_post = len(pre) + head_cut, len(post) + tail_cut
    if need_pre + need_post <= room:
        budget_pre, budget_post = need_pre, need_post
    elif need_pre <= room // 2:
        budget_pre, budget_post = need_pre, room - need_pre
    elif need_post <= room - room // 2:
        budget_pre, budget_post = room - need_post, need_post
    else:
        budget_pre, budget_post = room // 2, room - room // 2
    if head_cut or budget_pre < len(pre):
        pre = _cut_head(pre, budget_pre - 1)
    if tail_cut or budget_post < len(post):
        post = _cut_tail(post, budget_post - 1)
    return Snippet(pre + hit + post, (len(pre), len(pre) + len(hit)) if hit else None)
