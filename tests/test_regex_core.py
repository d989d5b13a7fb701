"""The regex-core helper reads CPython's private regex parser: pinned to the versions it was tested on."""

from __future__ import annotations

import sys

import pytest

from crawler.matching.errors import RuleError
from crawler.matching.regex_core import TESTED_ON, regex_core, supported


def test_this_python_is_one_the_parser_reading_was_tested_on() -> None:
    # A new Python may lay out re._parser's trees differently: read the cases below on it, then add it.
    assert sys.version_info[:2] in TESTED_ON and supported()


@pytest.mark.parametrize("pattern, core", [
    (r"Nvidia[\s-]*H800s?", "nvidia"),  # the longest literal word at the top level
    (r"H800s?", "h800"),
    (r"(?:Huawei\s+)?Ascend\s*9[0-9]{2}[BC]?", "ascend"),  # an optional group adds nothing
    (r"(?:DeepSeek)[- ]?(?:R1|V3)", "deepseek"),  # a required group counts
    (r"(?>Cambricon)", "cambricon"),  # an atomic group
    (r"(?:MindSpore){1,2}", "mindspore"),  # a repeat of at least one
    (r"(?:CloudMatrix)*\s+384", "384"),  # a repeat of none: not required
    (r"Ascend|Kunpeng", ""),  # an alternation: neither is required
])
def test_the_word_every_match_must_contain(pattern: str, core: str) -> None:
    assert regex_core(pattern, "topics[0].terms[0].regex") == core


def test_a_pattern_that_does_not_parse_names_its_key() -> None:
    with pytest.raises(RuleError, match=r"topics\[2\]\.terms\[0\]\.regex: not a valid regex"):
        regex_core("Ascend(", "topics[2].terms[0].regex")
