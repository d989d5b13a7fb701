"""What the analysis removes before the prefilter and the extractors read a page: code and site chrome."""

from __future__ import annotations

import pytest

from crawler.extraction import page_text, parse_page, remove_chrome, remove_code, spaced_text

ARTICLE = "<article><header><h1>Headline</h1><p>Standfirst.</p></header><p>Body text.</p>" \
          "<footer>Article footer.</footer></article>"


def text_after(html: str) -> str:
    tree = parse_page(f"<html><head><title>T</title></head><body>{html}</body></html>")
    remove_chrome(tree)
    return " ".join(spaced_text(tree).split())


@pytest.mark.parametrize(("chrome", "removed"), [
    ('<nav><a href="/">Nvidia</a></nav>', True),
    ("<aside>DeepSeek V4 rumours</aside>", True),
    ("<menu><li>GPUs</li></menu>", True),
    ('<header class="site-header">TechMag</header>', True),
    ('<footer class="site-footer">Tags</footer>', True),
    ('<div class="related-posts">Related</div>', True),
    ('<div class="post-related">Related</div>', True),
    ('<div class="c-trending">Trending</div>', True),
    ('<div id="most-read">Most read</div>', True),
    ('<div class="grid__sidebar">Side</div>', True),
    ('<section id="comments">Comments</section>', True),
    ('<ol class="breadcrumbs"><li>Home</li></ol>', True),
    ('<div class="sidebar-grid__content article__content">Layout content</div>', False),  # BEM: a content cell
    ('<div class="commentary">Commentary</div>', False),  # a word that only starts like one
    ('<div class="unpopular-opinion">Opinion</div>', False),
])
def test_chrome_is_removed_and_the_rest_stays(chrome: str, removed: bool) -> None:
    text = text_after(chrome + ARTICLE)
    inner = " ".join(parse_page(f"<html><body>{chrome}</body></html>").xpath("string(//body)").split())
    assert (inner not in text) is removed
    assert "Headline Standfirst. Body text. Article footer." in text  # the article's own header and footer stay


@pytest.mark.parametrize("wrapper", [
    '<div class="sidebar-layout">{}</div>',  # a layout wrapper named like chrome holds the article
    "<nav>{}</nav>",
    '<div class="related">{}</div>',
])
def test_an_element_that_holds_the_article_is_never_removed(wrapper: str) -> None:
    assert "Body text." in text_after(wrapper.format(ARTICLE))


def test_code_goes_and_json_ld_stays() -> None:
    tree = parse_page('<html><head><script>var menu = ["Nvidia"];</script><style>.x{}</style>'
                      '<script type="application/ld+json">{"headline": "H"}</script></head>'
                      "<body><p>Text</p><script>track()</script></body></html>")
    remove_code(tree)
    assert [s.get("type") for s in tree.iter("script")] == ["application/ld+json"]
    assert "Nvidia" not in page_text(tree) and "track" not in page_text(tree)
