"""Rule language, normalisation, offsets, context, exclusions and explain()."""

from __future__ import annotations

import re
import unicodedata

import pytest

from crawler.evaluate import default_topics_path, load_topics
from crawler.matching import SNIPPET_CHARS, Candidate, Match, RuleError, compile_topics
from crawler.text import snippet

DEFAULTS = load_topics(default_topics_path())


def topics(*raw):
    return compile_topics(list(raw))


# --- rule errors -------------------------------------------------------------------

OK = {"name": "t", "terms": ["x1"]}


@pytest.mark.parametrize(
    "raw, key, fragment",
    [
        ("nope", "topics", "must be a list"),
        (["nope"], "topics[0]", "must be a mapping"),
        ([{"terms": ["a"]}], "topics[0].name", "missing required key"),
        ([{"name": "has space", "terms": ["a"]}], "topics[0].name", "must start with a letter or digit"),
        ([OK, {"name": "t", "terms": ["y"]}], "topics[1].name", "duplicate topic name 't'"),
        ([{"name": "t", "terms": ["a"], "colour": "red"}], "topics[0].colour", "unknown key 'colour'"),
        ([{"name": "t"}], "topics[0] (t).terms", "missing required key"),
        ([{"name": "t", "terms": []}], "topics[0] (t).terms", "empty"),
        ([{"name": "t", "terms": "Ascend"}], "topics[0] (t).terms", "must be a list"),
        ([{"name": "t", "terms": ["ok", ""]}], "topics[0] (t).terms[1].term", "must not be empty"),
        ([{"name": "t", "terms": ["ok", "  "]}], "topics[0] (t).terms[1].term", "must not be empty"),
        ([{"name": "t", "terms": ["--"]}], "topics[0] (t).terms[0].term", "no letters or digits"),
        ([{"name": "t", "terms": [42]}], "topics[0] (t).terms[0]", "must be a string or a mapping"),
        ([{"name": "t", "terms": [{"term": 42}]}], "topics[0] (t).terms[0].term", "must be a string"),
        ([{"name": "t", "terms": [{"term": "a", "regex": "b"}]}], "topics[0] (t).terms[0]", "exactly one"),
        ([{"name": "t", "terms": [{"case_sensitive": True}]}], "topics[0] (t).terms[0]", "exactly one"),
        ([{"name": "t", "terms": [{"term": "a", "case": "yes"}]}], "topics[0] (t).terms[0].case", "unknown key 'case'"),
        ([{"name": "t", "terms": [{"term": "a", "case_sensitive": "yes"}]}], "topics[0] (t).terms[0].case_sensitive", "true or false"),
        ([{"name": "t", "terms": [{"regex": "H800("}]}], "topics[0] (t).terms[0].regex", "not valid"),
        ([{"name": "t", "terms": [{"regex": "(?:abc)?"}]}], "topics[0] (t).terms[0].regex", "empty string"),
        ([{"name": "t", "terms": [{"regex": r"(?:foo|bar)\d+"}]}], "topics[0] (t).terms[0].regex", "literal word"),
        ([{"name": "t", "terms": [{"term": "Ascend", "needs_context": True}]}], "topics[0] (t).terms[0].needs_context", "has none"),
        ([{"name": "t", "terms": ["a"], "context": "Huawei"}], "topics[0] (t).context", "list of terms or a mapping"),
        ([{"name": "t", "terms": ["a"], "context": {"window": 3}}], "topics[0] (t).context.terms", "missing required key"),
        ([{"name": "t", "terms": ["a"], "context": {"terms": ["b"], "near": 3}}], "topics[0] (t).context.near", "unknown key"),
        ([{"name": "t", "terms": ["a"], "context": {"terms": ["b"], "window": 0}}], "topics[0] (t).context.window", "positive"),
        ([{"name": "t", "terms": ["a"], "context": {"terms": ["b"], "window": -2}}], "topics[0] (t).context.window", "positive"),
        ([{"name": "t", "terms": ["a"], "context": {"terms": ["b"], "window": "5"}}], "topics[0] (t).context.window", "positive"),
        ([{"name": "t", "terms": ["a"], "context": {"terms": ["b"], "window": True}}], "topics[0] (t).context.window", "positive"),
        ([{"name": "t", "terms": ["a"], "context": {"terms": ["b", ""]}}], "topics[0] (t).context.terms[1].term", "empty"),
        ([{"name": "t", "terms": ["a"], "context": {"terms": [{"term": "b", "needs_context": True}]}}], "topics[0] (t).context.terms[0].needs_context", "unknown key"),
        ([{"name": "t", "terms": ["a"], "exclude": ["ok", {"regex": "[z"}]}], "topics[0] (t).exclude[1].regex", "not valid"),
        ([{"name": "t", "terms": ["a"], "fields": ["headline"]}], "topics[0] (t).fields[0]", "must be 'title' or 'body'"),
        ([{"name": "t", "terms": [{"term": "a", "label": ""}]}], "topics[0] (t).terms[0].label", "must not be empty"),
    ],
)
def test_bad_rules_raise_rule_error_with_path(raw, key, fragment):
    with pytest.raises(RuleError) as exc:
        compile_topics(raw)
    assert exc.value.key == key
    assert fragment in exc.value.problem
    assert str(exc.value).startswith(key + ": ")


def test_rule_error_names_topic_and_term():
    with pytest.raises(RuleError) as exc:
        compile_topics([OK, {"name": "gpus", "terms": ["ok", {"regex": "H8(00"}]}])
    assert exc.value.key == "topics[1] (gpus).terms[1].regex"
    assert "H8(00" in exc.value.problem


def test_names_in_order():
    assert topics({"name": "b", "terms": ["x"]}, {"name": "a", "terms": ["y"]}).names == ["b", "a"]


# --- normalisation and offsets -----------------------------------------------------

H800 = {"name": "h800", "terms": ["H800"]}
DS = {"name": "ds", "terms": ["DeepSeek-R1", "DeepSeek"]}
ASC = {"name": "asc", "terms": ["Ascend 910C", "Ascend"]}


@pytest.mark.parametrize(
    "rule, text, found",
    [
        (ASC, "Huawei punta sull’Ascend", "Ascend"),
        (ASC, "Huawei punta sull‘Ascend", "Ascend"),
        (ASC, "Huawei punta sullʼAscend", "Ascend"),
        (ASC, "Huawei punta sull'Ascend", "Ascend"),
        (H800, "il successore dell’H800", "H800"),
        (H800, "le GPU “H800” di Nvidia", "H800"),
        (H800, "le GPU «H800» di Nvidia", "H800"),
        (DS, "uscito DeepSeek\u2011R1 oggi", "DeepSeek\u2011R1"),  # non-breaking hyphen
        (DS, "uscito DeepSeek\u2010R1 oggi", "DeepSeek\u2010R1"),
        (DS, "uscito DeepSeek\u2013R1 oggi", "DeepSeek\u2013R1"),
        (DS, "uscito DeepSeek\u2212R1 oggi", "DeepSeek\u2212R1"),
        (DS, "uscito DeepSeek\u00a0R1 oggi", "DeepSeek\u00a0R1"),
        (DS, "uscito DeepSeek R1 oggi", "DeepSeek R1"),
        (DS, "uscito Deep\u00adSeek oggi", "Deep\u00adSeek"),  # soft hyphen inside the word
        (DS, "uscito Deep\u200bSeek oggi", "Deep\u200bSeek"),  # zero-width space
        (ASC, "Ascend\u00ad910C in arrivo", "Ascend\u00ad910C"),
        (ASC, "Ascend\u2011910C in arrivo", "Ascend\u2011910C"),
        (ASC, "ASCEND 910C IN ARRIVO", "ASCEND 910C"),
        (DS, "DeepSeek's new model", "DeepSeek"),
        (DS, "DeepSeek’s new model", "DeepSeek"),
    ],
)
def test_typographic_variants_match_and_offsets_point_into_original(rule, text, found):
    ms = topics(rule).match("", text)
    assert [text[m.start : m.end] for m in ms] == [found]


@pytest.mark.parametrize("text", ["ordine ascendente", "prices ascended", "Ascendere al Monte", "H8000 series", "XH800", "deepseeking"])
def test_whole_words_only(text):
    assert topics(ASC, H800, DS).match(text, text) == []


def test_offsets_survive_length_changing_normalisation():
    # decomposed é (NFD), soft hyphens and zero-width characters change lengths before the match
    title = "Cafe\u0301 e\u0301 te\u00adsto\u200b: l’Ascend 910C e\u0301 qui, poi Deep\u00adSeek\u2011R1"
    assert not unicodedata.is_normalized("NFC", title)
    ms = topics(ASC, DS).match(title, "")
    assert [(m.field, title[m.start : m.end]) for m in ms] == [
        ("title", "Ascend 910C"),
        ("title", "Deep\u00adSeek\u2011R1"),
    ]


def test_nfc_composes_before_matching():
    rule = {"name": "caffe", "terms": ["caffè"]}
    text = "un caffe\u0300 al bar"
    [m] = topics(rule).match("", text)
    assert text[m.start : m.end] == "caffe\u0300"


def test_title_and_body_fields():
    ms = topics(H800).match("H800 news", "more on the H800 here")
    assert [(m.field, m.start, m.end) for m in ms] == [("title", 0, 4), ("body", 12, 16)]


def test_fields_option_limits_where_to_look():
    rule = {**H800, "fields": ["title"]}
    assert [m.field for m in topics(rule).match("H800", "H800")] == ["title"]


def test_none_title_or_text():
    assert topics(H800).match(None, None) == []
    assert len(topics(H800).match(None, "H800")) == 1


# --- case --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term, text, hits",
    [
        ({"term": "Ascend"}, "prices ascend", 1),
        ({"term": "Ascend", "case_sensitive": True}, "prices ascend", 0),
        ({"term": "Ascend", "case_sensitive": True}, "the Ascend chip", 1),
        ({"term": "Ascend", "case_sensitive": True}, "THE ASCEND CHIP", 0),
        ({"regex": "H800s?"}, "two h800s", 1),
        ({"regex": "H800s?", "case_sensitive": True}, "two h800s", 0),
    ],
)
def test_case_sensitivity_per_term(term, text, hits):
    assert len(topics({"name": "t", "terms": [term]}).match("", text)) == hits


# --- context -----------------------------------------------------------------------

CTX = {
    "name": "asc",
    "terms": [{"regex": r"Ascend\s*9\d0[A-Z]?"}, {"term": "Ascend", "case_sensitive": True, "needs_context": True}],
    "context": {"window": 5, "terms": ["Huawei", "AI chip", {"term": "NPU", "case_sensitive": True}]},
}
FILLER = " ".join(["parola"] * 10)


@pytest.mark.parametrize(
    "title, body, accepted",
    [
        ("", "Ascend to new heights", False),
        ("", "Huawei Ascend launches", True),
        ("", "the Ascend AI chip", True),
        ("", f"Huawei {FILLER} Ascend", False),  # context too far away in the body
        ("", "Ascend one two three four Huawei", True),  # exactly 5 words apart
        ("", "Ascend one two three four five Huawei", False),
        ("Huawei news", f"{FILLER} {FILLER} Ascend", True),  # title context frames the story
        ("", "Ascend npu", False),  # case-sensitive context term
        ("", "Ascend NPU", True),
        ("Ascend returns", "Huawei said so", True),  # a title match sees the start of the body
        ("", "Ascend 910B", True),  # unambiguous term, no context needed
    ],
)
def test_context_window(title, body, accepted):
    cands = topics(CTX).explain(title, body)
    assert len(cands) == 1
    assert cands[0].accepted is accepted
    if not accepted:
        assert cands[0].reason == "no context: needs one of Huawei, AI chip, NPU within 5 words"


def test_context_without_window_means_anywhere():
    rule = {**CTX, "context": ["Huawei"]}
    assert topics(rule).match("", f"Huawei {FILLER} {FILLER} {FILLER} Ascend")


def test_a_match_is_not_its_own_context():
    rule = {"name": "t", "terms": [{"term": "Atlas", "needs_context": True}], "context": ["Atlas"]}
    assert topics(rule).match("Atlas", "") == []
    assert topics(rule).match("", "the Atlas") == []


# --- exclusions --------------------------------------------------------------------

EXCL = {
    "name": "h800",
    "terms": [{"regex": "H800s?", "needs_context": True, "label": "H800"}],
    "context": {"window": 10, "terms": ["Nvidia", "GPU"]},
    "exclude": ["PERC H800", {"term": "Logitech H800", "label": "Logitech headset"}],
}


def test_exclusion_cancels_only_the_occurrence_it_covers():
    body = "A PERC H800 RAID card sits next to the Nvidia H800 GPU."
    cands = topics(EXCL).explain("", body)
    assert [(body[c.start : c.end], c.accepted, c.reason) for c in cands] == [
        ("H800", False, "excluded: PERC H800"),
        ("H800", True, "matched"),
    ]
    [m] = topics(EXCL).match("", body)
    assert m.start == body.index("Nvidia H800") + len("Nvidia ")


def test_exclusion_reason_uses_label():
    [c] = topics(EXCL).explain("", "Logitech H800 with a GPU")
    assert c.reason == "excluded: Logitech headset"


def test_exclusion_beats_context():
    assert topics(EXCL).match("Nvidia GPU", "PERC\u00a0H800 and Logitech H800") == []


# --- overlapping candidates, explain, Match --------------------------------------


def test_overlapping_terms_are_one_candidate_preferring_accepted_then_longest():
    [c] = topics(CTX).explain("", "Ascend 910C")
    assert (c.term, c.text, c.accepted) == (r"Ascend\s*9\d0[A-Z]?", "Ascend 910C", True)


def test_explain_lists_rejected_and_match_only_accepted():
    t = DEFAULTS
    title, body = "Ascend to new heights", "Il token DeepSeek e il modello di DeepSeek. PERC H800."
    cands = t.explain(title, body)
    assert all(isinstance(c, Candidate) for c in cands)
    reasons = [(c.topic, c.text, c.reason.split(":")[0]) for c in cands]
    assert reasons == [
        ("ascend", "Ascend", "no context"),
        ("deepseek", "DeepSeek", "excluded"),
        ("deepseek", "DeepSeek", "matched"),
        ("h800", "H800", "excluded"),
    ]
    ms = t.match(title, body)
    assert all(isinstance(m, Match) for m in ms)
    assert [(m.topic, m.field, body[m.start : m.end]) for m in ms] == [("deepseek", "body", "DeepSeek")]


def test_match_as_dict_has_the_archive_keys():
    [m] = topics(H800).match("", "the H800")
    assert m.as_dict() == {"topic": "h800", "term": "H800", "field": "body", "start": 4, "end": 8, "snippet": "the H800"}


# --- snippets ----------------------------------------------------------------------


def test_snippet_is_the_sentence_with_whitespace_collapsed():
    body = "First sentence here.  The new\n\n  H800   ships today! Another sentence follows."
    [m] = topics(H800).match("", body)
    assert m.snippet == "The new H800 ships today!"


def test_snippet_of_long_text_is_bounded_and_marked():
    body = " ".join(["word"] * 200) + " H800 " + " ".join(["word"] * 200)
    [m] = topics(H800).match("", body)
    assert "H800" in m.snippet
    assert m.snippet.startswith("…") and m.snippet.endswith("…")
    assert len(m.snippet) <= 220


def test_snippet_function_strips_invisible_characters():
    text = "Le GPU H8\u00ad00 arrivano."
    assert snippet(text, 7, 12, SNIPPET_CHARS).text == "Le GPU H800 arrivano."


# --- default topics: a few phrasings beyond the labelled set ------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Huawei’s Atlas 950 SuperPoD", {"ascend"}),
        ("the Ascend 950PR and 950DT", {"ascend"}),
        ("DeepSeek-Coder-V2 and DeepSeek-Math", {"deepseek"}),
        ("le H800 di Nvidia", {"h800"}),
        ("Logitech H800 e PERC H800", set()),
        ("buy $DeepSeek now", set()),
        ("Ascend P6, Ascend G7 e Ascend Y300", set()),
        ("memory prices ascend", set()),
    ],
)
def test_default_topics_more_phrasings(text, expected):
    assert {m.topic for m in DEFAULTS.match("", text)} == expected


def test_regex_core_is_required_literal():
    # the prefilter looks for "h800" in pages for this regex: a page without it is skipped
    t = topics({"name": "t", "terms": [{"regex": r"(?:NVIDIA|Nvidia)\s+H800s?"}]})
    assert t.may_match_text("NVIDIA H800")
    assert not t.may_match_text("NVIDIA H100")
    assert re.search("h800", "<p>nvidia h800</p>")


@pytest.mark.parametrize(
    ("title", "text", "reasons"),
    [
        ("", "Ordinare in ordine ascendente.", [("ascend", "ascendente", "not a whole word: 'ascendente'")]),
        ("", "Memory prices ascend again.", [("ascend", "ascend", "case differs from a case-sensitive term: 'ascend'")]),
        ("", "The DeepSeekers club met.", [("deepseek", "DeepSeekers", "not a whole word: 'DeepSeekers'")]),
        ("", "Huawei Ascend 910C ships.", []),  # matched: no near miss on top of it
    ],
)
def test_explain_lists_near_misses_but_match_ignores_them(title, text, reasons):
    candidates = [c for c in DEFAULTS.explain(title, text) if not c.accepted and c.reason.startswith(
        ("not a whole word", "case differs", "no term matches"))]
    assert [(c.topic, c.text, c.reason) for c in candidates] == reasons
    assert all(text[c.start:c.end] == c.text for c in candidates)
    assert all(m.topic not in {r[0] for r in reasons} for m in DEFAULTS.match(title, text))
