"""Article extraction: trafilatura on one page's HTML, shared by the pipeline and ``explain``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import trafilatura

logger = logging.getLogger(__name__)

_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


@dataclass(frozen=True)
class Article:
    title: str | None
    text: str
    author: str | None
    published: str | None  # ISO 8601


def iso_date(value: str | None) -> str | None:
    """Normalise a date string to ISO 8601 (``2026-01-02T10:00:00+01:00``); None if unparseable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip()).isoformat()
    except ValueError:
        pass
    for fmt in (_DATE_FORMAT, "%Y-%m-%dT%H:%M:%S", "%a, %d %b %Y %H:%M:%S %z", "%a, %d %b %Y %H:%M:%S %Z"):
        try:
            return datetime.strptime(value.strip(), fmt).isoformat()
        except ValueError:
            continue
    return None


def extract_article(html: str, url: str | None = None, *, favor_precision: bool = True,
                    min_chars: int = 200) -> Article | None:
    """Title, body, author and date of the article in *html*; None when the page holds no article.

    Comments are never included, and ``favor_precision`` keeps sidebars and related-links boxes out.
    trafilatura's ``deduplicate`` option is not used: its cache is process-global.
    """
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            include_comments=False,
            favor_precision=favor_precision,
            with_metadata=True,
            date_extraction_params={"outputformat": _DATE_FORMAT, "original_date": True, "extensive_search": True},
        )
    except (ValueError, TypeError, AttributeError) as exc:  # malformed trees that lxml cannot repair
        logger.warning("Extraction failed for %s: %s", url, exc)
        return None
    if doc is None or not doc.text or len(doc.text.strip()) < min_chars:
        return None
    return Article(
        title=(doc.title or "").strip() or None,
        text=doc.text.strip(),
        author=(doc.author or "").strip() or None,
        published=iso_date(doc.date),
    )
