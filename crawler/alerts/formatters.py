"""Alert messages: one formatter per channel kind, all built from the same story payload.

A *payload* is what the outbox stores per delivery: the story's archive record without ``text``, plus ``snippet``
(the sentence around the first match, and the next ones while it is short; plain text) and ``snippet_hit``
(``[start, end]`` of the matched term inside ``snippet``, or ``None``). See :func:`story_payload`.

Channel kinds:

* ``slack`` — Slack ``mrkdwn``. Every piece of text that came from the web goes through :func:`slack_escape`
  (``&``, ``<``, ``>``), so a headline cannot open a link or a mention such as ``<!channel>``. The delivery code
  hands the body to apprise unchanged (see ``delivery.py``): what the webhook receives is exactly this text.
* ``email`` — an HTML body (every web string HTML-escaped, the title linked, the URL also spelled out so it survives
  in the plain-text part that apprise derives from the HTML for ``multipart/alternative``) and a subject line.
* ``text`` — plain text for every other apprise scheme.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import quote

from crawler.dates import parse_iso
from crawler.text import snippet
from crawler.urls import is_http_url

SLACK = "slack"
EMAIL = "email"
TEXT = "text"

# Slack rejects section blocks whose text is longer than 3000 characters; digests stay under this.
SLACK_MAX_CHARS = 2900
# Digests list at most this many stories; the rest is counted in a closing line.
DIGEST_MAX_STORIES = 50
# An alert's snippet (crawler.text.snippet): at most this long, and a shorter one takes the next sentence(s).
SNIPPET_MAX_CHARS = 320
SNIPPET_MIN_CHARS = 120
TITLE_MAX_CHARS = 200
SUBJECT_PREFIX = "[newswatch]"

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Message:
    """A rendered message: ``title`` is the email subject / apprise title ("" for Slack), ``body`` the text."""

    kind: str
    title: str
    body: str


# ---------------------------------------------------------------------------------------------------------------------
# The payload stored in the outbox
# ---------------------------------------------------------------------------------------------------------------------


def _clean(value: Any) -> str:
    """One line of text: whitespace (newlines included) collapsed, so no web string can add lines or headers."""
    return _WS.sub(" ", str(value or "")).strip()


def _shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def story_payload(record: Mapping[str, Any]) -> dict[str, Any]:
    """The outbox payload for an archive record: every field but ``text``, plus ``snippet`` and ``snippet_hit``."""
    payload = {key: value for key, value in record.items() if key != "text"}
    matches = list(record.get("matches") or [])
    body_hit: Mapping[str, Any] = next((m for m in matches if m.get("field") == "body"), {})
    # A match in the title, or none: the lead of the text.
    cut = snippet(record.get("text") or "", body_hit.get("start"), body_hit.get("end"), SNIPPET_MAX_CHARS,
                  SNIPPET_MIN_CHARS)
    payload["snippet"] = cut.text
    payload["snippet_hit"] = list(cut.hit) if cut.hit else None
    return payload


# ---------------------------------------------------------------------------------------------------------------------
# Small pieces shared by the formatters
# ---------------------------------------------------------------------------------------------------------------------


def slack_escape(value: str) -> str:
    """Slack's control characters as entities: the only escaping Slack needs, and all it needs."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_link_url(url: Any) -> str | None:
    """*url* if it is an http(s) URL, with characters that could end a Slack link (``|``, ``<``, ``>``, spaces,
    quotes) percent-encoded; ``None`` for anything else (``javascript:``, ``mailto:`` …), which is then not linked."""
    url = str(url or "").strip()
    if not is_http_url(url):
        return None
    return quote(url, safe="/:?#[]@!$&'()*+,;=%~-._")


def published_label(value: Any) -> str:
    """``2024-05-01 09:30 UTC`` for an ISO 8601 timestamp; the cleaned raw value if it does not parse."""
    if not value:
        return "unknown"
    when = parse_iso(str(value))
    if when is None:
        return _shorten(_clean(value), 40)
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M") if (when.hour or when.minute) else when.strftime("%Y-%m-%d")
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _authors(payload: Mapping[str, Any]) -> str:
    """``by A, B`` from the payload's author list ("" when there is none)."""
    authors = payload.get("authors")
    if not isinstance(authors, list):
        authors = [authors] if authors else []
    names = [_clean(a) for a in authors if _clean(a)]
    return _shorten("by " + ", ".join(names), 120) if names else ""


def _title(payload: Mapping[str, Any]) -> str:
    return _shorten(_clean(payload.get("title")) or _clean(payload.get("url")) or "(untitled)", TITLE_MAX_CHARS)


def _topics(payload: Mapping[str, Any], wanted: Sequence[str] | None = None) -> list[str]:
    topics = [_clean(t) for t in payload.get("topics") or []]
    if wanted is not None:
        topics = [t for t in topics if t in wanted] or topics
    return topics


def _snippet_parts(payload: Mapping[str, Any]) -> tuple[str, str, str]:
    """The snippet split into (before, hit, after); hit is "" when there is none."""
    snippet = str(payload.get("snippet") or "")
    hit = payload.get("snippet_hit")
    if isinstance(hit, (list, tuple)) and len(hit) == 2 and 0 <= hit[0] < hit[1] <= len(snippet):
        return snippet[: hit[0]], snippet[hit[0] : hit[1]], snippet[hit[1] :]
    return snippet, "", ""


def _facts(payload: Mapping[str, Any]) -> tuple[str, str, str]:
    source = _clean(payload.get("source")) or "unknown source"
    language = _clean(payload.get("language")) or "?"
    return source, language, published_label(payload.get("published"))


def _same_as(payload: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """("Same story as: <title> — <outlet> (EN), <time>", its link) for a later language's copy of a story."""
    same = payload.get("same_as")
    if not isinstance(same, Mapping):
        return None
    title = _shorten(_clean(same.get("title")) or _clean(same.get("url")) or "(untitled)", TITLE_MAX_CHARS)
    outlet = _clean(same.get("source")) or "unknown source"
    language = (_clean(same.get("language")) or "?").upper()
    return (f"Same story as: {title} — {outlet} ({language}), {published_label(same.get('at'))}",
            safe_link_url(same.get("url")))


def digest_groups(payloads: Iterable[Mapping[str, Any]], wanted: Sequence[str] | None = None
                  ) -> tuple[dict[str, list[Mapping[str, Any]]], dict[int, list[Mapping[str, Any]]]]:
    """A digest's entries: each cluster's first copy grouped under its first topic (:func:`group_by_topic`),
    and, by ``id()`` of that first copy, the cluster's other copies in the digest."""
    leads: list[Mapping[str, Any]] = []
    copies: dict[int, list[Mapping[str, Any]]] = {}
    lead_of: dict[str, Mapping[str, Any]] = {}
    for payload in payloads:
        cluster = str(payload.get("story_cluster") or payload.get("story_id") or id(payload))
        if cluster in lead_of:
            copies[id(lead_of[cluster])].append(payload)
        else:
            lead_of[cluster] = payload
            leads.append(payload)
            copies[id(payload)] = []
    return group_by_topic(leads, wanted), copies


def also_covered(copies: Sequence[Mapping[str, Any]]) -> str:
    """"also covered by: hdblog (IT), tomshw-it (IT)" ("" without copies)."""
    names = list(dict.fromkeys(f"{_clean(c.get('source')) or 'unknown source'} "
                               f"({(_clean(c.get('language')) or '?').upper()})" for c in copies))
    return "also covered by: " + ", ".join(names) if names else ""


def group_by_topic(
    payloads: Iterable[Mapping[str, Any]], wanted: Sequence[str] | None = None
) -> dict[str, list[Mapping[str, Any]]]:
    """Stories grouped under their first topic (restricted to *wanted* when given); order of first appearance."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for payload in payloads:
        topics = _topics(payload, wanted) or ["other"]
        groups.setdefault(topics[0], []).append(payload)
    return groups


# ---------------------------------------------------------------------------------------------------------------------
# Slack
# ---------------------------------------------------------------------------------------------------------------------


def _slack_link(payload: Mapping[str, Any]) -> str:
    title = slack_escape(_title(payload))
    url = safe_link_url(payload.get("url"))
    return f"<{slack_escape(url)}|{title}>" if url else title


def slack_story(payload: Mapping[str, Any], wanted: Sequence[str] | None = None) -> Message:
    source, language, published = _facts(payload)
    topics = ", ".join(_topics(payload, wanted)) or "—"
    lines = [
        f"*{_slack_link(payload)}*",
        " · ".join(slack_escape(part) for part in (source, language, f"published {published}", _authors(payload))
                   if part),
        f"Topics: {slack_escape(topics)}",
    ]
    before, hit, after = _snippet_parts(payload)
    if before or hit or after:
        # Asterisks inside the term would close the bold early; the term is shown without them.
        bold = f"*{slack_escape(hit.replace('*', ''))}*" if hit.strip("* ") else slack_escape(hit)
        lines.append(f"> {slack_escape(before)}{bold}{slack_escape(after)}")
    same = _same_as(payload)
    if same:
        text, url = same
        lines.append(f"<{slack_escape(url)}|{slack_escape(text)}>" if url else slack_escape(text))
    return Message(SLACK, "", "\n".join(lines))


def slack_digest(payloads: Sequence[Mapping[str, Any]], heading: str, wanted: Sequence[str] | None = None) -> Message:
    lines = [f"*{slack_escape(heading)}*"]
    size = len(lines[0])
    shown = 0
    groups, copies_of = digest_groups(payloads, wanted)
    for topic, items in groups.items():
        header = f"\n*{slack_escape(topic)}* ({len(items)})"
        if size + len(header) > SLACK_MAX_CHARS or shown >= DIGEST_MAX_STORIES:
            break
        lines.append(header)
        size += len(header) + 1
        for payload in items:
            source, _language, published = _facts(payload)
            also = also_covered(copies_of.get(id(payload), []))
            line = f"• {_slack_link(payload)} — {slack_escape(source)}, {slack_escape(published)}" + (
                f" ({slack_escape(also)})" if also else "")
            if size + len(line) + 1 > SLACK_MAX_CHARS or shown >= DIGEST_MAX_STORIES:
                break
            lines.append(line)
            size += len(line) + 1
            shown += 1 + len(copies_of.get(id(payload), []))
    if shown < len(payloads):
        lines.append(f"\n…and {len(payloads) - shown} more (see the archive).")
    return Message(SLACK, "", "\n".join(lines))


# ---------------------------------------------------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------------------------------------------------


def _h(value: str) -> str:
    return html.escape(value, quote=True)


def _email_link(payload: Mapping[str, Any]) -> str:
    title = _h(_title(payload))
    url = safe_link_url(payload.get("url"))
    return f'<a href="{_h(url)}">{title}</a>' if url else title


def email_subject(topics: Sequence[str], what: str) -> str:
    label = ", ".join(topics) if topics else "news"
    return _shorten(_clean(f"{SUBJECT_PREFIX} {label}: {what}"), 250)


def email_story(payload: Mapping[str, Any], wanted: Sequence[str] | None = None) -> Message:
    source, language, published = _facts(payload)
    topics = _topics(payload, wanted)
    url = safe_link_url(payload.get("url"))
    before, hit, after = _snippet_parts(payload)
    parts = [
        f"<h2>{_email_link(payload)}</h2>",
        f"<p>Source: {_h(source)} ({_h(language)})<br>Published: {_h(published)}<br>"
        + (f"Authors: {_h(_authors(payload)[3:])}<br>" if _authors(payload) else "")
        + f"Topics: {_h(', '.join(topics) or '—')}</p>",
    ]
    if before or hit or after:
        parts.append(f"<blockquote>{_h(before)}<b>{_h(hit)}</b>{_h(after)}</blockquote>" if hit else
                     f"<blockquote>{_h(before)}</blockquote>")
    if url:
        # Spelled out too: the plain-text alternative (derived from this HTML by apprise) keeps the address.
        parts.append(f'<p>Link: <a href="{_h(url)}">{_h(url)}</a></p>')
    same = _same_as(payload)
    if same:
        text, same_url = same
        parts.append(f'<p><a href="{_h(same_url)}">{_h(text)}</a><br>{_h(same_url)}</p>' if same_url
                     else f"<p>{_h(text)}</p>")
    return Message(EMAIL, email_subject(topics, _title(payload)), "\n".join(parts))


def email_digest(payloads: Sequence[Mapping[str, Any]], heading: str, wanted: Sequence[str] | None = None) -> Message:
    groups, copies_of = digest_groups(payloads, wanted)
    parts = [f"<h2>{_h(heading)}</h2>"]
    shown = 0
    for topic, items in groups.items():
        if shown >= DIGEST_MAX_STORIES:
            break
        parts.append(f"<h3>{_h(topic)} ({len(items)})</h3>")
        parts.append("<ul>")
        for payload in items:
            if shown >= DIGEST_MAX_STORIES:
                break
            source, language, published = _facts(payload)
            url = safe_link_url(payload.get("url"))
            link = f'<br><a href="{_h(url)}">{_h(url)}</a>' if url else ""
            copies = copies_of.get(id(payload), [])
            also = f"<br>{_h(also_covered(copies))}" if copies else ""
            parts.append(
                f"<li>{_email_link(payload)} — {_h(source)} ({_h(language)}), {_h(published)}{link}{also}</li>"
            )
            shown += 1 + len(copies)
        parts.append("</ul>")
    if shown < len(payloads):
        parts.append(f"<p>…and {len(payloads) - shown} more (see the archive).</p>")
    subject = email_subject(list(groups), heading)
    return Message(EMAIL, subject, "\n".join(parts))


# ---------------------------------------------------------------------------------------------------------------------
# Plain text (every other apprise scheme)
# ---------------------------------------------------------------------------------------------------------------------


def text_story(payload: Mapping[str, Any], wanted: Sequence[str] | None = None) -> Message:
    source, language, published = _facts(payload)
    topics = _topics(payload, wanted)
    lines = [
        _title(payload),
        _clean(payload.get("url")),
        f"{source} ({language}), published {published}" + (f", {_authors(payload)}" if _authors(payload) else ""),
        f"Topics: {', '.join(topics) or '—'}",
    ]
    snippet = "".join(_snippet_parts(payload))
    if snippet:
        lines.append(snippet)
    same = _same_as(payload)
    if same:
        lines.append(same[0] + (f"\n{same[1]}" if same[1] else ""))
    return Message(TEXT, email_subject(topics, _title(payload)), "\n".join(lines))


def text_digest(payloads: Sequence[Mapping[str, Any]], heading: str, wanted: Sequence[str] | None = None) -> Message:
    groups, copies_of = digest_groups(payloads, wanted)
    lines = [heading]
    shown = 0
    for topic, items in groups.items():
        if shown >= DIGEST_MAX_STORIES:
            break
        lines.append(f"\n{topic} ({len(items)})")
        for payload in items:
            if shown >= DIGEST_MAX_STORIES:
                break
            source, _language, published = _facts(payload)
            copies = copies_of.get(id(payload), [])
            also = f"\n  {also_covered(copies)}" if copies else ""
            lines.append(f"- {_title(payload)} — {source}, {published}\n  {_clean(payload.get('url'))}{also}")
            shown += 1 + len(copies)
    if shown < len(payloads):
        lines.append(f"\n…and {len(payloads) - shown} more (see the archive).")
    return Message(TEXT, email_subject(list(groups), heading), "\n".join(lines))


# ---------------------------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------------------------

_STORY = {SLACK: slack_story, EMAIL: email_story, TEXT: text_story}
_DIGEST = {SLACK: slack_digest, EMAIL: email_digest, TEXT: text_digest}


def format_story(kind: str, payload: Mapping[str, Any], wanted: Sequence[str] | None = None) -> Message:
    """One story as one message for a channel *kind*; *wanted* = the target's topics (None = all)."""
    return _STORY[kind](payload, wanted)


def digest_heading(count: int) -> str:
    return f"newswatch: {count} new {'story' if count == 1 else 'stories'}"


def format_digest(
    kind: str, payloads: Sequence[Mapping[str, Any]], heading: str | None = None, wanted: Sequence[str] | None = None
) -> Message:
    """Several stories as one message, a section per topic."""
    return _DIGEST[kind](payloads, heading or digest_heading(len(payloads)), wanted)


def format_text_block(kind: str, title: str, lines: Sequence[str]) -> Message:
    """A message from our own (non-web, but still escaped) title and lines — used for health alerts."""
    if kind == SLACK:
        body = "\n".join([f"*{slack_escape(title)}*", *(slack_escape(line) for line in lines)])
        return Message(SLACK, "", body)
    if kind == EMAIL:
        items = "".join(f"<li>{_h(line)}</li>" for line in lines)
        return Message(EMAIL, _shorten(_clean(f"{SUBJECT_PREFIX} {title}"), 250), f"<h2>{_h(title)}</h2><ul>{items}</ul>")
    return Message(TEXT, _shorten(_clean(f"{SUBJECT_PREFIX} {title}"), 250), "\n".join(lines))
