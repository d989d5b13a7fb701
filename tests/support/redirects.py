"""A loopback outlet whose feed links all redirect, the way real feeds do: a missing trailing slash, a
moved path, a two-hop chain, a feed-proxy link. Article bodies are the sample outlets' own."""

from __future__ import annotations

import html

from tests.support.loopback import BODIES, Handler, LoopbackOutlet

# feed link -> (redirect chain..., final article path), and the body served at the final path
LINKS: dict[str, tuple[list[str], str]] = {
    "/news/ascend-910c-clusters": (["/news/ascend-910c-clusters/"], "ascend-910c-cluster.html"),
    "/news/old-deepseek-r1": (["/news/deepseek-r1-open-weights"], "deepseek-r1.html"),
    "/c/hop1": (["/c/hop2", "/news/h800-export-rules"], "nvidia-h800-export.html"),
    "/go?id=4": (["/news/ascend-deepseek-inference"], "ascend-deepseek-inference.html"),
}


class RedirectingOutlet(LoopbackOutlet):
    def serve(self, request: Handler) -> None:
        if request.path == "/feed.xml":
            return request.send(200, "application/rss+xml", self.feed().encode())
        for link, (chain, body) in LINKS.items():
            hops = [link, *chain]
            if request.path in hops[:-1]:
                nxt = hops[hops.index(request.path) + 1]
                status = 301 if request.path.endswith("1") or "/" == nxt[-1] else 302
                return request.send(status, "text/plain", b"", [("Location", self.url(nxt))])
            if request.path == hops[-1]:
                text = (BODIES / body).read_text(encoding="utf-8")
                page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(body)}</title>"
                        f"</head><body><article><h1>{html.escape(body)}</h1>{text}</article></body></html>")
                return request.send(200, "text/html; charset=utf-8", page.encode())
        request.send(404, "text/plain", b"not found")

    def feed(self) -> str:
        items = "".join(f"<item><title>{html.escape(link)}</title><link>{html.escape(self.url(link))}</link>"
                        f"<pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>" for link in LINKS)
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>hops</title>{items}</channel></rss>'

    def final_paths(self) -> list[str]:
        return [chain[-1] for chain, _body in LINKS.values()]

    def article_fetches(self) -> dict[str, int]:
        finals = set(self.final_paths())
        with self.lock:
            return {path: n for path, n in self.fetches.items() if path in finals}

    def link_fetches(self) -> dict[str, int]:
        hops = {hop for link, (chain, _b) in LINKS.items() for hop in [link, *chain[:-1]]}
        with self.lock:
            return {path: n for path, n in self.fetches.items() if path in hops}
