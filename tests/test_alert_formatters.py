"""Alert message formatting: Slack mrkdwn escaping, email HTML, plain text, snippets, digests."""

from __future__ import annotations

import re

import pytest

from crawler.alerts.formatters import (
    EMAIL,
    SLACK,
    TEXT,
    format_digest,
    format_story,
    published_label,
    safe_link_url,
    slack_escape,
    story_payload,
)

TEXT_BODY = (
    "Chips are in short supply this year. "
    "Huawei says its Ascend 910C accelerators now ship in volume to Chinese cloud providers. "
    "Analysts expect more. Nothing else happened."
)


def record(**overrides: object) -> dict:
    start = TEXT_BODY.index("Ascend")
    base = {
        "story_id": "0123456789abcdef",
        "url": "https://news.example/huawei-ascend?id=1&lang=en",
        "source": "hdblog",
        "title": "Huawei ships Ascend 910C",
        "published": "2024-05-01T09:30:00+02:00",
        "language": "en",
        "topics": ["ascend"],
        "matches": [
            {"topic": "ascend", "term": "Ascend", "field": "body", "start": start, "end": start + 6, "snippet": ""}
        ],
        "text": TEXT_BODY,
        "authors": [],
        "published_precision": "second",
        "modified": None,
        "fetched_at": "2024-05-01T10:00:00+00:00",
        "duplicate_of": None,
        "duplicate_kind": None,
    }
    base.update(overrides)
    return base


def test_payload_drops_text_and_adds_a_snippet_around_the_first_body_match() -> None:
    payload = story_payload(record())
    assert "text" not in payload
    assert payload["story_id"] == "0123456789abcdef"
    start, end = payload["snippet_hit"]
    assert payload["snippet"][start:end] == "Ascend"
    # The sentence with the match, and the next one because it is short.
    assert payload["snippet"].startswith("Huawei says its Ascend")
    assert "Analysts expect more." in payload["snippet"]
    assert "Chips are in short supply" not in payload["snippet"]


@pytest.mark.parametrize(
    ("text", "start", "end", "expect_hit"),
    [
        ("word " * 400 + "Ascend chips " + "word " * 400, 2000, 2006, True),  # no sentence ends: trimmed around hit
        ("Short. Lead sentence of the article that is long enough to count as a lead here. More.", None, None, False),
        ("", None, None, False),
        ("Ascend at the very start. Then more.", 0, 6, True),
    ],
)
def test_snippet_is_bounded_and_keeps_the_hit(text: str, start: int | None, end: int | None, expect_hit: bool) -> None:
    matches = [] if start is None else [{"topic": "ascend", "term": "Ascend", "field": "body", "start": start,
                                         "end": end, "snippet": ""}]
    payload = story_payload(record(text=text, matches=matches))
    snippet, hit = payload["snippet"], payload["snippet_hit"]
    assert len(snippet) <= 320
    assert (hit is not None) == expect_hit
    if hit:
        assert snippet[hit[0] : hit[1]] == "Ascend"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("<@U123> &amp;", "&lt;@U123&gt; &amp;amp;"),
        ("plain", "plain"),
    ],
)
def test_slack_escape(raw: str, escaped: str) -> None:
    assert slack_escape(raw) == escaped


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/a?b=1&c=2", "https://news.example/a?b=1&c=2"),
        ("https://news.example/a|b>c<d e", "https://news.example/a%7Cb%3Ec%3Cd%20e"),
        ("javascript:alert(1)", None),
        ("mailto:someone@example.org", None),
        ("", None),
    ],
)
def test_safe_link_url(url: str, expected: str | None) -> None:
    assert safe_link_url(url) == expected


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("2024-05-01T09:30:00+02:00", "2024-05-01 07:30 UTC"),
        ("2024-05-01T09:30:00Z", "2024-05-01 09:30 UTC"),
        ("2024-05-01", "2024-05-01"),
        (None, "unknown"),
        ("last Tuesday\nBcc: x@example.org", "last Tuesday Bcc: x@example.org"),
    ],
)
def test_published_label(value: str | None, label: str) -> None:
    assert published_label(value) == label


HOSTILE_TITLE = "Ascend & H800 <!channel> <https://evil.example|click> <@U123>"


def test_slack_story_escapes_every_web_string_and_links_only_the_story() -> None:
    payload = story_payload(record(title=HOSTILE_TITLE, source="<!here> & co"))
    body = format_story(SLACK, payload).body
    # The only Slack control sequences are our own link to the story.
    assert re.findall(r"<([^>]*)>", body) == ["https://news.example/huawei-ascend?id=1&amp;lang=en|" + slack_escape(HOSTILE_TITLE)]
    assert "&lt;!channel&gt;" in body and "&lt;!here&gt; &amp; co" in body
    assert "*Ascend*" in body  # the matched term in bold
    assert "published 2024-05-01 07:30 UTC" in body
    assert "Topics: ascend" in body


@pytest.mark.parametrize(
    ("wanted", "shown"),
    [(None, "Topics: ascend, deepseek"), (["deepseek"], "Topics: deepseek"), (["h800"], "Topics: ascend, deepseek")],
)
def test_story_lists_the_topics_the_target_asked_for(wanted: list[str] | None, shown: str) -> None:
    payload = story_payload(record(topics=["ascend", "deepseek"]))
    assert shown in format_story(SLACK, payload, wanted).body


def test_email_story_escapes_html_links_title_and_spells_out_the_url() -> None:
    payload = story_payload(record(title=HOSTILE_TITLE + " <script>x</script>"))
    message = format_story(EMAIL, payload)
    assert message.title == "[newswatch] ascend: " + HOSTILE_TITLE + " <script>x</script>"
    assert "<script>" not in message.body
    assert '<a href="https://news.example/huawei-ascend?id=1&amp;lang=en">Ascend &amp; H800 &lt;!channel&gt;' in message.body
    assert "<b>Ascend</b>" in message.body
    assert "Link: <a" in message.body


def test_email_subject_is_one_line_whatever_the_title() -> None:
    message = format_story(EMAIL, story_payload(record(title="Line one\r\nBcc: victim@example.org")))
    assert "\n" not in message.title and "\r" not in message.title


def test_text_story_is_plain() -> None:
    message = format_story(TEXT, story_payload(record()))
    assert message.body.splitlines()[:2] == ["Huawei ships Ascend 910C", "https://news.example/huawei-ascend?id=1&lang=en"]
    assert "<" not in message.body and "*" not in message.body


@pytest.mark.parametrize("kind", [SLACK, EMAIL, TEXT])
def test_digest_has_a_section_per_topic(kind: str) -> None:
    payloads = [
        story_payload(record(story_id=f"s{i}", url=f"https://news.example/{i}", title=f"Story {i}", topics=topics))
        for i, topics in enumerate([["ascend"], ["deepseek"], ["ascend", "deepseek"], ["h800"]])
    ]
    body = format_digest(kind, payloads).body
    sections = {
        SLACK: ["*ascend* (2)", "*deepseek* (1)", "*h800* (1)"],
        EMAIL: ["<h3>ascend (2)</h3>", "<h3>deepseek (1)</h3>", "<h3>h800 (1)</h3>"],
        TEXT: ["ascend (2)", "deepseek (1)", "h800 (1)"],
    }[kind]
    positions = [body.index(section) for section in sections]
    assert positions == sorted(positions)
    for i in range(4):
        assert body.count(f"https://news.example/{i}") >= 1
    assert body.count("Story 2") == 1  # a story with two topics is listed once


def test_slack_digest_stays_under_slacks_block_limit() -> None:
    payloads = [
        story_payload(record(story_id=f"s{i}", url=f"https://news.example/{i}", title="T" * 150))
        for i in range(120)
    ]
    body = format_digest(SLACK, payloads).body
    assert len(body) < 3000
    assert re.search(r"…and \d+ more", body)


@pytest.mark.parametrize(("authors", "slack", "email"), [
    (["Mario Rossi", "Anna Bianchi"], " · by Mario Rossi, Anna Bianchi", "Authors: Mario Rossi, Anna Bianchi<br>"),
    ([], None, None),
    ("Redazione <b>", " · by Redazione &lt;b&gt;", "Authors: Redazione &lt;b&gt;<br>"),  # an old record's string
])
def test_stories_name_their_authors(authors: object, slack: str | None, email: str | None) -> None:
    payload = story_payload(record(authors=authors))
    slack_body = format_story(SLACK, payload).body
    email_body = format_story(EMAIL, payload).body
    if slack is None:
        assert " · by " not in slack_body and "Authors:" not in email_body
    else:
        assert slack in slack_body and email in email_body
