"""Context-aware topic matching for English and Italian tech news.

A topic is a small rule written in YAML (the ``topics:`` list of newswatch.yaml)::

    - name: h800
      terms:                              # aliases; any one occurrence is a candidate
        - {regex: 'Nvidia[\\s-]*H800s?'}    # unambiguous: counts alone
        - {regex: 'H800s?', needs_context: true}
      context:                            # what an ambiguous term needs nearby
        window: 30                        # words either side (omit: anywhere)
        terms: [Nvidia, GPU, Hopper]
      exclude: [PERC H800, Logitech H800] # cancel the occurrences they cover

Text is normalised before matching so that typography does not hide a mention:
NFC; every apostrophe variant becomes ``'`` (so the Italian elision *l’Ascend* has a
word boundary before *Ascend*); every hyphen/dash variant becomes ``-``; exotic spaces
become a space; soft hyphens and zero-width characters (invisible hyphenation and
joining hints) are removed. Offsets reported in :class:`Match` always index the
ORIGINAL string: normalisation keeps a character offset map whenever it changes lengths.

The prefilter (:meth:`CompiledTopics.may_match_text`, on the text of a page without its chrome)
looks for one "core" word of every term (its longest run of letters and digits, case-folded).
Every occurrence the matcher can accept contains its term's core, and the matcher itself only
runs a term's regex when the core is in the case-folded normalised text, so the two cannot
drift apart.

The package: :mod:`~crawler.matching.rules` (the rule schema, compiled), :mod:`~crawler.matching.engine`
(normalisation, search, evidence) and :mod:`~crawler.matching.regex_core` (the literal word a regex needs,
read with CPython's private parser, pinned to the Python versions it was tested on).
"""

from crawler.matching.engine import FIELDS, SNIPPET_CHARS, Candidate, CompiledTopics, Match
from crawler.matching.errors import RuleError
from crawler.matching.rules import compile_topics

__all__ = ["FIELDS", "SNIPPET_CHARS", "Candidate", "CompiledTopics", "Match", "RuleError", "compile_topics"]
