"""Article extraction for one page, shared by the pipeline, ``explain`` and the benchmarks.

The page is parsed once; the metadata resolver (:mod:`crawler.metadata`) reads that tree for the
headline, the published instant and the authors, and trafilatura extracts the body from it.
"""

from __future__ import annotations

import logging
import re
from copy import copy
from dataclasses import dataclass
from typing import Any

import trafilatura
from htmldate import find_date
from lxml import html as lxml_html
from lxml.etree import XPath
from readability import Document as ReadabilityDocument
from trafilatura.utils import load_html

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


def parse_page(html: str) -> Any:
    """The page's lxml tree, screen-reader-only text removed; None when it is not a document."""
    tree = load_html(html)
    if tree is None:
        return None
    for element in [e for e in _HIDDEN_CANDIDATES(tree) if _hidden(e)]:
        element.drop_tree()  # keeps the tail text that follows the element
    return tree


def extract_page(html: str, url: str | None = None, discovery: Discovery = Discovery(), *,
                 min_chars: int = 200) -> Page | None:
    """Body and metadata of the article in *html*; None when the page holds no article.

    The page is parsed once. Comments are never included. trafilatura's ``deduplicate`` option is not
    used: its cache is process-global. trafilatura's own metadata pass is skipped: the resolver decides
    those fields, and htmldate is asked for a date only when the page and its discovery give none.
    """
    tree = parse_page(html)
    if tree is None:
        return None
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
