"""The sample outlets (samples/) serve what their manifests and expected.yaml promise."""

from __future__ import annotations

import email.utils
import http.client
import re
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import pytest
import trafilatura
from w3lib.encoding import html_to_unicode

from crawler.language import detect_language
from crawler.settings import LANGUAGE_MIN_TEXT_CHARS
from samples.server import SITE_NAMES, Outlets, fill, load_expected, load_site

EXPECTED = load_expected()
ARTICLES = EXPECTED["articles"]
NS = {
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
# Text that appears only in page boilerplate (nav, trending, related, newsletter, comments, tag
# clouds, ads). None of it may survive extraction.
BOILERPLATE = [
    "Trending", "DeepSeek V4 rumours", "resurface on the grey market", "Related articles", "Where did all the NVIDIA H800",
    "AI Chips newsletter", "Sign me up", "pixel_pusher_92", "Wake me up when someone posts", "Popular tags",
    "We and our 312 partners", "Accept all", "Articoli recenti", "Giulio73", "altro che H800", "Lascia un commento",
    "Pubblicato il", "Le prime prestazioni reali", "I più letti", "robyIT", "Commenti dei lettori",
    "More from TechWire", "TechWire Daily", "ferrous", "Most read", "Syndicated content", "P.IVA",
]
EXTRACTABLE = [a for a in ARTICLES if a["outcome"] != "not_followed"]


def _id(entry: dict) -> str:
    return f"{entry['site']}{entry['path']}"


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request, no redirects followed: (status, headers, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def extract(outlets: Outlets, site: str, path: str) -> str:
    status, headers, body = get(outlets.url(site, path))
    assert status == 200
    # Decode as Scrapy's HtmlResponse does: HTTP header, then <meta>, then BOM/guessing.
    _encoding, html = html_to_unicode(headers.get("Content-Type"), body)
    return trafilatura.extract(html, include_comments=False, favor_precision=True) or ""


def shingles(text: str, k: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


# -- templating ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("${base}/news/x", {"base": "http://h:1"}, "http://h:1/news/x"),
        ("costs $30,000 or ${price}", {"price": "$5"}, "costs $30,000 or $5"),
        ("$base stays", {"base": "x"}, "$base stays"),
        ("${a}${b}", {"a": "1", "b": "2"}, "12"),
    ],
)
def test_fill_replaces_only_braced_placeholders(text: str, values: dict, expected: str) -> None:
    assert fill(text, values) == expected


def test_fill_rejects_unknown_placeholder() -> None:
    with pytest.raises(KeyError, match="base_nowhere"):
        fill("${base_nowhere}/x", {"base": "http://h:1"})


def test_every_manifest_body_word_count() -> None:
    """Article bodies are 4-8 paragraphs and at least 250 words."""
    for name in SITE_NAMES:
        for article in load_site(name).articles:
            if article.path.startswith("/private/"):
                continue
            words = len(re.sub(r"<[^>]+>", " ", article.body).split())
            paragraphs = article.body.count("<p")
            assert words >= 250, (name, article.path, words)
            assert 4 <= paragraphs <= 8, (name, article.path, paragraphs)


# -- serving ---------------------------------------------------------------------------------


def test_expected_yaml_covers_every_manifest_page(outlets: Outlets) -> None:
    listed = {(a["site"], a["path"]) for a in ARTICLES}
    served = {(name, item.path) for name, site in outlets.sites.items() for item in site.articles + site.pages}
    assert listed == served
    specials = {(b["site"], b["path"]) for b in EXPECTED["bad_inputs"] if b["kind"] != "robots"}
    assert specials == {(s.site, s.path) for site in outlets.sites.values() for s in site.specials}


@pytest.mark.parametrize("entry", ARTICLES, ids=_id)
def test_every_page_is_served_from_its_phase(outlets: Outlets, entry: dict) -> None:
    url = outlets.url(entry["site"], entry["path"])
    if entry["phase"] > 1:
        assert get(url)[0] == 404
        outlets.set_phase(entry["phase"])
    status, headers, body = get(url)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"${" not in body  # every placeholder was filled
    if entry["outcome"] != "not_followed":
        assert f'<link rel="canonical" href="{url}">'.encode() in body


@pytest.mark.parametrize("site", SITE_NAMES)
def test_robots_and_unknown_paths(outlets: Outlets, site: str) -> None:
    status, headers, body = get(outlets.url(site, "/robots.txt"))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert body.startswith(b"User-agent: *")
    assert get(outlets.url(site, "/no/such/page/"))[0] == 404


def test_techmag_robots_disallows_private(outlets: Outlets) -> None:
    body = get(outlets.url("techmag", "/robots.txt"))[2].decode()
    assert "Disallow: /private/" in body.splitlines()


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/2026/03/02/articolo-rimosso/", 404, "text/html"),
        ("/2026/03/02/errore-del-server/", 500, "text/html"),
        ("/2026/03/02/articolo-spostato/", 302, "text/html"),
        ("/wp-content/uploads/2026/03/rapporto-acceleratori.pdf", 200, "application/pdf"),
        ("/wp-content/uploads/2026/03/infografica-gpu.png", 200, "image/png"),
    ],
)
def test_bad_inputs_answer_as_specified(outlets: Outlets, path: str, status: int, content_type: str) -> None:
    got_status, headers, _body = get(outlets.url("blogit", path))
    assert got_status == status
    assert headers["Content-Type"].startswith(content_type)


def test_redirect_points_to_elsewhere(outlets: Outlets) -> None:
    status, headers, _ = get(outlets.url("blogit", "/2026/03/02/articolo-spostato/"))
    assert status == 302
    target = headers["Location"]
    assert target == outlets.url("elsewhere", "/articoli/modelli-aperti-europa/")
    assert get(target)[0] == 200


def test_pdf_is_valid(outlets: Outlets) -> None:
    body = get(outlets.url("blogit", "/wp-content/uploads/2026/03/rapporto-acceleratori.pdf"))[2]
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    startxref = int(body.rsplit(b"startxref", 1)[1].split()[0])
    assert body[startxref:].startswith(b"xref")
    entries = body[startxref:].split(b"\n")[3:8]  # objects 1..5
    for number, line in enumerate(entries, start=1):
        offset = int(line.split()[0])
        assert body[offset:].startswith(f"{number} 0 obj".encode())


def test_png_is_valid(outlets: Outlets) -> None:
    body = get(outlets.url("blogit", "/wp-content/uploads/2026/03/infografica-gpu.png"))[2]
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    pos, kinds = 8, []
    while pos < len(body):
        length = int.from_bytes(body[pos : pos + 4], "big")
        kind, data = body[pos + 4 : pos + 8], body[pos + 8 : pos + 8 + length]
        crc = int.from_bytes(body[pos + 8 + length : pos + 12 + length], "big")
        assert zlib.crc32(kind + data) == crc
        kinds.append(kind)
        if kind == b"IDAT":
            assert len(zlib.decompress(data)) == 16 * 17
        pos += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


def test_oversized_page_announces_its_size(outlets: Outlets) -> None:
    parts = urlsplit(outlets.url("blogit", "/2026/03/02/pagina-enorme/"))
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", parts.path)
        response = conn.getresponse()
        assert response.status == 200
        assert int(response.getheader("Content-Length")) > 6 * 1024 * 1024
        assert response.read(200).startswith(b"<!DOCTYPE html>")
    finally:
        conn.close()  # hang up early, as a crawler with DOWNLOAD_MAXSIZE does
    # The server survives the aborted download.
    assert get(outlets.url("blogit", "/robots.txt"))[0] == 200


def test_head_requests(outlets: Outlets) -> None:
    status, headers, body = get(outlets.url("techmag", "/feeds.xml"), method="HEAD")
    assert status == 200 and body == b"" and "ETag" in headers


# -- feeds, sitemap, listings ---------------------------------------------------------------


def _items(outlets: Outlets, site: str, path: str) -> list[ET.Element]:
    status, headers, body = get(outlets.url(site, path))
    assert status == 200
    assert headers["Content-Type"].startswith(("application/rss+xml", "application/xml"))
    return ET.fromstring(body).findall("./channel/item")


def test_techmag_feed_and_sitemap_list_the_same_articles(outlets: Outlets) -> None:
    base = outlets.base("techmag")
    feed_links = [item.findtext("link") for item in _items(outlets, "techmag", "/feeds.xml")]
    tracked = [link for link in feed_links if "utm_source" in link]
    assert tracked == [base + "/news/deepseek-r1-reasoning-model-open-weights?utm_source=rss&utm_medium=feed"]
    root = ET.fromstring(get(outlets.url("techmag", "/sitemap-news.xml"))[2])
    urls = root.findall("sm:url", NS)
    locs = [u.findtext("sm:loc", namespaces=NS) for u in urls]
    assert {link.split("?")[0] for link in feed_links} | {base + "/private/draft-ascend-roadmap"} == set(locs)
    for url in urls:
        assert url.findtext("news:news/news:publication_date", namespaces=NS)
        assert url.findtext("news:news/news:title", namespaces=NS)
        assert url.findtext("news:news/news:publication/news:language", namespaces=NS) == "en"


def test_blogit_feed_is_wordpress_like_with_bad_entries(outlets: Outlets) -> None:
    items = _items(outlets, "blogit", "/feed/")
    articles = [i for i in items if i.find("content:encoded", NS) is not None]
    assert len(articles) == 8  # phase-1 articles
    for item in articles:
        assert item.findtext("dc:creator", namespaces=NS)
        assert "<p>" in item.findtext("content:encoded", namespaces=NS)
        assert email.utils.parsedate_to_datetime(item.findtext("pubDate")) is not None
    assert sum(1 for i in items if i.find("link") is None) == 1
    links = {i.findtext("link") for i in items if i.find("link") is not None}
    for bad in EXPECTED["bad_inputs"]:
        if bad["site"] == "blogit" and bad["path"]:
            assert outlets.url("blogit", bad["path"]) in links


@pytest.mark.parametrize(("site", "feed_path"), [("techmag", "/feeds.xml"), ("blogit", "/feed/"), ("wire", "/rss.xml")])
def test_feed_links_resolve_to_served_articles(outlets: Outlets, site: str, feed_path: str) -> None:
    bad_paths = {b["path"] for b in EXPECTED["bad_inputs"]}
    for item in _items(outlets, site, feed_path):
        link = item.findtext("link")
        if link is None or urlsplit(link).path in bad_paths:
            continue
        assert link.startswith(outlets.base(site) + "/")
        assert get(link)[0] == 200, link


def test_listing_pagination_and_follow_regex(outlets: Outlets, tmp_path: Path) -> None:
    source = next(s for s in outlets.config(tmp_path)["sources"] if s["name"] == "listit")
    listing = source["listings"][0]
    follow = re.compile(listing["follow"])
    url, seen_pages, article_paths, other_paths = listing["url"], 0, [], set()
    while url:
        status, _headers, body = get(url)
        assert status == 200
        seen_pages += 1
        html = body.decode()
        hrefs = re.findall(r'<a [^>]*href="([^"]+)"', html)
        article_paths += [h for h in hrefs if follow.search(h)]
        other_paths |= {h for h in hrefs if not follow.search(h)}
        head_next = re.search(r'<link rel="next" href="([^"]+)"', html)
        body_next = re.search(r'<a rel="next" href="([^"]+)">Pagina successiva</a>', html)
        assert bool(head_next) == bool(body_next)
        url = head_next.group(1) if head_next else None
        if url:
            assert url == outlets.base("listit") + body_next.group(1)
    assert seen_pages == 3
    expected = [a["path"] for a in ARTICLES if a["site"] == "listit" and a["outcome"] != "not_followed"]
    assert sorted(set(article_paths)) == sorted(expected)
    assert {"/chi-siamo/", "/tag/ai/", "/autore/mario/", "/notizie/page/2/"} <= other_paths
    assert get(outlets.url("listit", "/notizie/page/4/"))[0] == 404


# -- conditional requests and phases ---------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "path"),
    [("techmag", "/feeds.xml"), ("techmag", "/sitemap-news.xml"), ("blogit", "/feed/"), ("wire", "/rss.xml")],
)
def test_conditional_requests(outlets: Outlets, site: str, path: str) -> None:
    url = outlets.url(site, path)
    status, headers, _ = get(url)
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200
    assert get(url, {"If-None-Match": etag})[0] == 304
    assert get(url, {"If-None-Match": '"other"'})[0] == 200
    assert get(url, {"If-Modified-Since": last_modified})[0] == 304
    assert get(url, {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})[0] == 200
    # If-None-Match wins over If-Modified-Since.
    assert get(url, {"If-None-Match": '"other"', "If-Modified-Since": last_modified})[0] == 200
    assert [r.status for r in outlets.requests] == [200, 304, 200, 304, 200, 200]


@pytest.mark.parametrize(
    ("site", "path", "new_path"),
    [
        ("techmag", "/feeds.xml", "/news/deepseek-inference-huawei-ascend-910c"),
        ("techmag", "/sitemap-news.xml", "/news/deepseek-inference-huawei-ascend-910c"),
        ("blogit", "/feed/", "/2026/03/12/deepseek-nuovo-modello-ragionamento/"),
    ],
)
def test_phase_two_publishes_new_stories(outlets: Outlets, site: str, path: str, new_path: str) -> None:
    url = outlets.url(site, path)
    status, headers, body = get(url)
    assert new_path.encode() not in body
    outlets.set_phase(2)
    assert get(url, {"If-None-Match": headers["ETag"]})[0] == 200
    assert get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 200
    status, new_headers, new_body = get(url)
    assert new_path.encode() in new_body
    assert new_headers["ETag"] != headers["ETag"]
    assert get(outlets.url(site, new_path))[0] == 200
    outlets.set_phase(1)
    assert get(outlets.url(site, new_path))[0] == 404


def test_expected_has_new_matching_stories_in_phase_two() -> None:
    phase_two = {a["site"] for a in ARTICLES if a["phase"] == 2 and a["outcome"] == "archived"}
    assert {"techmag", "blogit"} <= phase_two


# -- request log ---------------------------------------------------------------------------


def test_requests_are_recorded_and_cleared(outlets: Outlets) -> None:
    assert outlets.requests == []
    get(outlets.url("techmag", "/feeds.xml?x=1"), {"User-Agent": "newswatch-test"})
    get(outlets.url("listit", "/missing/"))
    first, second = outlets.requests
    assert (first.site, first.method, first.path, first.status) == ("techmag", "GET", "/feeds.xml?x=1", 200)
    assert first.bare_path == "/feeds.xml"
    assert first.headers["User-Agent"] == "newswatch-test"
    assert (second.site, second.status) == ("listit", 404)
    outlets.clear_requests()
    assert outlets.requests == []


def test_slow_page_is_slow_only_for_itself(outlets: Outlets) -> None:
    outlets.slow_seconds = 600  # held until released below, so nothing here depends on timing
    result: dict[str, int] = {}
    slow_url = outlets.url("blogit", "/2026/03/02/pagina-lentissima/")
    thread = threading.Thread(target=lambda: result.update(status=get(slow_url)[0]), daemon=True)
    try:
        thread.start()
        assert outlets.slow_started.wait(30)
        for site in SITE_NAMES:
            assert get(outlets.url(site, "/robots.txt"))[0] == 200
        assert thread.is_alive() and "status" not in result
        outlets.release_slow()
        thread.join(30)
        assert result == {"status": 200}
        paths = [r.path for r in outlets.requests]
        # recorded on arrival, before the faster requests that came after it
        assert paths[0] == "/2026/03/02/pagina-lentissima/" and paths.count("/robots.txt") == len(SITE_NAMES)
    finally:
        outlets.slow_seconds = 10.0
        outlets.release_slow()


# -- encodings and extraction ----------------------------------------------------------------


def test_cp1252_page_bytes_are_windows_1252(outlets: Outlets) -> None:
    status, headers, body = get(outlets.url("blogit", "/2026/03/10/caccia-alle-h800-mercato-parallelo/"))
    assert status == 200
    assert headers["Content-Type"] == "text/html"  # no charset in the header
    assert b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">' in body
    assert b"Perch\xe9" in body and b"\x93una H100" in body and b"\x94" in body
    assert "Perché".encode() not in body  # no UTF-8 sequences
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    encoding, text = html_to_unicode(headers["Content-Type"], body)
    assert encoding == "cp1252"
    assert "“una H100 con il freno a mano tirato”" in text


@pytest.mark.parametrize("entry", EXTRACTABLE, ids=_id)
def test_trafilatura_extracts_article_without_boilerplate(outlets: Outlets, entry: dict) -> None:
    outlets.set_phase(entry["phase"])
    text = extract(outlets, entry["site"], entry["path"])
    assert len(text) >= 200
    leaked = [phrase for phrase in BOILERPLATE if phrase in text]
    assert leaked == []
    assert detect_language(text, "", LANGUAGE_MIN_TEXT_CHARS) == (entry["language"], "detected")
    # A crude proxy for the topic rules, to keep expected.yaml honest about the *content*:
    # each expected topic's context is in the body, and no unexpected topic's context is.
    lowered = text.lower()
    proxies = {
        "deepseek": "deepseek" in lowered,
        "ascend": "huawei" in lowered and "ascend" in lowered,
        "h800": "nvidia" in lowered and "h800" in lowered,
    }
    assert sorted(t for t, present in proxies.items() if present) == sorted(entry["topics"])


def test_malformed_page_is_really_malformed(outlets: Outlets) -> None:
    body = get(outlets.url("blogit", "/2026/03/09/startup-italiane-deepseek/"))[2].decode()
    assert body.count("</div>") > body.count("<div")
    assert body.count("<p") > body.count("</p>")


def test_cp1252_article_extracts_with_accents(outlets: Outlets) -> None:
    text = extract(outlets, "blogit", "/2026/03/10/caccia-alle-h800-mercato-parallelo/")
    for word in ("Perché", "È la domanda", "più", "“caccia all’H800”"):
        assert word in text


def _duplicates() -> list[dict]:
    return [a for a in ARTICLES if a["outcome"] == "duplicate"]


@pytest.mark.parametrize("entry", _duplicates(), ids=_id)
def test_syndicated_copies_are_duplicates(outlets: Outlets, entry: dict) -> None:
    original_site, _, original_path = entry["duplicate_of"].partition("/")
    copy_text = extract(outlets, entry["site"], entry["path"])
    original_text = extract(outlets, original_site, "/" + original_path)
    if entry["duplicate_kind"] == "exact":
        assert copy_text == original_text
    else:
        assert copy_text != original_text
        assert jaccard(copy_text, original_text) >= 0.85


def test_different_story_on_same_subject_is_not_a_duplicate(outlets: Outlets) -> None:
    other = extract(outlets, "wire", "/story/deepseek-app-tops-charts")
    for entry in ARTICLES:
        if entry["outcome"] in {"archived", "duplicate"} and entry["path"] != "/story/deepseek-app-tops-charts":
            outlets.set_phase(entry["phase"])
            assert jaccard(other, extract(outlets, entry["site"], entry["path"])) < 0.1, _id(entry)


# -- config and command line -----------------------------------------------------------------


def test_config_points_at_the_outlets(outlets: Outlets, tmp_path: Path) -> None:
    config = outlets.config(tmp_path)
    assert set(config) == {"sources", "archive", "state"}
    assert config["archive"] == str(tmp_path / "archive.jsonl")
    assert config["state"] == str(tmp_path / "state.sqlite")
    by_name = {s["name"]: s for s in config["sources"]}
    assert list(by_name) == ["techmag", "blogit", "listit", "wire"]
    assert by_name["techmag"]["feeds"] == [outlets.url("techmag", "/feeds.xml")]
    assert by_name["techmag"]["sitemaps"] == [outlets.url("techmag", "/sitemap-news.xml")]
    assert by_name["blogit"] == {"name": "blogit", "language": "it", "feeds": [outlets.url("blogit", "/feed/")]}
    assert by_name["listit"]["listings"] == [
        {"url": outlets.url("listit", "/notizie/"), "follow": r"^/notizie/\d{4}/[a-z0-9-]+/$", "max_pages": 5}
    ]
    assert by_name["wire"]["feeds"] == [outlets.url("wire", "/rss.xml")]
    assert outlets.config(tmp_path, retention_days=7, archive="x.jsonl")["archive"] == "x.jsonl"


def test_expected_urls_are_absolute(outlets: Outlets) -> None:
    data = outlets.expected()
    assert all(a["url"].startswith(outlets.base(a["site"])) for a in data["articles"])


def test_command_line_serves_until_interrupted() -> None:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "samples.server", "--phase", "2"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("phase "):
                break
        assert lines[-1].startswith("phase 2")
        bases = {line.split()[0]: line.split()[1] for line in lines[:-1]}
        assert set(bases) == set(SITE_NAMES)
        status, _, body = get(bases["techmag"] + "/feeds.xml")
        assert status == 200 and b"/news/deepseek-inference-huawei-ascend-910c" in body
    finally:
        proc.terminate()
        proc.wait(30)


# -- against the project's default topics (newswatch.yaml) ---------------------------------


@pytest.fixture(scope="module")
def default_topics():
    from crawler.matching import compile_topics
    from tests.crawl import default_topics as shipped_topics

    return compile_topics(shipped_topics())


@pytest.mark.parametrize("entry", EXTRACTABLE, ids=_id)
def test_expected_topics_hold_under_default_topics(outlets: Outlets, default_topics, entry: dict) -> None:
    """expected.yaml's topics are what the real matcher finds in the extracted title and text."""
    outlets.set_phase(entry["phase"])
    status, headers, body = get(outlets.url(entry["site"], entry["path"]))
    _encoding, html = html_to_unicode(headers.get("Content-Type"), body)
    text = trafilatura.extract(html, include_comments=False, favor_precision=True)
    title = trafilatura.extract_metadata(html).title or ""
    assert sorted({m.topic for m in default_topics.match(title, text)}) == sorted(entry["topics"])


@pytest.mark.parametrize(
    ("site", "path"),
    [
        ("techmag", "/news/amd-ryzen-16-core-x3d-review"),
        ("blogit", "/2026/03/06/oroscopo-della-settimana-ascendente/"),
        ("listit", "/notizie/2026/fibra-ottica-abbonamenti/"),
        ("wire", "/story/deepseek-app-tops-charts"),
    ],
)
def test_boilerplate_would_match_every_topic_if_leaked(outlets: Outlets, default_topics, site: str, path: str) -> None:
    """The trap works: the whole page's text (boilerplate included) matches all three topics."""
    import lxml.html

    page_text = lxml.html.fromstring(get(outlets.url(site, path))[2]).text_content()
    assert {m.topic for m in default_topics.match("", page_text)} == {"ascend", "deepseek", "h800"}
