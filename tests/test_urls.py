"""Canonical URLs and trusted canonical declarations."""

from __future__ import annotations

import pytest

from crawler.urls import canonical_url, choose_canonical, declared_canonical, same_site


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Tracking parameters go; the rest stays, sorted.
        (
            "https://www.tomshardware.com/news/huawei-ascend?utm_source=rss&utm_medium=feed&UTM_Campaign=x",
            "https://www.tomshardware.com/news/huawei-ascend",
        ),
        ("https://a.example/p?id=7&fbclid=abc&gclid=1&b=2", "https://a.example/p?b=2&id=7"),
        ("https://a.example/p?mc_cid=1&mc_eid=2&ref=rss&ref_src=twsrc&igshid=x", "https://a.example/p"),
        ("https://a.example/p?_ga=1&yclid=2&msclkid=3&cmpid=4&p=5", "https://a.example/p?p=5"),
        # Generic names are not assumed to be tracking: they may select the article.
        ("https://a.example/view?src=feed&id=12", "https://a.example/view?id=12&src=feed"),
        ("https://a.example/view?reference=9", "https://a.example/view?reference=9"),
        # Fragment, case of scheme/host, default ports.
        ("HTTPS://WWW.HDBlog.IT:443/Tech/Articoli/n1#commenti", "https://www.hdblog.it/Tech/Articoli/n1"),
        ("http://a.example:80/x", "http://a.example/x"),
        ("http://127.0.0.1:8080/x?utm_source=t", "http://127.0.0.1:8080/x"),
        ("https://a.example.:443/x", "https://a.example/x"),
        # AMP renderings.
        ("https://www.tomshardware.com/news/deepseek-r2/amp", "https://www.tomshardware.com/news/deepseek-r2"),
        ("https://www.dday.it/redazione/123/h800/amp/", "https://www.dday.it/redazione/123/h800/"),
        ("https://a.example/story?amp", "https://a.example/story"),
        ("https://a.example/story?amp=1&id=3", "https://a.example/story?id=3"),
        ("https://a.example/story?outputType=amp", "https://a.example/story"),
        ("https://a.example/amp", "https://a.example/"),
        ("https://a.example/amp-review/ampere", "https://a.example/amp-review/ampere"),  # not an amp segment
        ("https://a.example/story?amp=0", "https://a.example/story?amp=0"),
        # Encoding normalised by w3lib; query order irrelevant.
        ("https://a.example/perché?q=é", "https://a.example/perch%C3%A9?q=%C3%A9"),
        ("https://a.example/p?b=2&a=1", "https://a.example/p?a=1&b=2"),
        # The /uk/ edition prefix is not guessed away.
        ("https://www.tomshardware.com/uk/news/x", "https://www.tomshardware.com/uk/news/x"),
        # Trailing slash is kept: a server may treat /x and /x/ differently.
        ("https://a.example/x/", "https://a.example/x/"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("page", "declared", "expected"),
    [
        # No declaration, or an empty one: the page URL, canonicalised.
        ("https://a.example/x?utm_source=t", None, "https://a.example/x"),
        ("https://a.example/x", "   ", "https://a.example/x"),
        # Same site: trusted. Region prefix removed only because the page says so.
        (
            "https://www.tomshardware.com/uk/news/huawei-ascend-910c",
            "https://www.tomshardware.com/news/huawei-ascend-910c",
            "https://www.tomshardware.com/news/huawei-ascend-910c",
        ),
        # Relative declarations resolve against the page.
        ("https://amp.hdblog.it/tech/articoli/n1/amp/", "/tech/articoli/n1/", "https://amp.hdblog.it/tech/articoli/n1/"),
        ("https://www.a.example/news/x", "x?utm_source=y", "https://www.a.example/news/x"),
        # www./amp./m. hosts of one site are the same site.
        ("https://m.punto-informatico.it/deepseek", "https://punto-informatico.it/deepseek", "https://punto-informatico.it/deepseek"),
        ("https://amp.theguardian.co.uk/tech/a", "https://www.theguardian.co.uk/tech/a", "https://www.theguardian.co.uk/tech/a"),
        # Another outlet's URL (syndication): ignored, the copy keeps its own URL.
        ("https://www.hwupgrade.it/news/h800", "https://www.tomshw.it/h800", "https://www.hwupgrade.it/news/h800"),
        # co.uk is a public suffix: two different sites under it.
        ("https://one.co.uk/a", "https://two.co.uk/a", "https://one.co.uk/a"),
        # Private suffixes (blogspot): different blogs are different sites.
        ("https://alice.blogspot.com/a", "https://bob.blogspot.com/a", "https://alice.blogspot.com/a"),
        # Loopback test servers: the port tells sites apart.
        ("http://127.0.0.1:8001/a", "http://127.0.0.1:8002/a", "http://127.0.0.1:8001/a"),
        ("http://127.0.0.1:8001/a?x=1", "/a", "http://127.0.0.1:8001/a"),
        # A front-page canonical on an article is a CMS bug, not the article's URL.
        ("https://a.example/news/x", "https://a.example/", "https://a.example/news/x"),
        # Not http(s).
        ("https://a.example/x", "javascript:void(0)", "https://a.example/x"),
        ("https://a.example/x", "mailto:desk@a.example", "https://a.example/x"),
        # http page declaring its https URL.
        ("http://a.example/x", "https://a.example/x", "https://a.example/x"),
    ],
)
def test_choose_canonical(page, declared, expected):
    assert choose_canonical(page, declared) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("https://www.a.example/x", "https://a.example/y", True),
        ("https://news.bbc.co.uk/x", "https://www.bbc.co.uk/y", True),
        ("https://a.example/x", "https://b.example/x", False),
        ("http://localhost:8000/", "http://localhost:8000/z", True),
        ("http://localhost:8000/", "http://localhost:8001/", False),
    ],
)
def test_same_site(a, b, expected):
    assert same_site(a, b) is expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<html><head><link rel="canonical" href="https://a.example/x"></head></html>', "https://a.example/x"),
        ('<head><link rel="alternate canonical" href="/x"><meta property="og:url" content="/y"></head>', "/x"),
        ('<head><link rel="Canonical" href=" /x "></head>', "/x"),
        ('<head><meta property="og:url" content="https://a.example/y"></head>', "https://a.example/y"),
        ('<head><link rel="amphtml" href="/x/amp"></head>', None),
        ("", None),
    ],
)
def test_declared_canonical(html, expected):
    assert declared_canonical(html) == expected
