"""A loopback outlet for the crawl benchmark: the AEB pages under distinct URLs, one sitemap.

``python -m benchmarks.outlet --pages N --variant plain|technav`` serves ``/sitemap.xml`` listing N
article URLs; article *i* is AEB page ``i % 181``. A share of the articles (``--matching``, default 5 %)
get a paragraph on DeepSeek running on Huawei's Ascend chips inside the article body, so they match the
default topics. The ``technav`` variant puts a tech outlet's navigation and "trending" box, naming Nvidia,
DeepSeek and Huawei's Ascend chips, on every page: the raw HTML of every page then holds watched terms.
The server prints its port on stdout and serves until killed; pages come from memory (Twisted, one
thread), so it costs both crawlers the same little CPU. ``--delay S`` answers each article after S
seconds (without blocking the others), as a real, distant server does; ``/__times__`` tells how many
articles were served and when the first and the last were asked for.
"""

from __future__ import annotations

import argparse
import gzip
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

AEB = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "aeb"

MATCHING_PARAGRAPH = (
    "<p>DeepSeek said on Tuesday that its R1 model now runs inference on Huawei's Ascend 910C chips, "
    "and that a cluster of CloudMatrix 384 systems serves the model to Chinese customers.</p>")
TECH_NAV = (
    '<header class="site-header"><nav class="main-menu"><ul><li><a href="/gpus">GPUs</a></li>'
    '<li><a href="/nvidia">Nvidia</a></li><li><a href="/ai/deepseek">DeepSeek</a></li>'
    '<li><a href="/huawei">Huawei Ascend 910C</a></li><li><a href="/cpus">CPUs</a></li></ul></nav></header>'
    '<aside class="trending"><h3>Trending</h3><ul>'
    '<li><a href="/t/1">DeepSeek R2 benchmarks leak ahead of launch</a></li>'
    '<li><a href="/t/2">Nvidia H800 stock runs dry in Shenzhen</a></li>'
    '<li><a href="/t/3">Huawei ships CloudMatrix 384 to a second data centre</a></li></ul></aside>')
TECH_FOOTER = ('<footer class="site-footer"><a href="/tag/deepseek">DeepSeek</a> · '
               '<a href="/tag/nvidia">Nvidia</a> · <a href="/tag/ascend">Huawei Ascend 910C</a></footer>')

_BODY_OPEN = re.compile(rb"<body\b[^>]*>", re.I)
_BODY_CLOSE = re.compile(rb"</body\s*>", re.I)
_PARAGRAPH_END = re.compile(rb"</p\s*>", re.I)


def aeb_pages() -> list[bytes]:
    files = sorted((AEB / "html").glob("*.html.gz"))
    if not files:
        raise SystemExit(f"no AEB pages under {AEB}: the crawl benchmark needs ../shared/benchmarks/aeb")
    return [gzip.decompress(f.read_bytes()) for f in files]


def matching(index: int, share: float) -> bool:
    """Whether article *index* carries the matching paragraph (evenly spread, *share* of all)."""
    return int((index + 1) * share) > int(index * share)


def build(pages: int, variant: str, share: float) -> dict[bytes, bytes]:
    base = aeb_pages()
    site: dict[bytes, bytes] = {}
    urls = []
    for i in range(pages):
        html = base[i % len(base)]
        if matching(i, share):
            # After the middle paragraph: inside the article body on most layouts (`make bench` counts the matches).
            ends = list(_PARAGRAPH_END.finditer(html))
            at = ends[len(ends) // 2].end() if ends else len(html)
            html = html[:at] + MATCHING_PARAGRAPH.encode() + html[at:]
        if variant == "technav":
            opened = _BODY_OPEN.search(html)
            at = opened.end() if opened else 0
            html = html[:at] + TECH_NAV.encode() + html[at:]
            closes = list(_BODY_CLOSE.finditer(html))
            closed = closes[-1] if closes else None
            at = closed.start() if closed else len(html)
            html = html[:at] + TECH_FOOTER.encode() + html[at:]
        path = f"/article/{i:06d}.html"
        urls.append(path)
        site[path.encode()] = html
    site[b"/__urls__"] = "\n".join(urls).encode()
    return site


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--variant", choices=("plain", "technav"), default="plain")
    parser.add_argument("--matching", type=float, default=0.05)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    site = build(args.pages, args.variant, args.matching)

    import json
    import time

    from twisted.internet import reactor as twisted_reactor
    from twisted.web import resource, server

    times: list[float] = []
    flight = {"now": 0, "max": 0}

    reactor: Any = twisted_reactor  # the module stands for the running reactor; its type says too little

    class Outlet(resource.Resource):
        isLeaf = True
        base = ""

        def render_GET(self, request: Any) -> bytes | int:  # noqa: N802 (Twisted's name; NOT_DONE_YET is an int)
            path = request.path
            if path == b"/sitemap.xml":
                locs = "".join(f"<url><loc>{escape(self.base + p)}</loc></url>"
                               for p in site[b"/__urls__"].decode().splitlines())
                request.setHeader(b"content-type", b"application/xml")
                return ('<?xml version="1.0" encoding="UTF-8"?>'
                        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>').encode()
            if path == b"/__times__":
                return json.dumps({"articles": len(times), "first": min(times, default=0),
                                   "last": max(times, default=0), "max_in_flight": flight["max"]}).encode()
            body = site.get(path)
            if body is None or path == b"/__urls__":
                request.setResponseCode(404)
                return b"not found"
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            times.append(time.time())
            if args.delay <= 0:
                return body

            flight["now"] += 1
            flight["max"] = max(flight["max"], flight["now"])

            def answer() -> None:
                flight["now"] -= 1
                if not request.finished and not request._disconnected:
                    request.write(body)
                    request.finish()

            reactor.callLater(args.delay, answer)
            return server.NOT_DONE_YET

    outlet = Outlet()
    port = reactor.listenTCP(0, server.Site(outlet, logPath=None), interface="127.0.0.1")
    outlet.base = f"http://127.0.0.1:{port.getHost().port}"
    print(port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
