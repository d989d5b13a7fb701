"""A loopback outlet whose feed links all redirect, the way real feeds do: a missing trailing slash, a
moved path, a two-hop chain, a feed-proxy link. Article bodies are the sample outlets' own."""

from __future__ import annotations

import html
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BODIES = Path(__file__).resolve().parent.parent / "fixtures" / "sites" / "techmag" / "bodies"

# feed link -> (redirect chain..., final article path), and the body served at the final path
LINKS: dict[str, tuple[list[str], str]] = {
    "/news/ascend-910c-clusters": (["/news/ascend-910c-clusters/"], "ascend-910c-cluster.html"),
    "/news/old-deepseek-r1": (["/news/deepseek-r1-open-weights"], "deepseek-r1.html"),
    "/c/hop1": (["/c/hop2", "/news/h800-export-rules"], "nvidia-h800-export.html"),
    "/go?id=4": (["/news/ascend-deepseek-inference"], "ascend-deepseek-inference.html"),
}


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        outlet = self.server.outlet
        with outlet._lock:
            outlet.fetches[self.path] += 1
        if self.path == "/robots.txt":
            return self._send(200, "text/plain", b"User-agent: *\nDisallow:\n")
        if self.path == "/feed.xml":
            return self._send(200, "application/rss+xml", outlet.feed().encode())
        for link, (chain, body) in LINKS.items():
            hops = [link, *chain]
            if self.path in hops[:-1]:
                nxt = hops[hops.index(self.path) + 1]
                self.send_response(301 if self.path.endswith("1") or "/" == nxt[-1] else 302)
                self.send_header("Location", outlet.url(nxt))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == hops[-1]:
                text = (BODIES / body).read_text(encoding="utf-8")
                page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(body)}</title>"
                        f"</head><body><article><h1>{html.escape(body)}</h1>{text}</article></body></html>")
                return self._send(200, "text/html; charset=utf-8", page.encode())
        self._send(404, "text/plain", b"not found")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    outlet: "RedirectingOutlet"


class RedirectingOutlet:
    def __init__(self) -> None:
        self.fetches: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.outlet = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "RedirectingOutlet":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def feed(self) -> str:
        items = "".join(f"<item><title>{html.escape(link)}</title><link>{html.escape(self.url(link))}</link>"
                        f"<pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>" for link in LINKS)
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>hops</title>{items}</channel></rss>'

    def final_paths(self) -> list[str]:
        return [chain[-1] for chain, _body in LINKS.values()]

    def article_fetches(self) -> dict[str, int]:
        finals = set(self.final_paths())
        with self._lock:
            return {path: n for path, n in self.fetches.items() if path in finals}

    def link_fetches(self) -> dict[str, int]:
        hops = {hop for link, (chain, _b) in LINKS.items() for hop in [link, *chain[:-1]]}
        with self._lock:
            return {path: n for path, n in self.fetches.items() if path in hops}

    def clear(self) -> None:
        with self._lock:
            self.fetches.clear()
