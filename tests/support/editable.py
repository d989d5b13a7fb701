"""A loopback outlet whose articles a test edits between runs: an Atom feed with each entry's
``<published>`` and ``<updated>``, and a page per entry with its JSON-LD ``datePublished``/``dateModified``.
Bodies are the sample outlets' own."""

from __future__ import annotations

import html
import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BODIES = Path(__file__).resolve().parent.parent / "fixtures" / "sites" / "techmag" / "bodies"


@dataclass
class Entry:
    path: str
    title: str
    body: str  # file name in BODIES
    published: str  # ISO 8601
    updated: str


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        outlet = self.server.outlet
        with outlet.lock:
            outlet.fetches[self.path] += 1
            entries = {e.path: e for e in outlet.entries}
        if self.path == "/robots.txt":
            return self._send(200, "text/plain", b"User-agent: *\nDisallow:\n")
        if self.path == "/atom.xml":
            return self._send(200, "application/atom+xml", outlet.feed().encode())
        entry = entries.get(self.path)
        if entry is None:
            return self._send(404, "text/plain", b"not found")
        ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": entry.title,
                         "datePublished": entry.published, "dateModified": entry.updated,
                         "author": {"@type": "Person", "name": "Anna Bianchi"}})
        text = (BODIES / entry.body).read_text(encoding="utf-8")
        page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(entry.title)} - "
                f"Editable</title><script type=\"application/ld+json\">{ld}</script></head><body><article>"
                f"<h1>{html.escape(entry.title)}</h1>{text}</article></body></html>")
        self._send(200, "text/html; charset=utf-8", page.encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    outlet: "EditableOutlet"


class EditableOutlet:
    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.fetches: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.outlet = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "EditableOutlet":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

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

    def clear(self) -> None:
        with self.lock:
            self.fetches.clear()
