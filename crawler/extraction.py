"""Article extraction for one page, shared by the pipeline, ``explain`` and the benchmarks.

The page is parsed once; the metadata resolver (:mod:`crawler.metadata`) reads that tree for the
headline, the published instant and the authors, and trafilatura extracts the body from it.
"""

from __future__ import annotations

import logging
import re
from copy import copy
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import trafilatura
from htmldate import find_date
from lxml import etree
from lxml import html as lxml_html
from lxml.etree import XPath
from readability import Document as ReadabilityDocument
from trafilatura.utils import load_html
from w3lib.encoding import html_to_unicode

from crawler.metadata import Discovery, Metadata, normalise_text, resolve

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    text: str
    metadata: Metadata


# Text for screen readers only ("opens new tab", "(öffnet im neuen Fenster)"): not part of what a reader sees.
# A cheap XPath finds candidates; the class tokens and the clipping style are checked exactly in Python.
_HIDDEN_CANDIDATES = XPath(
    "//*[@class][contains(@class, 'sr-only') or contains(@class, 'isually') or contains(@class, 'screen-reader')"
    " or contains(@class, 'screenreader') or contains(@class, 'vh')] | //*[@style][contains(@style, 'clip')]")
_HIDDEN_CLASSES = {"sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text", "screenreader-only",
                   "go-vh", "u-vh", "vh"}
_CLIPPED = re.compile(r"clip\s*:\s*rect\(\s*0(?:px)?[\s,]+0(?:px)?[\s,]+0(?:px)?[\s,]+0(?:px)?\s*\)"
                      r"|clip-path\s*:\s*inset\(\s*50%\s*\)")


def _hidden(element: Any) -> bool:
    for token in (element.get("class") or "").split():
        if token in _HIDDEN_CLASSES or token.endswith(("-visually-hidden", "-sr-only", "-screen-reader-text")):
            return True
    return bool(_CLIPPED.search(element.get("style") or ""))


# Site chrome: menus, the site's header and footer, sidebars, "related"/"trending"/"most read" boxes,
# readers' comments (which newswatch never extracts). A
# tech outlet's menu names Nvidia and DeepSeek on every page; neither the prefilter nor the extractors
# should read it (measured on ../shared/benchmarks/aeb: the same F1, extraction about a fifth faster).
# An article's own <header> (headline, standfirst) and <footer> stay, and an element that holds the
# article (a layout wrapper with a "sidebar" class) is never removed. Two passes: the tags, found by
# lxml's C iterator (~0.1 ms a page), then the class/id boxes, a walk over every element (~0.7 ms),
# which the analysis runs only on a page whose text still names a watched term after the first.
_CHROME_TAGS = ("nav", "aside", "menu", "footer", "header")
_CHROME_WORDS = ("related", "trending", "popular", "sidebar", "breadcrumb", "breadcrumbs", "most-read", "mostread",
                 "comments", "comment")
_CHROME_HINT = re.compile("|".join(sorted({w[:7] for w in _CHROME_WORDS})))


def _holds_article(element: Any) -> bool:
    """The element is or contains the article: an <article>, an <h1> or the articleBody."""
    return (next(element.iter("article", "h1"), None) is not None or element.get("itemprop") == "articleBody"
            or next(element.iterfind(".//*[@itemprop='articleBody']"), None) is not None)


def _drop(elements: list[Any]) -> None:
    for element in elements:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the tail text that follows the element


def _in_article(element: Any) -> bool:
    return any(parent.tag == "article" for parent in element.iterancestors())


def remove_chrome_tags(tree: Any) -> None:
    """Remove ``nav``, ``aside``, ``menu`` and the site's (not the article's) ``header``/``footer``."""
    found = [e for e in tree.iter(*_CHROME_TAGS) if e.tag in ("nav", "aside", "menu") or not _in_article(e)]
    _drop([e for e in found if not _holds_article(e)])


def _chrome_box(element: Any) -> bool:
    for token in f"{element.get('class') or ''} {element.get('id') or ''}".lower().split():
        # A BEM name says its role last: "sidebar-grid__content" is a layout's content, not a sidebar
        # (measured: politico.eu's article paragraphs sit in such elements); "--" adds a modifier.
        role = token.rsplit("__", 1)[-1].split("--", 1)[0]
        for word in _CHROME_WORDS:
            if role == word or role.startswith((word + "-", word + "_")) or role.endswith(("-" + word, "_" + word)):
                return True
    return False


def remove_chrome_boxes(tree: Any) -> None:
    """Remove elements whose class or id names a related/trending/popular/most-read box, a sidebar or
    breadcrumbs (a whole token, or one part of a hyphenated token)."""
    found = []
    for element in tree.iter():
        names = element.get("class"), element.get("id")
        if (names[0] or names[1]) and _CHROME_HINT.search(f"{names[0] or ''} {names[1] or ''}".lower()) \
                and _chrome_box(element):
            found.append(element)
    _drop([e for e in found if not _holds_article(e)])


def remove_chrome(tree: Any) -> None:
    """What the crawl's extraction reads: the page without its code and its chrome (both passes)."""
    remove_code(tree)
    remove_chrome_tags(tree)
    remove_chrome_boxes(tree)


def remove_code(tree: Any) -> None:
    """Remove scripts (but JSON-LD, which the metadata resolver reads) and style sheets, in place: no
    extractor returns their text, and on a modern page they are most of it (a tech outlet's page carries
    some 100,000 characters of it, which the prefilter would read for nothing)."""
    # lxml strips every element of a tag in one C pass: JSON-LD is renamed for the moment, to be kept.
    kept = [e for e in tree.iter("script") if (e.get("type") or "").strip().lower() == "application/ld+json"]
    for element in kept:
        element.tag = "newswatch-json-ld"
    etree.strip_elements(tree, "script", "style", with_tail=False)
    for element in kept:
        element.tag = "script"


_STRING = XPath("string()")


def page_text(tree: Any) -> str:
    """Every text node of the page, concatenated, in one C call."""
    return str(_STRING(tree))


def spaced_text(tree: Any) -> str:
    """Every text node of the page, a space between each two: with :func:`page_text`, the two ways an
    extractor can join the text of neighbouring elements (directly inside a paragraph, with a line break
    between blocks)."""
    return " ".join(tree.itertext())


# The body strategy, measured on ../shared/benchmarks/aeb and news-pages (see `make bench`):
# trafilatura's precise pass; its default pass where the precise one kept almost nothing (under 1,000
# characters and under half of the default pass: a layout the precise pass misreads, e.g. a paywalled
# page's teaser); readability-lxml only where trafilatura kept less than half of the page's paragraph
# text and readability finds twice as much. Each threshold sits in the middle of a plateau of the benchmarks.
PRECISE_SHARE = 0.5
PRECISE_MIN_CHARS = 1000
PARAGRAPH_SHARE = 0.5
READABILITY_GAIN = 2.0


def trafilatura_text(tree: Any, url: str | None, precise: bool) -> str:
    # trafilatura copies a tree it is given, so the tree stays as it was for the next reader.
    text = trafilatura.extract(tree, url=url, include_comments=False, favor_precision=precise,
                               with_metadata=False)
    return (text or "").strip()


def readability_text(tree: Any) -> str:
    try:
        summary = ReadabilityDocument(copy(tree)).summary(html_partial=True)
    except Exception as exc:  # readability raises its own Unparseable and lxml errors on odd trees
        logger.debug("readability failed: %s", exc)
        return ""
    blocks = lxml_html.fragment_fromstring(summary, create_parent="div").iter(*_BLOCKS)
    return "\n".join(t for t in (normalise_text(b.text_content()) for b in blocks) if t)


_BLOCKS = ("p", "li", "h2", "h3", "h4", "blockquote", "pre")


def body_text(tree: Any, url: str | None = None, *, default_pass: bool = True, fallback: bool = True) -> str:
    """The article's running text from a parsed page, by the strategy above ("" when there is none).

    ``default_pass``/``fallback`` switch those steps off, so the benchmark can show what each one buys."""
    text = trafilatura_text(tree, url, precise=True)
    if default_pass and len(text) < PRECISE_MIN_CHARS:  # only then can the default pass win: skip its cost
        default = trafilatura_text(tree, url, precise=False)
        if len(text) < PRECISE_SHARE * len(default):
            text = default
    if not fallback:
        return text
    paragraphs = sum(len((p.text_content() or "").strip()) for p in tree.iter("p"))
    if len(text) < PARAGRAPH_SHARE * paragraphs:
        readable = readability_text(tree)
        if len(readable) > READABILITY_GAIN * len(text):
            return readable
    return text


@lru_cache(maxsize=32)
def _parser(encoding: str) -> lxml_html.HTMLParser:
    # trafilatura's own parser settings, with the encoding Scrapy decided for the response.
    return lxml_html.HTMLParser(encoding=encoding, collect_ids=False, default_doctype=False, remove_comments=True,
                                remove_pis=True)


def parse_page(page: str | bytes, encoding: str = "utf-8") -> Any:
    """The page's lxml tree, or None when it is not a document.

    Bytes are parsed as they came, in *encoding* (Scrapy's choice for the response: its header, BOM or
    ``<meta>``), which costs less than decoding them first; an encoding libxml2 does not know, and text,
    go through trafilatura's loader."""
    if isinstance(page, bytes):
        try:
            tree = lxml_html.document_fromstring(page, parser=_parser(encoding)) if page and not page.isspace() else None
        except LookupError:
            tree = load_html(html_to_unicode(f"charset={encoding}", page)[1])
        except (etree.ParserError, ValueError):  # "Document is empty" and the like
            tree = None
        return tree if tree is not None and len(tree) else None
    return load_html(page)


def remove_hidden(tree: Any) -> None:
    """Remove screen-reader-only text, in place."""
    for element in [e for e in _HIDDEN_CANDIDATES(tree) if _hidden(e)]:
        element.drop_tree()  # keeps the tail text that follows the element


def extract_page(page: Any, url: str | None = None, discovery: Discovery = Discovery(), *,
                 min_chars: int) -> Page | None:
    """Body and metadata of the article in *page* (HTML, or a tree from :func:`parse_page`, which is
    changed); None when the page holds no article.

    The page is parsed once. Comments are never included. trafilatura's ``deduplicate`` option is not
    used: its cache is process-global. trafilatura's own metadata pass is skipped: the resolver decides
    those fields, and htmldate is asked for a date only when the page and its discovery give none.
    """
    tree = parse_page(page) if isinstance(page, (str, bytes)) else page
    if tree is None:
        return None
    remove_hidden(tree)
    try:
        text = body_text(tree, url)
    except (ValueError, TypeError, AttributeError) as exc:  # malformed trees that lxml cannot repair
        logger.warning("Extraction failed for %s: %s", url, exc)
        return None
    if len(text) < min_chars or not text:
        return None
    metadata = resolve(tree, discovery, fallback_date=lambda: find_date(
        tree, url=url, original_date=True, extensive_search=True, outputformat="%Y-%m-%dT%H:%M:%S%z"))
    return Page(text=text, metadata=metadata)
