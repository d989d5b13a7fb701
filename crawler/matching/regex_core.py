"""The literal word every match of a regex must contain: what the prefilter looks for.

It reads the pattern with CPython's own regex parser (``re._parser``, private): the parse tree's
opcodes and their layout belong to the Python version, so :data:`TESTED_ON` names the versions the
tests pin this module to (``tests/test_regex_core.py``); another version fails those tests first.
"""

from __future__ import annotations

import re
import re._constants as _sre_c
import re._parser as _sre_p
import sys
from typing import Any

from crawler.matching.errors import RuleError
from crawler.text import WORD_RE

#: Python versions whose ``re._parser`` trees this module reads (tests/test_regex_core.py checks it).
TESTED_ON = ((3, 11),)


def supported() -> bool:
    return sys.version_info[:2] in TESTED_ON


def regex_core(pattern: str, key: str) -> str:
    """The longest word made of literal characters that every match of ``pattern`` must
    contain. Conservative: only looks at the top level and required groups/repeats."""
    try:
        parsed = _sre_p.parse(pattern)
    except re.error as exc:  # pragma: no cover - compile() reported it already
        raise RuleError(key, f"not a valid regex: {exc}") from exc
    best = ""

    def walk(items: Any) -> None:
        nonlocal best
        run: list[str] = []

        def flush() -> None:
            nonlocal best
            for word in WORD_RE.findall("".join(run)):
                if len(word) > len(best):
                    best = word
            run.clear()

        for op, av in items:
            if op is _sre_c.LITERAL:
                run.append(chr(av))
                continue
            flush()
            if op is _sre_c.SUBPATTERN:
                walk(av[-1])
            elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT, _sre_c.POSSESSIVE_REPEAT) and av[0] >= 1:
                walk(av[2])
            elif op is _sre_c.ATOMIC_GROUP:
                walk(av)
        flush()

    walk(parsed)
    return best.casefold()
