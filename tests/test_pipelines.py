"""The first stages, built the way Scrapy builds them, fed pages from the sample outlets."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.misc import build_from_crawler

from crawler.items import Story
from crawler.pool import AnalysisPool
from crawler.run import RunState
from crawler.settings import EXTRACT_MIN_TEXT_CHARS
from pipelines.analyse import AnalysePipeline, CannotMatch, DuplicateLink, NoArticle, NoTopic
from pipelines.archive import ArchivePipeline
from pipelines.commit import CommitPipeline
from samples.server import Outlets
from tests.support.components import close, newswatch_crawler, write_config


def analyse_crawler(tmp_path: Path, **config: Any) -> Any:
    """A crawler as ``scrapy crawl news`` builds it, analysing in its own process (``crawl.workers: 0``)."""
    crawl = {"workers": 0, **config.pop("crawl", {})}
    return newswatch_crawler(write_config(tmp_path, crawl=crawl, **config),
                             EXTENSIONS={RunState: 0, AnalysisPool: 10})


def analysed(crawler: Any, story: Story) -> Story:
    pipeline = build_from_crawler(AnalysePipeline, crawler)
    pipeline.open_spider()
    return asyncio.run(pipeline.process_item(story))


@pytest.fixture
def crawler(tmp_path: Path) -> Iterator[Any]:
    built = analyse_crawler(tmp_path)
    yield built
    close(built)


def page(outlets: Outlets, site: str, path: str, source_language: str = "") -> Story:
    url = outlets.url(site, path)
    with urllib.request.urlopen(url, timeout=10) as response:
        body, headers = response.read(), dict(response.headers)
    html = HtmlResponse(url, body=body, headers=headers)
    return Story(url=url, source=site, source_language=source_language, body=html.body, encoding=html.encoding)


def story_of(html: str, url: str = "https://example.org/a", **fields: Any) -> Story:
    return Story(url=url, source="a", body=html.encode("utf-8"), **fields)


@pytest.mark.parametrize(
    ("site", "path"),
    [
        ("techmag", "/news/huawei-ascend-910c-ai-cluster-shipments"),
        ("blogit", "/2026/03/09/startup-italiane-deepseek/"),  # malformed HTML
        ("blogit", "/2026/03/10/caccia-alle-h800-mercato-parallelo/"),  # windows-1252 via <meta>
    ],
)
def test_analysis_stage_extracts_a_matching_story(outlets: Outlets, crawler: Any, site: str, path: str) -> None:
    out = analysed(crawler, page(outlets, site, path, "it" if site == "blogit" else "en"))
    assert out.title and len(out.text) >= 200 and out.topics
    assert out.body == b""  # the raw page is not carried further
    assert out.text_fingerprint is not None  # computed with the analysis, for the dedup stage
    for boilerplate in ("Trending", "Newsletter", "Leave a comment", "Iscriviti alla newsletter"):
        assert boilerplate not in out.text
    assert crawler.stats.get_value("topics/matched") == 1


def test_a_review_whose_only_watched_words_are_in_the_chrome_is_skipped(outlets: Outlets, crawler: Any) -> None:
    # The outlet's menu and trending box name DeepSeek and Nvidia on every page: not worth extracting.
    with pytest.raises(CannotMatch):
        analysed(crawler, page(outlets, "techmag", "/news/amd-ryzen-16-core-x3d-review"))
    assert crawler.stats.get_value("prefilter/skipped") == 1
    assert crawler.stats.get_value("extract/ok") is None


def test_page_without_article_is_dropped_and_counted(crawler: Any) -> None:
    story = story_of("<html><body><div class='gallery'><p>DeepSeek</p><img src='a.jpg'><img src='b.jpg'></div>"
                     "</body></html>", "https://example.org/gallery")
    with pytest.raises(NoArticle):
        analysed(crawler, story)
    assert crawler.stats.get_value("extract/no_article") == 1
    assert crawler.stats.get_value("source/a/no_article") == 1


def test_prefilter_skips_pages_without_any_watched_term(crawler: Any) -> None:
    story = story_of("<html><body><article><p>" + "A story about phones and cameras. " * 40 + "</p></article></body></html>")
    with pytest.raises(CannotMatch):
        analysed(crawler, story)
    assert crawler.stats.get_value("prefilter/skipped") == 1


ENGLISH = ("Chip makers said on Monday that demand for DeepSeek's models in data centres kept growing, "
           "while memory suppliers warned that prices would stay high until the end of the year.")
ITALIAN = ("I produttori di chip hanno detto lunedì che la domanda per i modelli di DeepSeek nei centri dati "
           "continua a crescere, mentre i fornitori di memoria avvertono che i prezzi resteranno alti.")


@pytest.mark.parametrize(
    ("text", "hint", "language", "how"),
    [
        (ENGLISH * 3, "it", "en", "detected"),
        (ITALIAN * 3, "en", "it", "detected"),
        ("DeepSeek-V3 / R1 / 910C / H800 / 2025 " * 8, "it", "it", "hint"),  # model numbers only: no language
    ],
)
def test_language_of_a_matching_story(tmp_path: Path, text: str, hint: str, language: str, how: str) -> None:
    crawler = analyse_crawler(tmp_path, crawl={"workers": 0}, dedup={"threshold": 0.4})
    try:
        out = analysed(crawler, story_of(f"<html><body><article><h1>DeepSeek</h1><p>{text}</p></article></body></html>",
                                         source_language=hint))
        assert out.language == language
        assert (crawler.stats.get_value("language/from_hint") == 1) == (how == "hint")
    finally:
        close(crawler)


def test_language_is_repeatable(crawler: Any) -> None:
    mixed = (ENGLISH[:90] + " " + ITALIAN[:90] + " ") * 2
    html = f"<html><body><article><h1>DeepSeek</h1><p>{mixed}</p></article></body></html>"
    assert len({analysed(crawler, story_of(html, f"https://example.org/{i}")).language for i in range(5)}) == 1


def test_topics_record_evidence_and_the_rest_is_dropped(crawler: Any) -> None:
    body = "<p>" + "Cloud providers said their H800 clusters were back online after the outage. " * 4 + "</p>"
    out = analysed(crawler, story_of(f"<html><head><title>NVIDIA H800 shipments resume</title></head><body>"
                                     f"<article><h1>NVIDIA H800 shipments resume</h1>{body}</article></body></html>"))
    assert out.topics == ["h800"]
    assert {m["field"] for m in out.matches} == {"title", "body"}
    match = next(m for m in out.matches if m["field"] == "body")
    assert out.text[match["start"]:match["end"]].lower().endswith("h800")
    headset = "<p>" + "The Logitech H800 headset is comfortable for long calls and its battery lasts. " * 4 + "</p>"
    with pytest.raises(NoTopic):
        analysed(crawler, story_of(f"<html><body><article><h1>Logitech H800 review</h1>{headset}</article>"
                                   "</body></html>", "https://example.org/b"))
    assert crawler.stats.get_value("topics/no_match") == 1


def test_a_page_that_declares_a_known_article_canonical_is_a_duplicate_link(crawler: Any) -> None:
    run = crawler.get_extension(RunState)
    run.requested.add("https://example.org/original")
    html = ('<html><head><link rel="canonical" href="https://example.org/original"></head><body><article>'
            '<h1>DeepSeek</h1><p>' + ENGLISH * 3 + '</p></article></body></html>')
    with pytest.raises(DuplicateLink):
        analysed(crawler, story_of(html, "https://example.org/copy?utm_source=x",
                                   fetched_urls=["https://example.org/copy?utm_source=x"]))
    assert crawler.stats.get_value("newswatch/duplicate_link") == 1


def test_archive_appends_whole_lines_after_a_cut_line(tmp_path: Path) -> None:
    archive = tmp_path / "archive.jsonl"
    archive.write_text('{"story_id": "a"}\n{"story_id": "cut', encoding="utf-8")  # a killed run
    crawler = newswatch_crawler(write_config(tmp_path))
    commit, pipeline = (build_from_crawler(cls, crawler) for cls in (CommitPipeline, ArchivePipeline))
    pipeline.open_spider()
    story = Story(url="https://example.org/x", source="s", body=b"<html>raw</html>", title="Tïtle “quoted”",
                  text="body", topics=["h800"], matches=[{"topic": "h800"}])
    pipeline.process_item(commit.process_item(story))
    pipeline.close_spider()
    close(crawler)
    lines = archive.read_text(encoding="utf-8").splitlines()
    assert lines[1] == '{"story_id": "cut'
    record = json.loads(lines[2])
    assert record["title"] == "Tïtle “quoted”" and "html" not in record and "fetched_url" not in record
    assert "Tïtle" in archive.read_text(encoding="utf-8")  # UTF-8, not \\u escapes


ARTICLE_BODY = "<p>" + "Huawei says its Ascend 910C accelerators now ship in volume to cloud providers. " * 6 + "</p>"


@pytest.mark.parametrize(("head", "discovered", "timezone", "published", "precision"), [
    # a date-only page: the feed entry's instant of the same day
    ('<meta property="article:published_time" content="2026-03-02">', "2026-03-02T09:15:00+00:00", None,
     "2026-03-02T09:15:00+00:00", "second"),
    # a naive time on an Italian source: Rome's offset
    ('<meta property="article:published_time" content="2026-03-02T10:15:00">', None, "Europe/Rome",
     "2026-03-02T10:15:00+01:00", "second"),
    # a date only, and the feed says another day: the page's day, said to be a day
    ('<meta property="article:published_time" content="2026-03-02">', "2026-03-05T09:15:00+00:00", None,
     "2026-03-02", "day"),
])
def test_extract_stage_resolves_the_published_instant_from_page_and_discovery(
        tmp_path: Path, head: str, discovered: str | None, timezone: str | None, published: str,
        precision: str) -> None:
    source = {"name": "desk", "language": "it" if timezone else "en", "feeds": ["https://desk.example/feed"]}
    crawler = analyse_crawler(tmp_path, sources=[source])
    try:
        html = (f"<html><head><title>Ascend clusters | Desk</title>{head}</head><body><article>"
                f"<h1>Ascend clusters</h1>{ARTICLE_BODY}</article></body></html>")
        out = analysed(crawler, Story(url="https://desk.example/a", source="desk", body=html.encode(),
                                      discovered_published=discovered))
        assert (out.published, out.published_precision) == (published, precision)
        assert out.title == "Ascend clusters"
    finally:
        close(crawler)


def test_screen_reader_only_link_text_is_not_part_of_the_body() -> None:
    from crawler.extraction import extract_page

    hidden = ('<a href="https://x.example/r">the report<span class="sr-only">, opens new tab</span></a>'
              ', <a href="https://x.example/s">the source<span style="clip: rect(0 0 0 0); position: absolute">'
              ' (öffnet im neuen Fenster)</span></a>')
    html = f"<html><body><article><h1>Ascend</h1><p>According to {hidden}, shipments grew.</p>{ARTICLE_BODY}" \
           "</article></body></html>"
    page = extract_page(html, "https://x.example/a", min_chars=EXTRACT_MIN_TEXT_CHARS)
    assert page is not None
    assert "According to the report, the source, shipments grew." in page.text
    assert "opens new tab" not in page.text and "öffnet" not in page.text


@pytest.mark.parametrize(("attributes", "hidden"), [
    ('class="sr-only"', True),
    ('class="link visually-hidden"', True),
    ('class="govuk-visually-hidden"', True),
    ('class="screen-reader-text"', True),
    ('style="position:absolute; clip: rect(0px, 0px, 0px, 0px)"', True),
    ('style="clip-path: inset(50%)"', True),
    ('class="vhs-review"', False),  # a word that only contains the letters
    ('class="visually-striking"', False),
    ('style="clip-path: circle(40%)"', False),
])
def test_screen_reader_only_markup(attributes: str, hidden: bool) -> None:
    from crawler.extraction import parse_page, remove_hidden

    tree = parse_page(f"<html><body><p>Seen<span {attributes}> unseen</span> text.</p></body></html>")
    remove_hidden(tree)
    assert tree.xpath("string(//p)") == ("Seen text." if hidden else "Seen unseen text.")


def test_dropped_pages_are_committed_in_batches_and_the_rest_at_close(tmp_path: Path) -> None:
    from pipelines.commit import PAGE_BATCH

    crawler = newswatch_crawler(write_config(tmp_path))
    try:
        commit = build_from_crawler(CommitPipeline, crawler)
        state = crawler.get_extension(RunState).state
        pages = [Story(url=f"https://example.org/p{n}", source="a", fetched_at="2026-03-02T10:00:00+00:00")
                 for n in range(PAGE_BATCH + 3)]
        for story in pages:
            commit.item_dropped(story, None, NoTopic("no topic"))
        assert all(state.is_known_url(s.url) for s in pages[:PAGE_BATCH])  # one full batch, one transaction
        commit.close_spider()
        assert all(state.is_known_url(s.url) for s in pages)
        assert state.recheck_after(pages[-1].url) is not None  # a NoTopic page is re-checked when updated
        assert crawler.stats.get_value("commit/pages") == PAGE_BATCH + 3
    finally:
        close(crawler)
