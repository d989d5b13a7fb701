"""Characters that differ only in typography: one table for every component that compares text.

Matching (``crawler.matching``), the duplicate check (``crawler.dedup``) and the cross-language evidence
(``crawler.clusters``) all read ``l’Ascend`` as ``l'Ascend``, ``DeepSeek‑R1`` as ``DeepSeek-R1`` and a
narrow no-break space as a space, through :data:`TYPOGRAPHY`. Each mapping is one character for one, so
offsets into a text survive it.
"""

from __future__ import annotations

import re

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

#: A word: a run of letters, digits and underscores (Python's \w, Unicode-aware).
WORD_RE = re.compile(r"\w+")
