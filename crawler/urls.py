"""Canonical article URLs.

The same story reaches newswatch under many URLs: with ``?utm_source=…`` from a
feed, with a fragment, as an AMP page, through a sitemap with a different query
order. Every URL the spider records or turns into a story id goes through
:func:`canonical_url` first, so those variants collapse to one key.

:func:`choose_canonical` decides whether to trust a page's own
``rel="canonical"`` / ``og:url`` declaration. A declaration is only trusted when
it points to the same site: a syndicated copy that declares the original
outlet's URL must keep its own URL, or the archive would lose the fact that the
second outlet carried the story (and the copy would be skipped as "known").
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import tldextract
from parsel import Selector
from w3lib.url import canonicalize_url

logger = logging.getLogger(__name__)

# Query parameters that only say how a reader arrived (campaign, click and
# referral ids). Only parameters known to be tracking-only are listed: a generic
# name such as ``src``, ``id`` or ``p`` can select the article on some CMSs.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "xtor",
        "wt_mc",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
    }
)
# Every parameter starting with one of these is tracking (utm_source, utm_medium, …).
TRACKING_PREFIXES = ("utm_",)

_DEFAULT_PORTS = {"http": 80, "https": 443}
# A trailing "amp" path segment: /news/story/amp or /news/story/amp/.
_AMP_SEGMENT = re.compile(r"/amp(/?)$", re.IGNORECASE)
# Subdomain labels that name a rendering of the same site rather than another site.
_SITE_PREFIXES = ("www.", "amp.", "m.")

# The bundled public-suffix snapshot only: tldextract would otherwise fetch the
# list over the network on first use.
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _is_amp_flag(name: str, value: str) -> bool:
    """``?amp``, ``?amp=1`` / ``amp=true`` and ``outputType=amp`` select the AMP rendering."""
    lowered = name.lower()
    if lowered == "amp":
        return value.lower() in ("", "1", "true")
    return lowered == "outputtype" and value.lower() == "amp"


def _clean_query(query: str) -> str:
    # Filter the raw pairs (not parse_qsl + urlencode) so kept parameters keep
    # their exact encoding; canonicalize_url normalises them afterwards.
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name_text, value_text = unquote_plus(name), unquote_plus(value)
        if _is_tracking(name_text) or _is_amp_flag(name_text, value_text):
            continue
        kept.append(pair)
    return "&".join(kept)


# A URL is canonicalised by the spider, the seen-URL middleware and the analysis stage in turn: once is enough.
@lru_cache(maxsize=8192)
def canonical_url(url: str) -> str:
    """The canonical form of an article URL.

    Lower-cased scheme and host, default port and fragment dropped, tracking
    parameters and AMP markers removed, query sorted and percent-encoding
    normalised (w3lib's ``canonicalize_url``). Paths are otherwise left alone:
    ``/story`` and ``/story/`` stay different, as a server may treat them so.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:  # a non-numeric port: leave the netloc as written
        port = None
        netloc = parts.netloc.lower()
    else:
        netloc = host
        if port is not None and port != _DEFAULT_PORTS.get(scheme):
            netloc = f"{host}:{port}"
        if parts.username or parts.password:
            userinfo = parts.username or ""
            if parts.password:
                userinfo += f":{parts.password}"
            netloc = f"{userinfo}@{netloc}"
    if ":" in host and not host.startswith("["):  # IPv6 literal lost its brackets in .hostname
        netloc = netloc.replace(host, f"[{host}]", 1)
    path = _AMP_SEGMENT.sub(lambda m: "/" if m.group(1) else "", parts.path)
    if not path and parts.path:
        path = "/"
    rebuilt = urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))
    return canonicalize_url(rebuilt, keep_fragments=False)


def _strip_site_prefix(host: str) -> str:
    for prefix in _SITE_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


@lru_cache(maxsize=4096)
def _site_key(url: str) -> tuple[str, int | None]:
    """What makes two URLs "the same site": registrable domain and any non-default port.

    Hosts without a public suffix (IP addresses, ``localhost``) compare whole,
    after dropping a ``www.``/``amp.``/``m.`` label. A non-default port is part
    of the key so two test servers on 127.0.0.1 stay two sites.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        port = None
    extracted = _extract(host)
    registrable = extracted.top_domain_under_public_suffix if extracted.suffix else ""
    return (registrable or _strip_site_prefix(host), port)


def same_site(url_a: str, url_b: str) -> bool:
    """True when both URLs belong to the same registrable site (see :func:`_site_key`)."""
    return _site_key(url_a) == _site_key(url_b)


def choose_canonical(page_url: str, declared: str | None) -> str:
    """The URL to record for a page, given its declared ``rel=canonical``/``og:url``.

    The declaration (resolved against the page URL when relative) is used only
    when it is an http(s) URL on the same site, and not the site's front page
    (a CMS that declares the home page as every article's canonical would
    otherwise collapse all its articles into one story). A region prefix such as
    ``/uk/`` is therefore removed only when the page itself declares the URL
    without it. The result is always passed through :func:`canonical_url`.
    """
    page = canonical_url(page_url)
    if not declared or not declared.strip():
        return page
    resolved = urljoin(page_url, declared.strip())
    parts = urlsplit(resolved)
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        logger.debug("Ignoring non-http canonical %r on %s", declared, page_url)
        return page
    if not same_site(page_url, resolved):
        logger.debug("Ignoring cross-site canonical %s on %s", resolved, page_url)
        return page
    if parts.path in ("", "/") and urlsplit(page_url).path not in ("", "/"):
        logger.debug("Ignoring front-page canonical %s on %s", resolved, page_url)
        return page
    return canonical_url(resolved)


def is_http_url(url: str) -> bool:
    """True for an http(s) URL: the only kind newswatch fetches or turns into a link."""
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def declared_canonical(page: Any) -> str | None:
    """The page's own canonical declaration: ``<link rel="canonical">`` (any case, among other rel
    tokens), else ``og:url``. *page* is HTML, a parsel Selector or an lxml tree."""
    if isinstance(page, str):
        if not page.strip():
            return None
        page = Selector(text=page)
    tree = page.root if isinstance(page, Selector) else page
    if not hasattr(tree, "iter"):
        return None
    for link in tree.iter("link"):
        href = (link.get("href") or "").strip()
        if href and "canonical" in (link.get("rel") or "").lower().split():
            return href
    for meta in tree.iter("meta"):
        content = (meta.get("content") or "").strip()
        if content and meta.get("property") == "og:url":
            return content
    return None


def site_name(url: str) -> str:
    """The name part of a URL's registrable domain (``tomshardware`` for www.tomshardware.com); the host
    for addresses without a public suffix (IP addresses, ``localhost``)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    extracted = _extract(host)
    return extracted.domain if extracted.suffix else host
