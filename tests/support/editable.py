"""A loopback outlet whose articles a test edits between runs: an Atom feed with each entry's
``<published>`` and ``<updated>``, and a page per entry with its JSON-LD ``datePublished``/``dateModified``.
Bodies are the sample outlets' own."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from tests.support.loopback import BODIES, Handler, LoopbackOutlet


@dataclass
class Entry:
    path: str
    title: str
    body: str  # file name in BODIES
    published: str  # ISO 8601
    updated: str


class EditableOutlet(LoopbackOutlet):
    def __init__(self, entries: list[Entry]) -> None:
        super().__init__()
        self.entries = entries

    def serve(self, request: Handler) -> None:
        if request.path == "/atom.xml":
            return request.send(200, "application/atom+xml", self.feed().encode())
        with self.lock:
            entry = next((e for e in self.entries if e.path == request.path), None)
        if entry is None:
            return request.send(404, "text/plain", b"not found")
        ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": entry.title,
                         "datePublished": entry.published, "dateModified": entry.updated,
                         "author": {"@type": "Person", "name": "Anna Bianchi"}})
        text = (BODIES / entry.body).read_text(encoding="utf-8")
        page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(entry.title)} - "
                f"Editable</title><script type=\"application/ld+json\">{ld}</script></head><body><article>"
                f"<h1>{html.escape(entry.title)}</h1>{text}</article></body></html>")
        request.send(200, "text/html; charset=utf-8", page.encode())

    def edit(self, path: str, **changes: str) -> None:
        with self.lock:
            entry = next(e for e in self.entries if e.path == path)
            for key, value in changes.items():
                setattr(entry, key, value)

    def feed(self) -> str:
        with self.lock:
            items = "".join(
                f"<entry><title>{html.escape(e.title)}</title><link href=\"{html.escape(self.url(e.path))}\"/>"
                f"<id>{html.escape(self.url(e.path))}</id><published>{e.published}</published>"
                f"<updated>{e.updated}</updated></entry>" for e in self.entries)
        return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>editable</title><id>{self.url('/')}</id><updated>2026-03-02T10:00:00Z</updated>"
                f"{items}</feed>")

    def article_fetches(self) -> dict[str, int]:
        with self.lock:
            paths = {e.path for e in self.entries}
            return {path: n for path, n in self.fetches.items() if path in paths}
