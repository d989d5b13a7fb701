"""The first stages, built the way Scrapy builds them, fed pages from the sample outlets."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler.items import Story
from pipelines.archive import ArchivePipeline
from pipelines.commit import CommitPipeline
from pipelines.extract import CannotMatch, ExtractPipeline, NoArticle
from pipelines.language import LanguagePipeline
from pipelines.topics import NoTopic, TopicsPipeline
from spiders.news import NewsSpider
from tests.crawl import DEFAULT_CONFIG
from tests.fixtures.server import Outlets, outlets  # noqa: F401 (fixture)
from tests.support.components import close, newswatch_crawler, write_config


def crawler_with(**settings: Any) -> Any:
    return get_crawler(NewsSpider, {"NEWSWATCH_CONFIG": str(DEFAULT_CONFIG), **settings})


def build(cls: type, **settings: Any) -> Any:
    pipeline = build_from_crawler(cls, crawler_with(**settings))
    if hasattr(pipeline, "open_spider"):
        pipeline.open_spider()
    return pipeline


def page(outlets: Outlets, site: str, path: str, source_language: str = "") -> Story:
    url = outlets.url(site, path)
    with urllib.request.urlopen(url, timeout=10) as response:
        body, headers = response.read(), dict(response.headers)
    html = HtmlResponse(url, body=body, headers=headers)
    return Story(url=url, source=site, source_language=source_language, html=html.text)


@pytest.mark.parametrize(
    ("site", "path"),
    [
        ("techmag", "/news/huawei-ascend-910c-ai-cluster-shipments"),
        ("techmag", "/news/amd-ryzen-16-core-x3d-review"),  # boilerplate passes the prefilter
        ("blogit", "/2026/03/09/startup-italiane-deepseek/"),  # malformed HTML
        ("blogit", "/2026/03/10/caccia-alle-h800-mercato-parallelo/"),  # windows-1252 via <meta>
    ],
)
def test_extract_stage(outlets: Outlets, site: str, path: str) -> None:
    pipeline = build(ExtractPipeline)
    out = pipeline.process_item(page(outlets, site, path))
    assert out.title and len(out.text) >= 200
    assert out.html == ""  # the raw page is not carried further
    for boilerplate in ("Trending", "Newsletter", "Leave a comment", "Iscriviti alla newsletter"):
        assert boilerplate not in out.text


def test_page_without_article_is_dropped_and_counted() -> None:
    pipeline = build(ExtractPipeline)
    story = Story(url="https://example.org/gallery", source="techmag",
                  html="<html><body><nav><a href='/t/deepseek'>DeepSeek</a></nav><div class='gallery'>"
                       "<img src='a.jpg'><img src='b.jpg'></div></body></html>")
    with pytest.raises(NoArticle):
        pipeline.process_item(story)
    assert pipeline.stats.get_value("extract/no_article") == 1
    assert pipeline.stats.get_value("source/techmag/no_article") == 1


def test_prefilter_skips_pages_without_any_watched_term() -> None:
    pipeline = build(ExtractPipeline)
    story = Story(url="https://example.org/a", source="x",
                  html="<html><body><article><p>" + "A story about phones and cameras. " * 40 + "</p></article></body></html>")
    with pytest.raises(CannotMatch):
        pipeline.process_item(story)
    assert pipeline.stats.get_value("prefilter/skipped") == 1


ENGLISH = ("Chip makers said on Monday that demand for accelerators in data centres kept growing, "
           "while memory suppliers warned that prices would stay high until the end of the year.")
ITALIAN = ("I produttori di chip hanno detto lunedì che la domanda di acceleratori nei centri dati continua "
           "a crescere, mentre i fornitori di memoria avvertono che i prezzi resteranno alti fino a fine anno.")


@pytest.mark.parametrize(
    ("text", "hint", "language", "how"),
    [
        (ENGLISH, "it", "en", "detected"),
        (ITALIAN, "en", "it", "detected"),
        ("DeepSeek R1", "it", "it", "hint"),  # too short to tell
        ("", "en", "en", "hint"),
    ],
)
def test_language_stage(text: str, hint: str, language: str, how: str) -> None:
    pipeline = build(LanguagePipeline)
    story = Story(url="https://example.org/a", source="x", source_language=hint, text=text)
    assert pipeline.process_item(story).language == language
    assert (pipeline.stats.get_value("language/from_hint") == 1) == (how == "hint")


def test_language_is_repeatable() -> None:
    mixed = ENGLISH[:60] + " " + ITALIAN[:60]
    results = {build(LanguagePipeline).process_item(Story(url="u", source="x", source_language="en",
                                                          text=mixed)).language for _ in range(5)}
    assert len(results) == 1


def test_topics_stage_records_evidence_and_drops_the_rest() -> None:
    pipeline = build(TopicsPipeline)
    story = Story(url="https://example.org/a", source="x", title="NVIDIA H800 shipments resume",
                  text="Cloud providers said their H800 clusters were back online after the outage.")
    out = pipeline.process_item(story)
    assert out.topics == ["h800"]
    assert {m["field"] for m in out.matches} == {"title", "body"}
    body = next(m for m in out.matches if m["field"] == "body")
    assert story.text[body["start"]:body["end"]].lower() == "h800"
    with pytest.raises(NoTopic):
        pipeline.process_item(Story(url="https://example.org/b", source="x", title="Logitech H800 review",
                                    text="The Logitech H800 headset is comfortable for long calls."))


def test_archive_appends_whole_lines_after_a_cut_line(tmp_path: Path) -> None:
    archive = tmp_path / "archive.jsonl"
    archive.write_text('{"story_id": "a"}\n{"story_id": "cut', encoding="utf-8")  # a killed run
    crawler = newswatch_crawler(write_config(tmp_path))
    commit, pipeline = (build_from_crawler(cls, crawler) for cls in (CommitPipeline, ArchivePipeline))
    pipeline.open_spider()
    story = Story(url="https://example.org/x", source="s", html="<html>raw</html>", title="Tïtle “quoted”",
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
    crawler = newswatch_crawler(write_config(tmp_path, sources=[source]))
    try:
        pipeline = build_from_crawler(ExtractPipeline, crawler)
        pipeline.open_spider()
        html = (f"<html><head><title>Ascend clusters | Desk</title>{head}</head><body><article>"
                f"<h1>Ascend clusters</h1>{ARTICLE_BODY}</article></body></html>")
        out = pipeline.process_item(Story(url="https://desk.example/a", source="desk", html=html,
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
    page = extract_page(html, "https://x.example/a")
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
    from crawler.extraction import parse_page

    tree = parse_page(f"<html><body><p>Seen<span {attributes}> unseen</span> text.</p></body></html>")
    assert tree.xpath("string(//p)") == ("Seen text." if hidden else "Seen unseen text.")
