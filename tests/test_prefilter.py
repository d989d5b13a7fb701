"""The prefilter never drops a page the full matcher would accept.

Every labelled passage is rendered into HTML pages with different entity encodings, inside a tech
outlet's chrome that names every watched term; the text a parser extracts from each page is matched,
and whenever that finds something the prefilter (the analysis' own, on the page without its chrome)
must have said True for the page.
"""

from __future__ import annotations

import html
import re
from html.entities import codepoint2name

import lxml.html
import pytest

from crawler.analysis import may_match
from crawler.evaluate import DEFAULT_CASES, default_topics_path, load_cases, load_topics
from crawler.extraction import parse_page, remove_chrome
from crawler.matching import CompiledTopics, compile_topics

TOPICS = load_topics(default_topics_path())
CASES = [case for path in DEFAULT_CASES for case in load_cases(path, TOPICS.names)]

PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Tech news</title>
<style>.x{{color:red}}</style><script>var tracking = {{id: 1}};</script></head>
<body><nav><a href="/">Home</a> <a href="/ai">DeepSeek</a> <a href="/gpu">Nvidia H800</a>
<a href="/npu">Huawei Ascend 910C, CloudMatrix, Atlas 900 SuperPoD</a></nav>
<h1>{title}</h1><article><p>{body}</p></article>
<aside class="trending">Trending: DeepSeek V4, Nvidia H800 smuggling, Huawei Ascend 910C yields</aside>
<footer>&copy; 2025 Example Media &middot; P.IVA 01234567890 &middot; DeepSeek &middot; Nvidia</footer></body></html>"""


def prefilter(page: str, topics: CompiledTopics | None = None) -> bool:
    tree = parse_page(page)
    remove_chrome(tree)
    return may_match(topics if topics is not None else TOPICS, tree)


def _decimal(s: str) -> str:
    return "".join(c if c.isascii() else f"&#{ord(c)};" for c in html.escape(s, quote=False))


def _named(s: str) -> str:
    return "".join(
        c if c.isascii() else (f"&{codepoint2name[ord(c)]};" if ord(c) in codepoint2name else f"&#x{ord(c):x};")
        for c in html.escape(s, quote=False)
    )


def _typeset(s: str) -> str:
    """What a CMS with smart typography and a hyphenation plugin emits: curly apostrophes,
    non-breaking hyphens and spaces, soft hyphens inside long words, all as entities."""
    s = html.escape(s, quote=False)
    s = re.sub(r"(?<=\w)'(?=\w)", "&rsquo;", s)
    s = s.replace("-", "&#x2011;")
    s = re.sub(r"\b(\w{3})(\w{3,})", r"\1&shy;\2", s)
    words = s.split(" ")
    return "".join(w + ("&nbsp;" if i % 2 else " ") for i, w in enumerate(words)).rstrip()


def _zero_width(s: str) -> str:
    s = html.escape(s, quote=False)
    return re.sub(r"\b(\w{2})(\w{2,})", r"\1&#8203;\2", s)


RENDERERS = {
    "utf8": lambda s: html.escape(s, quote=False),
    "decimal": _decimal,
    "named": _named,
    "typeset": _typeset,
    "zero-width": _zero_width,
}


def render(case, how: str) -> str:
    enc = RENDERERS[how]
    return PAGE.format(lang=case.lang, title=enc(case.title), body=enc(case.body))


def extract(page: str) -> tuple[str, str]:
    doc = lxml.html.fromstring(page)
    return doc.xpath("string(//h1)"), doc.xpath("string(//article)")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_watched_words_in_the_chrome_alone_do_not_pass(case):
    # Whether the article's own text holds one of the terms decides, never the menu around it.
    page = render(case, "utf8")
    assert prefilter(page) == TOPICS.any_term_in([case.title, case.body])


@pytest.mark.parametrize("how", sorted(RENDERERS))
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_prefilter_keeps_every_page_the_matcher_accepts(case, how):
    page = render(case, how)
    title, body = extract(page)
    got = {m.topic for m in TOPICS.match(title, body)}
    # the encodings are only typography: the verdict is the labelled one for every rendering
    assert got == set(case.topics)
    if got:
        assert prefilter(page)


def test_rendering_is_faithful():
    case = next(c for c in CASES if "\u2011" in c.title)
    for how in RENDERERS:
        title, _ = extract(render(case, how))
        if how in ("utf8", "decimal", "named"):
            assert title == case.title


@pytest.mark.parametrize(
    "fragment, expected",
    [
        ("Apple presenta i nuovi MacBook con un processore pi&ugrave; efficiente.", False),
        ("Oroscopo: la Luna in Toro porta novit&agrave;.", False),
        ("<p>Le GPU H800 di Nvidia</p>", True),
        ("<p>DEEPSEEK</p>", True),
        ("<p>Deep&shy;Seek</p>", True),
        ("<p>Deep&#173;Seek</p>", True),
        ("<p>Deep&#xAD;Seek</p>", True),
        ("<p>Deep\u00adSeek</p>", True),
        ("<p>H&#8203;800</p>", True),
        ("<p>H&#x200b;800</p>", True),
        ("<p>dell&rsquo;H800</p>", True),
        ("<p>l&#8217;Ascend&nbsp;910C</p>", True),
        ("<p>Cloud&shy;Matrix</p>", True),
        ('<img alt="Nvidia logo"> <p>Nvidia H100</p>', False),  # a core word (Nvidia), but no term's pattern
        ('<p>Nvidia H800</p>', True),
    ],
)
def test_prefilter_table(fragment, expected):
    assert prefilter(PAGE.format(lang="it", title="", body=fragment)) is expected


def test_prefilter_handles_non_ascii_cores_through_entities():
    t = compile_topics([{"name": "caffe", "terms": ["caffè"]}])
    assert prefilter("<html><body><p>un caff&egrave; espresso</p></body></html>", t)
    assert prefilter("<html><body><p>un CAFF&#200; espresso</p></body></html>", t)
    assert not prefilter("<html><body><p>un tè verde</p></body></html>", t)


def test_prefilter_with_no_topics_is_false():
    assert prefilter("<html><body><p>DeepSeek</p></body></html>", compile_topics([])) is False
