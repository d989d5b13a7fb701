"""What newswatch makes of one fetched page, cheapest step first: the work of the pool's worker processes.

A page is parsed once (lxml, from the response's bytes). Then, each step only for a page the one
before kept:

1. the site's chrome goes (menus, the site's header and footer, ``aside``; then "related"/"trending"
   boxes and sidebars), and the **prefilter** looks for a core word of some watched term in what is
   left (its text nodes and the strings the headline is read from). A tech outlet's menu naming
   Nvidia no longer sends every page to trafilatura. The extractors read the same pruned tree, so
   whatever the matcher could accept was in the text the prefilter read: it never drops a page the
   matcher would accept.
2. the body (trafilatura, readability-lxml) and the metadata (:mod:`crawler.metadata`);
3. the topic rules;
4. only for a story that matched: its language, from a bounded slice of the body, and its MinHash
   fingerprint (what the dedup stage looks up).

Everything in and out is a plain value, so it crosses to a worker process and back; ``explain`` and the
benchmarks call :meth:`Analyser.__call__` in their own process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from crawler.clusters import body_link_candidates, body_links, text_evidence
from crawler.dedup import Fingerprinter
from crawler.extraction import (
    extract_page,
    page_text,
    parse_page,
    remove_chrome_boxes,
    remove_chrome_tags,
    remove_code,
    spaced_text,
)
from crawler.language import detect_language
from crawler.matching import CompiledTopics
from crawler.metadata import Discovery, Metadata, headline_sources
from crawler.state import StoryFingerprint
from crawler.urls import declared_canonical

logger = logging.getLogger(__name__)

# Outcomes, cheapest first.
SKIPPED = "skipped"  # no watched term outside the site's chrome: not extracted
NO_ARTICLE = "no_article"  # no article text on the page
NO_TOPIC = "no_topic"  # extracted; the topic rules accept nothing
MATCHED = "matched"

#: Characters of the body the language is detected on: the cost grows with the text, the verdict
#: settles long before (the same on every labelled passage and news page, `make bench`).
LANGUAGE_SLICE = 2000


@dataclass(frozen=True)
class Job:
    """One fetched page: its bytes as they came and the encoding Scrapy decided for them."""

    url: str
    body: bytes
    encoding: str = "utf-8"
    discovery: Discovery = Discovery()
    language_hint: str = ""


@dataclass(frozen=True)
class Analysis:
    outcome: str
    canonical: str | None = None  # the page's own canonical declaration, as written
    metadata: Metadata | None = None
    text: str | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)
    language: str | None = None
    language_how: str | None = None
    fingerprint: StoryFingerprint | None = None
    # What crawler.clusters reads from the story (its own URL and outlet are added by the dedup stage).
    evidence: tuple[str, ...] = ()


@dataclass
class Analyser:
    """The rules a page is analysed by; built once per run, sent once to each worker process."""

    topics: CompiledTopics
    fingerprinter: Fingerprinter
    min_chars: int  # EXTRACT_MIN_TEXT_CHARS
    language_min_chars: int  # LANGUAGE_MIN_TEXT_CHARS

    def __call__(self, job: Job) -> Analysis:
        tree = parse_page(job.body, job.encoding)
        if tree is None:
            return Analysis(NO_ARTICLE)
        canonical = declared_canonical(tree)
        remove_code(tree)
        remove_chrome_tags(tree)
        if not may_match(self.topics, tree, exact=False):
            return Analysis(SKIPPED, canonical)
        remove_chrome_boxes(tree)  # costlier: only where the cheap pass left a watched word
        if not may_match(self.topics, tree):
            return Analysis(SKIPPED, canonical)
        links = body_link_candidates(tree, job.url)  # before extraction, which may change the tree
        page = extract_page(tree, job.url, job.discovery, min_chars=self.min_chars)
        if page is None:
            return Analysis(NO_ARTICLE, canonical)
        meta = page.metadata
        matches = self.topics.match(meta.headline or "", page.text)
        if not matches:
            return Analysis(NO_TOPIC, canonical, meta)
        language, how = detect_language(page.text[:LANGUAGE_SLICE], job.language_hint, self.language_min_chars)
        evidence = text_evidence(meta.headline, page.text, language=language,
                                 links=body_links(links, page.text, job.url))
        return Analysis(MATCHED, canonical, meta, page.text, [m.as_dict() for m in matches], language, how,
                        self.fingerprinter(page.text), evidence)



def may_match(topics: CompiledTopics, tree: Any, exact: bool = True) -> bool:
    """The prefilter: could the topic rules accept anything the extractors can read on this tree?

    First a core word of some term, in one C-speed pass over the text; with *exact*, then a term's own
    pattern (a page that names Nvidia but no Nvidia H800 goes no further), in the text joined both
    ways an extractor joins neighbouring elements."""
    joined = page_text(tree)
    headlines = headline_sources(tree)
    if not (topics.may_match_text(joined) or any(topics.may_match_text(s) for s in headlines)):
        return False
    return not exact or topics.any_term_in([joined, spaced_text(tree), *headlines])


# --- in a worker process ------------------------------------------------------------------------

_analyser: Analyser | None = None


def init_worker(analyser: Analyser) -> None:
    """The pool's initializer: keep the run's rules for every job this process takes."""
    global _analyser
    _analyser = analyser
    # A worker's log lines would go nowhere useful (Scrapy's handlers live in the crawl's process): the
    # crawl's process logs each failure once, by URL.
    logging.getLogger().handlers.clear()
    logging.getLogger().addHandler(logging.NullHandler())


def run_job(job: Job) -> Analysis:
    if _analyser is None:
        raise RuntimeError("worker process not initialised")
    return _analyser(job)
