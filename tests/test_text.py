"""crawler.text.snippet: the one snippet maker of match evidence and alerts."""

from __future__ import annotations

import re

import pytest

from crawler.alerts.formatters import SNIPPET_MAX_CHARS, SNIPPET_MIN_CHARS
from crawler.matching import SNIPPET_CHARS
from crawler.text import DELETABLE, Snippet, snippet

TEN = "uno due tre quattro cinque sei sette otto nove dieci"
#: One sentence of 386 characters with H800 near its start, in its middle and at its end.
LONG = f"Ascend {TEN} H800 {TEN} {TEN} {TEN} H800 {TEN} {TEN} {TEN} H800."
#: Short sentences around a long one.
STORY = f"Prima frase. Seconda frase con H800 dentro. {LONG} Ultima frase."


def span(text: str, term: str, nth: int = 0) -> tuple[int, int]:
    """Offsets of the *nth* occurrence of *term* in *text*."""
    starts = [m.start() for m in re.finditer(re.escape(term), text)]
    return starts[nth], starts[nth] + len(term)


def collapsed(s: str) -> str:
    """*s* as a snippet shows it: invisible characters removed, whitespace runs one space."""
    return " ".join(s.translate({ord(c): None for c in DELETABLE}).split())


@pytest.mark.parametrize(
    ("text", "hit", "limit", "min_chars", "expected"),
    [
        pytest.param(LONG, span(LONG, "Ascend"), 60, 0,
                     "Ascend uno due tre quattro cinque sei sette otto nove dieci…", id="hit-at-start"),
        pytest.param(LONG, span(LONG, "H800", 1), 60, 0,
                     "…sei sette otto nove dieci H800 uno due tre quattro cinque…", id="hit-in-the-middle"),
        pytest.param(LONG, span(LONG, "H800", 2), 60, 0,
                     "…uno due tre quattro cinque sei sette otto nove dieci H800.", id="hit-at-end"),
        pytest.param(STORY, span(STORY, "H800"), 200, 0, "Seconda frase con H800 dentro.", id="the-sentence"),
        pytest.param(STORY, span(STORY, "H800"), 200, 40, "Seconda frase con H800 dentro. Ascend uno due tre "
                     "quattro cinque sei sette otto nove dieci H800 uno due tre quattro cinque sei sette otto nove "
                     "dieci uno due tre quattro cinque sei sette otto nove…", id="short-takes-the-next"),
        pytest.param("Uno. Due H800 tre.  Quattro cinque.", (9, 13), 200, 30, "Due H800 tre. Quattro cinque.",
                     id="short-takes-the-next-whole"),
        pytest.param("Uno. Il chip H800. Due.", (13, 18), 200, 0, "Il chip H800.", id="hit-ends-the-sentence"),
        pytest.param("Uno. Due H800. Tre quattro. Cinque.", (9, 21), 200, 0, "Due H800. Tre quattro.",
                     id="hit-spans-sentences"),
        pytest.param("First sentence here.  The new\n\n  H800   ships today! Another follows.", (34, 38), 200, 0,
                     "The new H800 ships today!", id="whitespace-collapsed"),
        pytest.param("Huawei ha detto: «l’Ascend 910C arriva.» Poi altro.", (20, 31), 200, 0,
                     "Huawei ha detto: «l’Ascend 910C arriva.»", id="italian-quotes-close-the-sentence"),
        pytest.param("Prima. «Arriva l’Ascend.» Secondo l’analista, è “pronto”! Poi.", (16, 22), 200, 0,
                     "«Arriva l’Ascend.»", id="italian-typography-kept"),
        pytest.param("Le GPU H8\u00ad00 ar\u200brivano\u2060 oggi.", (7, 12), 200, 0, "Le GPU H800 arrivano oggi.",
                     id="soft-hyphen-and-zero-width-removed"),
        pytest.param("Deep\u00adSeek  \u200b presenta V3.", (0, 9), 200, 0, "DeepSeek presenta V3.",
                     id="invisible-inside-the-hit"),
        pytest.param(LONG, (0, len(LONG) - 1), 60, 0, LONG[:-1] + "…", id="hit-longer-than-the-limit"),
        pytest.param(STORY, span(STORY, "H800"), 10, 0, "…H800…", id="hit-alone-fills-the-limit"),
    ],
)
def test_snippet(text: str, hit: tuple[int, int], limit: int, min_chars: int, expected: str) -> None:
    out = snippet(text, *hit, limit, min_chars)
    assert out.text == expected
    assert out.hit is not None
    a, b = out.hit
    assert out.text[a:b] == collapsed(text[hit[0]:hit[1]])


@pytest.mark.parametrize(
    ("text", "start", "end", "limit", "min_chars", "expected"),
    [
        pytest.param(STORY, None, None, 200, 0, "Prima frase.", id="lead-is-the-first-sentence"),
        pytest.param(STORY, None, None, 200, 30, "Prima frase. Seconda frase con H800 dentro.", id="short-lead-grows"),
        pytest.param(f"  {LONG}", None, None, 60, 0, "Ascend uno due tre quattro cinque sei sette otto nove dieci…",
                     id="long-lead-cut-between-words"),
        pytest.param(STORY, 5, 5, 200, 0, "Prima frase.", id="empty-hit"),
        pytest.param(STORY, 10, 5, 200, 0, "Prima frase.", id="reversed-hit"),
        pytest.param(STORY, 5, len(STORY) + 1, 200, 0, "Prima frase.", id="hit-past-the-end"),
        pytest.param("Uno.   \u00ad Due.", 4, 8, 200, 0, "Uno.", id="invisible-hit"),
        pytest.param("", None, None, 200, 0, "", id="no-text"),
        pytest.param(" \n\t ", None, None, 200, 0, "", id="blank-text"),
    ],
)
def test_without_a_usable_hit_the_snippet_is_the_lead(
    text: str, start: int | None, end: int | None, limit: int, min_chars: int, expected: str
) -> None:
    assert snippet(text, start, end, limit, min_chars) == Snippet(expected, None)


# The two configurations in use: match evidence, and alerts.
CONFIGURATIONS = [pytest.param(SNIPPET_CHARS, 0, id="evidence"),
                  pytest.param(SNIPPET_MAX_CHARS, SNIPPET_MIN_CHARS, id="alert")]
TEXTS = {
    "story": STORY,
    "no-punctuation": " ".join(f"w{i}" for i in range(400)) + " H800 " + " ".join(f"w{i}" for i in range(400)),
    "messy": ("Titolo\n\n  Il  chip\u00ad H800\u200b di Nvidia.\tUn’altra frase «citata». " * 12).strip(),
}


@pytest.mark.parametrize(("limit", "min_chars"), CONFIGURATIONS)
@pytest.mark.parametrize("name", TEXTS)
def test_every_snippet_is_one_clean_bounded_line_with_the_hit(name: str, limit: int, min_chars: int) -> None:
    text = TEXTS[name]
    hits = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    for start, end in [*hits[:: max(len(hits) // 60, 1)], (None, None)]:
        out = snippet(text, start, end, limit, min_chars)
        assert 0 < len(out.text) <= limit
        assert out.text == " ".join(out.text.split())  # one line, no runs of whitespace, no edges
        assert not any(c in out.text for c in DELETABLE)
        body = out.text.strip("…")
        assert body in collapsed(text)  # the text itself, only cut
        if start is None or end is None:
            assert out.hit is None and collapsed(text).startswith(body)
        else:
            assert out.hit is not None
            a, b = out.hit
            assert out.text[a:b] == collapsed(text[start:end])
